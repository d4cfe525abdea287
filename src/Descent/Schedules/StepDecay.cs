namespace Descent.Schedules;

/// <summary>
/// Multiplies the value by <c>gamma</c> every <c>stepSize</c> steps:
/// <c>value = initial * gamma^floor(k / stepSize)</c> with <c>k = t - 1</c> (PyTorch's <c>StepLR</c>).
/// </summary>
public sealed class StepDecay : Chainable
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
    protected override double First => Initial;

    /// <inheritdoc/>
    protected override double Next(long k, double previous) => k % StepSize == 0 ? previous * Gamma : previous;
}
