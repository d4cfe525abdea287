namespace Descent.Schedules;

/// <summary>
/// Half-cosine decay from <c>initial</c> to <c>final</c> over <c>totalSteps</c>, then constant:
/// <c>value = final + (initial - final) * (1 + cos(pi * min(k, T) / T)) / 2</c> with <c>k = t - 1</c>.
/// Equal to PyTorch's <c>CosineAnnealingLR(T_max = T, eta_min = final)</c> for <c>k &lt;= T</c>;
/// afterwards PyTorch's value rises again, this one stays at <c>final</c> (as optax's <c>cosine_decay_schedule</c>).
/// Computed as torch does, each value from the one before: <c>v_k = (1 + cos(pi k / T)) / (1 + cos(pi (k - 1) / T)) (v_(k-1) - final) + final</c>.
/// </summary>
public sealed class CosineDecay : Chainable
{
    /// <summary>Creates a cosine decay.</summary>
    public CosineDecay(double initial, long totalSteps, double final = 0)
    {
        RequireFinite(initial, "initial value");
        RequireFinite(final, "final value");
        Require(totalSteps >= 1, $"Invalid T_max: {totalSteps} (must be >= 1).");
        Initial = initial;
        TotalSteps = totalSteps;
        Final = final;
    }

    /// <summary>Value at the first update.</summary>
    public double Initial { get; }

    /// <summary>Length of the decay.</summary>
    public long TotalSteps { get; }

    /// <summary>Value at and after the end.</summary>
    public double Final { get; }

    /// <inheritdoc/>
    protected override double First => Initial;

    /// <inheritdoc/>
    protected override double Next(long k, double previous) =>
        (1 + Math.Cos(Math.PI * k / TotalSteps)) / (1 + Math.Cos(Math.PI * (k - 1) / TotalSteps)) * (previous - Final) + Final;

    /// <inheritdoc/>
    protected override long Settled => TotalSteps;

    /// <inheritdoc/>
    protected override double FirstAfterHandover => HalfCosine(Initial, Final, 0);   // final + (initial - final), which can round off initial

    /// <summary>The cosine interpolation <c>to + (from - to) * (1 + cos(angle)) / 2</c>, shared by the cosine schedules.</summary>
    internal static double HalfCosine(double from, double to, double angle) =>
        to + (from - to) * (1 + Math.Cos(angle)) / 2;
}
