namespace Descent.Schedules;

/// <summary>
/// Cosine decay restarted periodically (SGDR, Loshchilov and Hutter 2017; PyTorch's
/// <c>CosineAnnealingWarmRestarts</c>): the first period lasts <c>period</c> steps, each next one
/// <c>multiplier</c> times longer; within a period of length <c>T_i</c>, at position <c>T_cur</c>,
/// <c>value = final + (initial - final) * (1 + cos(pi * T_cur / T_i)) / 2</c>.
/// </summary>
public sealed class CosineWarmRestarts : Schedule
{
    /// <summary>Creates a cosine schedule with warm restarts.</summary>
    public CosineWarmRestarts(double initial, long period, long multiplier = 1, double final = 0)
    {
        RequireFinite(initial, "initial value");
        RequireFinite(final, "final value");
        Require(period >= 1, $"Invalid T_0: {period} (must be >= 1).");
        Require(multiplier >= 1, $"Invalid T_mult: {multiplier} (must be >= 1).");
        Initial = initial;
        Period = period;
        Multiplier = multiplier;
        Final = final;
    }

    /// <summary>Value at the start of each period.</summary>
    public double Initial { get; }

    /// <summary>Length of the first period <c>T_0</c>.</summary>
    public long Period { get; }

    /// <summary>Growth factor of the period <c>T_mult</c>.</summary>
    public long Multiplier { get; }

    /// <summary>Value approached at the end of each period.</summary>
    public double Final { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        long position = step - 1, length = Period;
        if (Multiplier == 1)
        {
            position %= Period;
        }
        else
        {
            while (position >= length)
            {
                position -= length;
                length *= Multiplier;
            }
        }
        return CosineDecay.HalfCosine(Initial, Final, Math.PI * position / length);
    }
}
