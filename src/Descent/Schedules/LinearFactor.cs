namespace Descent.Schedules;

/// <summary>
/// <c>initial</c> times a factor that moves in a straight line from <c>startFactor</c> to <c>endFactor</c> over
/// <c>totalIters</c> updates, then stays (PyTorch's <c>LinearLR</c>, a warmup or a linear decay). torch computes each
/// value from the one before, multiplying by <c>1 + (end - start) / (T start + (k - 1)(end - start))</c>, and this walks
/// the same recurrence, so the values are torch's to the last bit (the closed form, <see cref="Linear"/>, can be an ulp
/// away; its last value, too, can be an ulp from <c>initial * endFactor</c>, as torch's is).
/// </summary>
public sealed class LinearFactor : Chainable
{
    /// <summary>Creates the schedule with torch's defaults: from a third of the value to all of it over 5 updates.</summary>
    public LinearFactor(double initial, double startFactor = 1.0 / 3, double endFactor = 1.0, long totalIters = 5)
    {
        RequireFinite(initial, "initial value");
        Require(startFactor > 0 && startFactor <= 1, $"Invalid start_factor: {startFactor} (must be in (0, 1]; torch divides by it).");
        Require(endFactor >= 0 && endFactor <= 1, $"Invalid end_factor: {endFactor} (must be in [0, 1]).");
        Require(totalIters >= 0, $"Invalid total_iters: {totalIters} (must be >= 0).");
        (Initial, StartFactor, EndFactor, TotalIters) = (initial, startFactor, endFactor, totalIters);
    }

    /// <summary>The value the factors multiply.</summary>
    public double Initial { get; }

    /// <summary>The factor at the first update.</summary>
    public double StartFactor { get; }

    /// <summary>The factor from update <c>TotalIters + 1</c> on.</summary>
    public double EndFactor { get; }

    /// <summary>Length of the line (with 0 the value stays <c>initial * startFactor</c>, as torch's does).</summary>
    public long TotalIters { get; }

    /// <inheritdoc/>
    protected override double First => Initial * StartFactor;

    /// <inheritdoc/>
    protected override double Next(long k, double previous) =>
        previous * (1.0 + (EndFactor - StartFactor) / (TotalIters * StartFactor + (k - 1) * (EndFactor - StartFactor)));

    /// <inheritdoc/>
    protected override long Settled => TotalIters;
}
