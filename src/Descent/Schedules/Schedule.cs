using Descent.State;

namespace Descent.Schedules;

/// <summary>
/// A value that changes with the optimizer step: <c>value = schedule.At(t)</c>, where <c>t</c> is the
/// number of the update about to be taken, counted from 1 at the first update. Schedules usually drive
/// the learning rate but can drive any hyperparameter (momentum, beta1, weight decay, ...).
/// </summary>
/// <remarks>
/// Schedules that mirror a <c>torch.optim.lr_scheduler</c> class are defined in terms of the number of
/// completed steps <c>k = t - 1</c>, exactly as PyTorch's <c>last_epoch</c>, so <c>At(k + 1)</c> equals
/// the value PyTorch uses after <c>k</c> calls to <c>scheduler.step()</c>. Most schedules are pure
/// functions of <c>t</c>; <see cref="ReduceOnPlateau"/> also depends on the metrics it has observed,
/// and saves that history with <see cref="SaveState"/>.
/// </remarks>
public abstract class Schedule
{
    /// <summary>The value to use at update <paramref name="step"/> (1 for the first update).</summary>
    public abstract double At(long step);

    /// <summary>Reports a metric (for example a validation loss) measured after update <paramref name="step"/>. Only plateau-driven schedules react.</summary>
    public virtual void Observe(long step, double metric) { }

    /// <summary>Writes any internal state under <paramref name="prefix"/>.</summary>
    public virtual void SaveState(StateDict state, string prefix) { }

    /// <summary>Restores the state written by <see cref="SaveState"/>.</summary>
    public virtual void LoadState(StateDict state, string prefix) { }

    /// <summary>Throws when a schedule argument is invalid, with its name and valid values.</summary>
    protected static void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException(message);
    }

    /// <summary>Throws unless <paramref name="value"/> is finite.</summary>
    protected static void RequireFinite(double value, string name) => Finite(value, name);

    /// <summary><paramref name="value"/> when it is finite (for initializers), else the error of <see cref="RequireFinite"/>.</summary>
    protected static double Finite(double value, string name)
    {
        Require(double.IsFinite(value), $"Invalid {name}: {value} (must be a finite number).");
        return value;
    }

    /// <summary>Throws unless <paramref name="step"/> is at least 1.</summary>
    protected static void RequireStep(long step)
    {
        // Checked without building the message first: this runs on every optimizer step.
        if (step < 1) throw new ArgumentException($"Schedule step {step} is invalid: steps are counted from 1 at the first update.");
    }
}
