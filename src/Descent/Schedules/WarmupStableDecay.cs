namespace Descent.Schedules;

/// <summary>The shape of a <see cref="WarmupStableDecay"/> cooldown.</summary>
public enum Cooldown
{
    /// <summary>A straight line from the peak to the final value.</summary>
    Linear,

    /// <summary><c>1 - sqrt(x)</c> of the cooldown's progress x, which Hägele et al. found ends lower than linear.</summary>
    OneMinusSqrt,
}

/// <summary>
/// The stable and decay phases of a warmup-stable-decay schedule (Hägele et al. 2024, "Scaling Laws and Compute-Optimal
/// Training Beyond Fixed Training Durations"; put a warmup in front with <see cref="Warmup"/>): the peak value until the
/// last <c>decay</c> fraction of <c>totalSteps</c>, then a cooldown to <c>final</c>. With <c>k = t - 1</c>,
/// <c>c = totalSteps - round(decay totalSteps)</c> and <c>x = min(1, (k - c) / (totalSteps - c))</c> once <c>k</c> passes <c>c</c>:
/// <c>peak + (final - peak) x</c> (linear) or <c>final + (peak - final) (1 - sqrt(x))</c>.
/// </summary>
/// <remarks>
/// Until the cooldown starts the value does not depend on the run's length, so a checkpoint from the stable phase can
/// be continued to a longer run and cooled down there.
/// </remarks>
public sealed class WarmupStableDecay : Schedule
{
    /// <summary>Creates the schedule.</summary>
    public WarmupStableDecay(double peak, long totalSteps, double decay = 0.2, Cooldown shape = Cooldown.Linear, double final = 0)
    {
        RequireFinite(peak, "peak value");
        RequireFinite(final, "final value");
        Require(totalSteps >= 1, $"Invalid total steps: {totalSteps} (must be >= 1).");
        Require(decay > 0 && decay <= 1, $"Invalid decay fraction: {decay} (must be in (0, 1]: the share of the steps spent cooling down).");
        (Peak, TotalSteps, Decay, Shape, Final) = (peak, totalSteps, decay, shape, final);
        CooldownStart = totalSteps - Math.Max(1, (long)Math.Floor(decay * totalSteps));   // the reference's int(decay * T)
    }

    /// <summary>The value of the stable phase.</summary>
    public double Peak { get; }

    /// <summary>Steps of the stable and decay phases together.</summary>
    public long TotalSteps { get; }

    /// <summary>The share of <see cref="TotalSteps"/> spent cooling down.</summary>
    public double Decay { get; }

    /// <summary>The cooldown's shape.</summary>
    public Cooldown Shape { get; }

    /// <summary>The value the cooldown ends at.</summary>
    public double Final { get; }

    /// <summary>The step index <c>k = t - 1</c> at which the cooldown starts.</summary>
    public long CooldownStart { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        long k = step - 1;
        if (k <= CooldownStart) return Peak;
        double x = Math.Min(1.0, (double)(k - CooldownStart) / (TotalSteps - CooldownStart));
        return Shape == Cooldown.Linear ? Peak + (Final - Peak) * x : Final + (Peak - Final) * (1 - Math.Sqrt(x));
    }
}
