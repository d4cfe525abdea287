namespace Descent.Schedules;

/// <summary>
/// Power-law decay <c>value_t = initial / (1 + t / tau)^alpha</c>, with <c>t = 1</c> at the first update.
/// <c>tau</c> is the step around which the value starts to fall appreciably, <c>alpha</c> how fast it
/// falls (1 and 1/2 are common; 0 keeps it constant).
/// </summary>
public sealed class PowerLaw : Schedule
{
    /// <summary>Creates a power-law schedule.</summary>
    public PowerLaw(double initial, double tau, double alpha = 1)
    {
        RequireFinite(initial, "initial value");
        Require(double.IsFinite(tau) && tau > 0, $"Invalid tau: {tau} (tau must be a finite number > 0).");
        Require(double.IsFinite(alpha) && alpha >= 0, $"Invalid alpha: {alpha} (alpha must be a finite number >= 0).");
        Initial = initial;
        Tau = tau;
        Alpha = alpha;
    }

    /// <summary>The numerator <c>initial</c>.</summary>
    public double Initial { get; }

    /// <summary>The time scale <c>tau</c>.</summary>
    public double Tau { get; }

    /// <summary>The exponent <c>alpha</c>.</summary>
    public double Alpha { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        double decay = 1 + step / Tau;
        return Initial * (1 / (Alpha == 1 ? decay : Math.Pow(decay, Alpha)));   // pow(x, 1) is x exactly; the common case skips the call
    }
}
