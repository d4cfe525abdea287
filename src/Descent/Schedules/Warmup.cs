using Descent.State;

namespace Descent.Schedules;

/// <summary>
/// Linear warmup followed by any schedule: over the first <c>steps</c> updates the value rises linearly
/// from <c>startFactor * v0</c> towards <c>v0 = then.At(1)</c>, then <c>then</c> runs with its step
/// count restarting at 1. Equal to PyTorch's
/// <c>SequentialLR([LinearLR(start_factor, 1.0, steps), then], milestones=[steps])</c>.
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
        Then = then ?? throw new ArgumentNullException(nameof(then));
        StartFactor = startFactor;
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
        if (step > Steps) return Then.At(step - Steps);
        double target = Then.At(1);
        return target * (StartFactor + (1 - StartFactor) * (step - 1) / Steps);
    }

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
