namespace Descent.Schedules;

/// <summary>Exponential decay <c>value = initial * gamma^k</c> with <c>k = t - 1</c> (PyTorch's <c>ExponentialLR</c>, multiplying by <c>gamma</c> at every update as it does).</summary>
public sealed class Exponential : Chainable
{
    /// <summary>Creates an exponential schedule.</summary>
    public Exponential(double initial, double gamma)
    {
        RequireFinite(initial, "initial value");
        RequireFinite(gamma, "gamma");
        Initial = initial;
        Gamma = gamma;
    }

    /// <summary>Value at the first update.</summary>
    public double Initial { get; }

    /// <summary>Factor per step.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double First => Initial;

    /// <inheritdoc/>
    protected override double Next(long k, double previous) => previous * Gamma;
}
