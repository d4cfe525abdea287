namespace Descent.Schedules;

/// <summary>
/// Polynomial decay from <c>initial</c> to <c>final</c> over <c>totalSteps</c>, then constant:
/// <c>value = final + (initial - final) * (1 - min(k, T) / T)^power</c> with <c>k = t - 1</c>
/// (PyTorch's <c>PolynomialLR</c> when <c>final = 0</c>). Computed as torch does, each value from the one before:
/// <c>v_k = final + (v_(k-1) - final) ((1 - k/T) / (1 - (k-1)/T))^power</c>.
/// </summary>
public sealed class Polynomial : Chainable
{
    /// <summary>Creates a polynomial schedule.</summary>
    public Polynomial(double initial, long totalSteps, double power = 1, double final = 0)
    {
        RequireFinite(initial, "initial value");
        RequireFinite(final, "final value");
        Require(totalSteps >= 1, $"Invalid total_iters: {totalSteps} (must be >= 1).");
        Require(double.IsFinite(power) && power >= 0, $"Invalid power: {power} (power must be a finite number >= 0).");
        Initial = initial;
        TotalSteps = totalSteps;
        Power = power;
        Final = final;
    }

    /// <summary>Value at the first update.</summary>
    public double Initial { get; }

    /// <summary>Steps over which the value decays.</summary>
    public long TotalSteps { get; }

    /// <summary>Exponent of the decay.</summary>
    public double Power { get; }

    /// <summary>Value reached at the end.</summary>
    public double Final { get; }

    /// <inheritdoc/>
    protected override double First => Initial;

    /// <inheritdoc/>
    protected override double Next(long k, double previous) =>
        Final + (previous - Final) * Math.Pow((1.0 - (double)k / TotalSteps) / (1.0 - (double)(k - 1) / TotalSteps), Power);

    /// <inheritdoc/>
    protected override long Settled => TotalSteps;
}
