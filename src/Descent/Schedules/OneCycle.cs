namespace Descent.Schedules;

/// <summary>How <see cref="OneCycle"/> moves between its anchor values.</summary>
public enum Anneal
{
    /// <summary>Half-cosine interpolation.</summary>
    Cosine,

    /// <summary>Straight-line interpolation.</summary>
    Linear,
}

/// <summary>
/// The one-cycle policy (Smith and Topin 2018; PyTorch's <c>OneCycleLR</c>): from <c>initial</c> up to
/// <c>peak</c> over the first <c>pctStart</c> of <c>totalSteps</c>, then down to <c>final</c>; with
/// <c>threePhase</c>, up, back down to <c>initial</c> symmetrically, then down to <c>final</c>. For a
/// learning rate use <see cref="LearningRate"/>; for momentum (which cycles the other way) give
/// <c>initial = final = 0.95</c> and <c>peak = 0.85</c>. After the last step the value stays at <c>final</c>.
/// </summary>
public sealed class OneCycle : Schedule
{
    private readonly (double End, double From, double To)[] _phases;

    /// <summary>Creates a one-cycle schedule through the given anchor values.</summary>
    public OneCycle(double initial, double peak, double final, long totalSteps, double pctStart = 0.3,
        Anneal anneal = Anneal.Cosine, bool threePhase = false)
    {
        RequireFinite(initial, "initial value");
        RequireFinite(peak, "peak value");
        RequireFinite(final, "final value");
        Require(totalSteps >= 2, $"Invalid total_steps: {totalSteps} (must be >= 2).");
        Require(pctStart > 0 && pctStart < 1, $"Invalid pct_start: {pctStart} (must be in (0, 1)).");
        TotalSteps = totalSteps;
        AnnealStrategy = anneal;
        double rise = pctStart * totalSteps - 1;
        _phases = threePhase
            ? [(rise, initial, peak), (2 * pctStart * totalSteps - 2, peak, initial), (totalSteps - 1, initial, final)]
            : [(rise, initial, peak), (totalSteps - 1, peak, final)];
    }

    /// <summary>
    /// One-cycle learning rate with PyTorch's defaults: starts at <c>maxLr / divFactor</c>, peaks at
    /// <c>maxLr</c>, ends at <c>maxLr / (divFactor * finalDivFactor)</c>.
    /// </summary>
    public static OneCycle LearningRate(double maxLr, long totalSteps, double pctStart = 0.3, double divFactor = 25,
        double finalDivFactor = 1e4, Anneal anneal = Anneal.Cosine, bool threePhase = false)
    {
        double initial = maxLr / divFactor;
        return new OneCycle(initial, maxLr, initial / finalDivFactor, totalSteps, pctStart, anneal, threePhase);
    }

    /// <summary>Length of the cycle.</summary>
    public long TotalSteps { get; }

    /// <summary>Interpolation between anchors.</summary>
    public Anneal AnnealStrategy { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        double k = Math.Min(step - 1, TotalSteps - 1), start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var (end, from, to) = _phases[i];
            if (k <= end || i == _phases.Length - 1)
            {
                double fraction = (k - start) / (end - start);
                return AnnealStrategy == Anneal.Cosine
                    ? CosineDecay.HalfCosine(from, to, Math.PI * fraction)
                    : from + (to - from) * fraction;
            }
            start = end;
        }
        throw new InvalidOperationException("unreachable: the last phase always matches");
    }
}
