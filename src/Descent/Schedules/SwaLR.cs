using Descent.State;

namespace Descent.Schedules;

/// <summary>
/// The stochastic-weight-averaging learning-rate schedule (PyTorch's <c>torch.optim.swa_utils.SWALR</c>): the
/// <c>before</c> schedule drives updates 1 to <c>start</c>; from update <c>start + 1</c>, the first one SWA
/// averages, the rate anneals from the one update <c>start</c> used (the schedule's first when <c>start</c> is 0) to
/// <c>swaLr</c> over <c>annealSteps</c> updates, then stays there.
/// </summary>
/// <remarks>
/// Update <c>start + j</c> takes PyTorch's rate after <c>j</c> calls of <c>SWALR.step()</c>, computed as PyTorch
/// computes it, to the last bit. PyTorch does not interpolate from a remembered starting rate: each step recovers one
/// from the optimizer's current rate and the previous step's weight and interpolates again,
/// <code>
/// x = clamp(j / max(1, A), 0, 1),  alpha = anneal(x),  alpha' = anneal(clamp((j - 1) / max(1, A), 0, 1))
/// from = alpha' == 1 ? swaLr : (lr_prev - alpha' swaLr) / (1 - alpha'),   lr_j = swaLr alpha + from (1 - alpha)
/// </code>
/// which equals <c>swaLr alpha + lr_0 (1 - alpha)</c> up to rounding, so the recursion is kept. Its quirks, kept too:
/// <c>annealSteps</c> 0 and 1 both reach <c>swaLr</c> at the first SWA update; anything else that changes the rate
/// during the anneal (PyTorch's other schedulers) would be taken as a new starting point (here nothing does).
/// </remarks>
public sealed class SwaLR : Schedule
{
    private readonly Schedule _before;
    private Cursor? _last;

    /// <summary>The last rate computed, so that stepping on costs one recursion step (immutable: a stale one is only recomputed).</summary>
    private sealed record Cursor(double From, long Step, double Rate);

    /// <summary>Creates the schedule; <paramref name="annealSteps"/> is PyTorch's <c>anneal_epochs</c> (default 10), counted in updates.</summary>
    public SwaLR(Schedule before, long start, double swaLr, long annealSteps = 10, Anneal strategy = Anneal.Cosine)
    {
        ArgumentNullException.ThrowIfNull(before);
        Require(start >= 0, $"Invalid SWA start {start}: must be at least 0.");
        Require(double.IsFinite(swaLr) && swaLr >= 0, $"Invalid swa_lr: {swaLr} (must be a finite number >= 0).");
        Require(annealSteps >= 0, $"Invalid anneal_epochs: {annealSteps} (must be >= 0).");
        Require(Enum.IsDefined(strategy), $"Invalid anneal_strategy: {strategy} (must be cos or linear).");
        (_before, Start, SwaLr, AnnealSteps, Strategy) = (before, start, swaLr, annealSteps, strategy);
    }

    /// <summary>The schedule in force until <see cref="Start"/>.</summary>
    public Schedule Before => _before;

    /// <summary>The last update of the regular schedule; SWA averages the updates after it.</summary>
    public long Start { get; }

    /// <summary>The rate the anneal ends at and stays at (PyTorch's <c>swa_lr</c>).</summary>
    public double SwaLr { get; }

    /// <summary>Updates the anneal takes (PyTorch's <c>anneal_epochs</c>).</summary>
    public long AnnealSteps { get; }

    /// <summary>The anneal's shape (PyTorch's <c>anneal_strategy</c>): <c>alpha(x) = (1 - cos(pi x)) / 2</c> or <c>x</c>.</summary>
    public Anneal Strategy { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        if (step <= Start) return _before.At(step);
        long j = step - Start;
        if (j >= Math.Max(1, AnnealSteps)) return SwaLr;   // x = 1, alpha = 1: exactly swa_lr from here on
        double from = _before.At(Math.Max(1, Start));
        var c = _last is { } last && last.From.Equals(from) && last.Step <= j ? last : new Cursor(from, 0, from);
        double rate = c.Rate;
        for (long s = c.Step + 1; s <= j; s++) rate = Next(rate, s);
        _last = new Cursor(from, j, rate);
        return rate;
    }

    /// <summary>PyTorch's <c>SWALR.get_lr</c> at its step <paramref name="s"/>, from the rate <paramref name="previous"/> of the step before.</summary>
    private double Next(double previous, long s)
    {
        double a = Math.Max(1, AnnealSteps);
        double previousAlpha = Weight(Math.Max(0, Math.Min(1, (s - 1) / a)));
        double from = previousAlpha == 1 ? SwaLr : (previous - previousAlpha * SwaLr) / (1 - previousAlpha);
        double alpha = Weight(Math.Max(0, Math.Min(1, s / a)));
        return SwaLr * alpha + from * (1 - alpha);
    }

    private double Weight(double x) => Strategy == Anneal.Cosine ? (1 - Math.Cos(Math.PI * x)) / 2 : x;

    /// <inheritdoc/>
    public override void Observe(long step, double metric)
    {
        RequireStep(step);
        if (step <= Start) _before.Observe(step, metric);
    }

    /// <inheritdoc/>
    public override void SaveState(StateDict state, string prefix) => _before.SaveState(state, prefix);

    /// <inheritdoc/>
    public override void LoadState(StateDict state, string prefix) => _before.LoadState(state, prefix);
}
