namespace Descent.Schedules;

/// <summary>
/// <c>initial * factor</c> for the first <c>totalIters</c> updates, then <c>initial</c> (PyTorch's <c>ConstantLR</c>,
/// which multiplies back by <c>1 / factor</c> after <c>totalIters</c> steps, so the value then can be an ulp from
/// <c>initial</c>, as torch's is). With <c>totalIters</c> 0 the value stays <c>initial * factor</c>, as torch's does,
/// except after a handover (<see cref="Sequence"/>), where torch's closed form gives <c>initial</c>.
/// </summary>
public sealed class ConstantFactor : Chainable
{
    /// <summary>Creates the schedule with torch's defaults: a third of the value for 5 updates.</summary>
    public ConstantFactor(double initial, double factor = 1.0 / 3, long totalIters = 5)
    {
        RequireFinite(initial, "initial value");
        Require(factor > 0 && factor <= 1, $"Invalid factor: {factor} (must be in (0, 1]; torch divides by it).");
        Require(totalIters >= 0, $"Invalid total_iters: {totalIters} (must be >= 0).");
        (Initial, Factor, TotalIters) = (initial, factor, totalIters);
    }

    /// <summary>The value after the constant phase.</summary>
    public double Initial { get; }

    /// <summary>The multiplier during the constant phase.</summary>
    public double Factor { get; }

    /// <summary>Updates at <c>initial * factor</c>.</summary>
    public long TotalIters { get; }

    /// <inheritdoc/>
    protected override double First => Initial * Factor;   // also with totalIters 0, where torch never multiplies back

    /// <inheritdoc/>
    protected override double FirstAfterHandover => Initial * (Factor + (TotalIters == 0 ? 1 - Factor : 0));

    /// <inheritdoc/>
    protected override double Next(long k, double previous) => k == TotalIters ? previous * (1.0 / Factor) : previous;

    /// <inheritdoc/>
    protected override long Settled => TotalIters;
}
