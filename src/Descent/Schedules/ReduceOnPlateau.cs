using Descent.State;

namespace Descent.Schedules;

/// <summary>Whether a lower or a higher metric is better.</summary>
public enum PlateauMode
{
    /// <summary>Lower is better (a loss).</summary>
    Min,

    /// <summary>Higher is better (an accuracy).</summary>
    Max,
}

/// <summary>How the improvement threshold is measured.</summary>
public enum ThresholdMode
{
    /// <summary>Relative: better than <c>best * (1 -/+ threshold)</c>.</summary>
    Relative,

    /// <summary>Absolute: better than <c>best -/+ threshold</c>.</summary>
    Absolute,
}

/// <summary>
/// Multiplies the value by <c>factor</c> when the observed metric has not improved for more than
/// <c>patience</c> observations (PyTorch's <c>ReduceLROnPlateau</c>, same defaults and rules): an
/// observation improves when it beats the best so far by the threshold; after a reduction, <c>cooldown</c>
/// observations pass before bad ones count again; the value never drops below <c>min</c>, and a
/// reduction smaller than <c>eps</c> is skipped. Feed it with <see cref="Schedule.Observe"/>.
/// </summary>
public sealed class ReduceOnPlateau : Schedule
{
    private double _value, _best;
    private long _badCount, _cooldownLeft;

    /// <summary>Creates a plateau schedule starting at <paramref name="initial"/>.</summary>
    public ReduceOnPlateau(double initial, PlateauMode mode = PlateauMode.Min, double factor = 0.1, long patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Relative, long cooldown = 0,
        double min = 0, double eps = 1e-8)
    {
        RequireFinite(initial, "initial value");
        Require(factor >= 0 && factor < 1, $"Invalid factor: {factor} (factor must be in [0, 1)).");
        Require(patience >= 0, $"Invalid patience: {patience} (must be >= 0).");
        Require(double.IsFinite(threshold) && threshold >= 0, $"Invalid threshold: {threshold} (must be a finite number >= 0).");
        Require(cooldown >= 0, $"Invalid cooldown: {cooldown} (must be >= 0).");
        RequireFinite(min, "min");
        RequireFinite(eps, "eps");
        Initial = initial;
        Mode = mode;
        Factor = factor;
        Patience = patience;
        Threshold = threshold;
        ThresholdMode = thresholdMode;
        Cooldown = cooldown;
        Min = min;
        Eps = eps;
        _value = initial;
        _best = mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>Starting value.</summary>
    public double Initial { get; }

    /// <summary>Whether lower or higher metrics are better.</summary>
    public PlateauMode Mode { get; }

    /// <summary>Multiplier applied at each reduction.</summary>
    public double Factor { get; }

    /// <summary>Observations without improvement tolerated before a reduction.</summary>
    public long Patience { get; }

    /// <summary>Minimum improvement that counts.</summary>
    public double Threshold { get; }

    /// <summary>Relative or absolute threshold.</summary>
    public ThresholdMode ThresholdMode { get; }

    /// <summary>Observations ignored after a reduction.</summary>
    public long Cooldown { get; }

    /// <summary>Lower bound of the value.</summary>
    public double Min { get; }

    /// <summary>Smallest reduction worth applying.</summary>
    public double Eps { get; }

    /// <summary>Best metric observed so far.</summary>
    public double Best => _best;

    /// <inheritdoc/>
    public override double At(long step) => _value;

    /// <inheritdoc/>
    public override void Observe(long step, double metric)
    {
        if (IsBetter(metric))
        {
            _best = metric;
            _badCount = 0;
        }
        else
        {
            _badCount++;
        }
        if (_cooldownLeft > 0)
        {
            _cooldownLeft--;
            _badCount = 0;
        }
        if (_badCount > Patience)
        {
            double reduced = Math.Max(_value * Factor, Min);
            if (_value - reduced > Eps) _value = reduced;
            _cooldownLeft = Cooldown;
            _badCount = 0;
        }
    }

    private bool IsBetter(double metric) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Relative) => metric < _best * (1 - Threshold),
        (PlateauMode.Min, ThresholdMode.Absolute) => metric < _best - Threshold,
        (PlateauMode.Max, ThresholdMode.Relative) => metric > _best * (Threshold + 1),
        _ => metric > _best + Threshold,
    };

    /// <inheritdoc/>
    public override void SaveState(StateDict state, string prefix)
    {
        state.Set(prefix + ".value", _value);
        state.Set(prefix + ".best", _best);
        state.Set(prefix + ".bad_count", _badCount);
        state.Set(prefix + ".cooldown_left", _cooldownLeft);
    }

    /// <inheritdoc/>
    public override void LoadState(StateDict state, string prefix)
    {
        _value = state.GetDouble(prefix + ".value");
        _best = state.GetDouble(prefix + ".best");
        _badCount = state.GetLong(prefix + ".bad_count");
        _cooldownLeft = state.GetLong(prefix + ".cooldown_left");
    }
}
