namespace Descent.Schedules;

/// <summary>
/// Linear interpolation from <c>start</c> to <c>end</c> over <c>totalSteps</c>, then constant:
/// <c>value = start + (end - start) * min(k, T) / T</c> with <c>k = t - 1</c>, between any two values (a momentum or beta1
/// ramp). PyTorch's <c>LinearLR</c> is this line in its closed form; its values to the last bit, computed step by step as
/// torch does, are <see cref="LinearFactor"/>'s.
/// </summary>
public sealed class Linear : Schedule
{
    /// <summary>Creates a linear ramp.</summary>
    public Linear(double start, double end, long totalSteps)
    {
        RequireFinite(start, "start value");
        RequireFinite(end, "end value");
        Require(totalSteps >= 1, $"Invalid total_iters: {totalSteps} (must be >= 1).");
        Start = start;
        End = end;
        TotalSteps = totalSteps;
    }

    /// <summary>Value at the first update.</summary>
    public double Start { get; }

    /// <summary>Value from step <c>TotalSteps + 1</c> on.</summary>
    public double End { get; }

    /// <summary>Length of the ramp.</summary>
    public long TotalSteps { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        double k = Math.Min(step - 1, TotalSteps);
        return Start + (End - Start) * k / TotalSteps;
    }
}
