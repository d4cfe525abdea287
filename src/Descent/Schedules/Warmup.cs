using Descent.State;

namespace Descent.Schedules;

/// <summary>
/// Linear warmup followed by any schedule: over the first <c>steps</c> updates the value rises linearly
/// from <c>startFactor * v0</c> towards <c>v0 = then.At(1)</c>, then <c>then</c> runs with its step
/// count restarting at 1. Equal to PyTorch's
/// <c>SequentialLR([LinearLR(start_factor, 1.0, steps), then], milestones=[steps])</c> to the last bit: the ramp multiplies
/// each value by LinearLR's factor <c>1 + (1 - f) / (T f + (k - 1)(1 - f))</c> as torch does. A start factor of 0, where
/// that factor divides by zero, ramps as <c>v0 * k / T</c>: torch's <c>LambdaLR(lambda k: k / T)</c>. <c>then</c> starts as
/// SequentialLR starts it, from its closed form at 0 (a copy of a <see cref="Chainable"/> is kept). <c>LinearLR</c> on its own,
/// which after the ramp keeps its last product (an ulp from <c>lr</c> at times, where this gives <c>lr</c>), is
/// <see cref="LinearFactor"/>.
/// </summary>
public sealed class Warmup : Schedule
{
    /// <summary>Creates a warmup in front of <paramref name="then"/>.</summary>
    public Warmup(long steps, Schedule then, double startFactor = 0)
    {
        Require(steps >= 1, $"Invalid warmup steps: {steps} (must be >= 1).");
        Require(double.IsFinite(startFactor) && startFactor >= 0 && startFactor <= 1,
            $"Invalid warmup start factor: {startFactor} (must be in [0, 1]).");
        Steps = steps;
        ArgumentNullException.ThrowIfNull(then);
        Then = then is Chainable c ? c.HandedOver() : then;   // started as SequentialLR starts it after the ramp (a copy)
        StartFactor = startFactor;
        double target = then.At(1);
        _ramp = startFactor == 0 ? new Lambda(target, k => (double)k / steps) : new LinearFactor(target, startFactor, 1.0, steps);
    }

    /// <summary>Length of the warmup.</summary>
    public long Steps { get; }

    /// <summary>The schedule that follows.</summary>
    public Schedule Then { get; }

    /// <summary>Fraction of the target value at the first update.</summary>
    public double StartFactor { get; }

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        return step > Steps ? Then.At(step - Steps) : _ramp.At(step);
    }

    /// <summary>The rise from <c>target * startFactor</c> towards <c>target</c>: torch's LinearLR, or from 0 its LambdaLR.</summary>
    private readonly Schedule _ramp;

    /// <inheritdoc/>
    public override void Observe(long step, double metric)
    {
        if (step > Steps) Then.Observe(step - Steps, metric);
    }

    /// <inheritdoc/>
    public override void SaveState(StateDict state, string prefix) => Then.SaveState(state, prefix + ".then");

    /// <inheritdoc/>
    public override void LoadState(StateDict state, string prefix) => Then.LoadState(state, prefix + ".then");
}
