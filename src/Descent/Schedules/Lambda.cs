namespace Descent.Schedules;

/// <summary>
/// <c>value = initial * factor(k)</c> with <c>k = t - 1</c> (PyTorch's <c>LambdaLR</c>, with <paramref name="factor"/>
/// as its <c>lr_lambda</c>): any schedule a function of the completed steps can say.
/// </summary>
/// <param name="initial">The value <paramref name="factor"/> scales (torch's <c>initial_lr</c>).</param>
/// <param name="factor">The multiplier after <c>k</c> completed steps.</param>
public sealed class Lambda(double initial, Func<long, double> factor) : Schedule
{
    private readonly Func<long, double> _factor = factor ?? throw new ArgumentNullException(nameof(factor));

    /// <summary>The value the factor scales.</summary>
    public double Initial { get; } = Finite(initial, "initial value");

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        return Initial * _factor(step - 1);
    }
}
