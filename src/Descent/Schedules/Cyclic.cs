namespace Descent.Schedules;

/// <summary>How <see cref="Cyclic"/> scales each cycle's amplitude (torch's <c>CyclicLR</c> modes).</summary>
public enum CyclicMode
{
    /// <summary>Every cycle the same (<c>triangular</c>).</summary>
    Triangular,

    /// <summary>Each cycle half as high as the one before (<c>triangular2</c>).</summary>
    Triangular2,

    /// <summary>The amplitude times <c>gamma^k</c> at step <c>k</c> (<c>exp_range</c>).</summary>
    ExpRange,
}

/// <summary>
/// Cyclical learning rates (Smith 2017; PyTorch's <c>CyclicLR</c>): from <c>start</c> towards <c>peak</c> in a
/// straight line over <c>up</c> steps, back over <c>down</c> steps, and again, with the cycle's amplitude scaled by
/// the mode. For momentum, which cycles the other way, give <c>start = max_momentum</c> and <c>peak =
/// base_momentum</c>. With <c>k = t - 1</c>, <c>q = k / (up + down)</c>, <c>c = floor(1 + q)</c> (the cycle),
/// <c>x = 1 + q - c</c> and <c>r = up / (up + down)</c>, the value is
/// <c>start + (peak - start) s f</c> where <c>s = x / r</c> while rising and <c>(x - 1) / (r - 1)</c> after, and
/// <c>f</c> is 1, <c>1 / 2^(c - 1)</c> or <c>gamma^k</c>: torch's arithmetic in torch's order, to the last bit.
/// </summary>
public sealed class Cyclic : Schedule
{
    private readonly double _total, _ratio;

    /// <summary>Creates a cyclical schedule between <paramref name="start"/> and <paramref name="peak"/>.</summary>
    public Cyclic(double start, double peak, long up, long down, CyclicMode mode = CyclicMode.Triangular, double gamma = 1)
    {
        RequireFinite(start, "start value");
        RequireFinite(peak, "peak value");
        Require(up >= 1, $"Invalid step_size_up: {up} (must be >= 1).");
        Require(down >= 1, $"Invalid step_size_down: {down} (must be >= 1).");
        Require(gamma >= 0 && double.IsFinite(gamma), $"Invalid gamma: {gamma} (must be a finite number at least 0).");
        (Start, Peak, Up, Down, Mode, Gamma) = (start, peak, up, down, mode, gamma);
        _total = (double)up + down;
        _ratio = up / _total;
    }

    /// <summary>The value at the start of every cycle (torch's <c>base_lr</c>, or <c>max_momentum</c>).</summary>
    public double Start { get; }

    /// <summary>The value at the top of the first cycle (torch's <c>max_lr</c>, or <c>base_momentum</c>).</summary>
    public double Peak { get; }

    /// <summary>Steps from start to peak (<c>step_size_up</c>).</summary>
    public long Up { get; }

    /// <summary>Steps from peak back to start (<c>step_size_down</c>).</summary>
    public long Down { get; }

    /// <summary>How the amplitude changes from cycle to cycle.</summary>
    public CyclicMode Mode { get; }

    /// <summary>The factor per step of <see cref="CyclicMode.ExpRange"/>.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        long k = step - 1;
        double cycle = Math.Floor(1 + k / _total);
        double x = 1.0 + k / _total - cycle;
        double scale = x <= _ratio ? x / _ratio : (x - 1) / (_ratio - 1);
        double amplitude = Mode switch
        {
            CyclicMode.Triangular => 1.0,
            CyclicMode.Triangular2 => 1 / Math.Pow(2.0, cycle - 1),
            _ => Math.Pow(Gamma, k),
        };
        return Start + (Peak - Start) * scale * amplitude;
    }
}
