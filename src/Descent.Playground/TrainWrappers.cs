using Descent.Training;

namespace Descent.Playground;

/// <summary>
/// The wrappers of <c>descent train</c> around the playground's optimizer (see <see cref="TrainingConfig"/>); a field
/// left out is off. Ranges are tighter than the library's so that no request can ask for unbounded work or memory.
/// </summary>
public sealed record TrainWrappers(int? Accumulate = null, double? Sam = null, bool SamAdaptive = false, int? Lookahead = null,
    double? LookaheadAlpha = null, double? Ema = null, bool EmaWarmup = false, long? SwaStart = null, double? SwaLr = null,
    long? SwaAnnealSteps = null, string? SwaAnneal = null)
{
    /// <summary>Most minibatches accumulated into one update.</summary>
    public const int MaxAccumulate = 16;

    /// <summary>Largest SAM radius.</summary>
    public const double MaxSam = 10;

    /// <summary>Longest Lookahead sync period.</summary>
    public const int MaxLookahead = 100;

    /// <summary>Latest update SWA may start averaging after.</summary>
    public const long MaxSwaStart = 100_000;

    /// <summary>Largest SWA learning rate.</summary>
    public const double MaxSwaLr = 10;

    /// <summary>Longest anneal SWALR may take to reach the SWA learning rate.</summary>
    public const long MaxSwaAnnealSteps = 100_000;

    /// <summary>
    /// Checks the playground's ranges and puts the wrappers into <paramref name="config"/>; the combinations
    /// (EMA or SWA, SAM or accumulation, warmup without a decay, ...) are left to the library's checks, as in the CLI,
    /// except an anneal without an SWA learning rate, which the library would ignore rather than refuse.
    /// </summary>
    public TrainingConfig ApplyTo(TrainingConfig config)
    {
        if (Accumulate is < 1 or > MaxAccumulate) throw new BadRequest($"wrappers.accumulate must be between 1 and {MaxAccumulate} minibatches per update, got {Accumulate}.");
        if (Sam is { } rho && !(rho > 0 && rho <= MaxSam)) throw new BadRequest($"wrappers.sam (rho) must be in (0, {MaxSam}], e.g. 0.05, got {rho}; leave it out for no SAM.");
        if (Lookahead is < 1 or > MaxLookahead) throw new BadRequest($"wrappers.lookahead (k) must be between 1 and {MaxLookahead} updates, got {Lookahead}; leave it out for no Lookahead.");
        if (LookaheadAlpha is { } alpha && !(alpha > 0 && alpha <= 1)) throw new BadRequest($"wrappers.lookaheadAlpha must be in (0, 1], got {alpha}.");
        if (LookaheadAlpha is not null && Lookahead is null) throw new BadRequest("wrappers.lookaheadAlpha has no effect without wrappers.lookahead (k).");
        if (Ema is { } decay && !(decay >= 0 && decay < 1)) throw new BadRequest($"wrappers.ema (decay) must be in [0, 1), e.g. 0.99 (0 is off), got {decay}.");
        if (SwaStart is < 0 or > MaxSwaStart) throw new BadRequest($"wrappers.swaStart must be between 0 and {MaxSwaStart} updates, got {SwaStart}.");
        if (SwaLr is { } lr && !(lr > 0 && lr <= MaxSwaLr)) throw new BadRequest($"wrappers.swaLr must be in (0, {MaxSwaLr}], got {lr}.");
        if (SwaAnnealSteps is < 0 or > MaxSwaAnnealSteps) throw new BadRequest($"wrappers.swaAnnealSteps must be between 0 and {MaxSwaAnnealSteps} updates, got {SwaAnnealSteps}.");
        if (SwaAnneal is { } shape && shape is not ("cos" or "linear")) throw new BadRequest($"wrappers.swaAnneal must be cos or linear, got '{shape}'.");
        if ((SwaAnnealSteps is not null || SwaAnneal is not null) && SwaLr is null)
            throw new BadRequest($"wrappers.swaAnnealSteps and wrappers.swaAnneal shape the anneal to wrappers.swaLr; give wrappers.swaLr{(SwaStart is null ? " and wrappers.swaStart" : "")} too.");
        return config with
        {
            Accumulate = Accumulate ?? 1,
            Sam = Sam ?? 0,
            SamAdaptive = SamAdaptive,
            LookaheadK = Lookahead ?? 0,
            LookaheadAlpha = LookaheadAlpha ?? config.LookaheadAlpha,
            Ema = Ema ?? 0,
            EmaWarmup = EmaWarmup,
            SwaStart = SwaStart ?? -1,
            SwaLr = SwaLr,
            SwaAnnealSteps = SwaAnnealSteps ?? config.SwaAnnealSteps,
            SwaAnneal = SwaAnneal ?? config.SwaAnneal,
        };
    }

    /// <summary>Minibatch gradients one update takes: the accumulated ones, each twice under SAM (at the weights and at the perturbed point).</summary>
    public int GradientsPerUpdate => (Accumulate ?? 1) * (Sam is > 0 ? 2 : 1);
}
