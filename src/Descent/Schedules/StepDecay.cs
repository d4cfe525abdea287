namespace Descent.Schedules;

/// <summary>
/// Multiplies the value by <c>gamma</c> every <c>stepSize</c> steps:
/// <c>value = initial * gamma^floor(k / stepSize)</c> with <c>k = t - 1</c> (PyTorch's <c>StepLR</c>).
/// </summary>
public sealed class StepDecay : Schedule
{
    /// <summary>Creates a step-decay schedule.</summary>
    public StepDecay(double initial, long stepSize, double gamma = 0.1)
    {
        RequireFinite(initial, "initial value");
        Require(stepSize >= 1, $"Invalid step_size: {stepSize} (step_size must be >= 1).");
        RequireFinite(gamma, "gamma");
        Initial = initial;
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>Value before the first decay.</summary>
    public double Initial { get; }

    /// <summary>Steps between decays.</summary>
    public long StepSize { get; }

    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        return Initial * Math.Pow(Gamma, (step - 1) / StepSize);
    }
}
