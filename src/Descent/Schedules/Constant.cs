namespace Descent.Schedules;

/// <summary>The same value at every step.</summary>
public sealed class Constant : Schedule
{
    /// <summary>Creates a constant schedule.</summary>
    public Constant(double value)
    {
        RequireFinite(value, "value");
        Value = value;
    }

    /// <summary>The value.</summary>
    public double Value { get; }

    /// <inheritdoc/>
    public override double At(long step) => Value;
}
