namespace Descent.Schedules;

/// <summary>
/// A schedule that PyTorch computes in its chainable form: each update's value from the one before
/// (<c>ExponentialLR</c>'s <c>group['lr'] * gamma</c>), rounded at every update. Walking the same recurrence gives
/// torch's values to the last bit, where the closed form (<c>lr * gamma^k</c>) can differ in the last place.
/// </summary>
/// <remarks>
/// The walk goes on from the last value asked for, so a run costs one step of the recurrence per update; asking for an
/// earlier update walks again from the first (after resuming, once). The values stay a function of the update number.
/// </remarks>
public abstract class Chainable : Schedule
{
    private Lock _lock = new();
    private long _k = -1;   // completed steps of the value in _value; -1 before the first walk
    private double _value;
    private bool _handedOver;

    /// <summary>The value at the first update (<c>k = 0</c> completed steps).</summary>
    protected abstract double First { get; }

    /// <summary>The value after <paramref name="k"/> completed steps (k &gt;= 1), from <paramref name="previous"/>, the value after <c>k - 1</c>.</summary>
    protected abstract double Next(long k, double previous);

    /// <summary>
    /// The value at the first update when the schedule takes over from another (PyTorch's <c>SequentialLR</c> starts a later
    /// scheduler with <c>step(0)</c>, which takes its closed form at 0): <see cref="First"/> unless the closed form rounds otherwise.
    /// </summary>
    protected virtual double FirstAfterHandover => First;

    /// <summary>A copy of this schedule that starts as one taking over from another does (see <see cref="FirstAfterHandover"/>).</summary>
    internal Chainable HandedOver()
    {
        var copy = (Chainable)MemberwiseClone();
        (copy._lock, copy._k, copy._handedOver) = (new(), -1, true);
        return copy;
    }

    /// <summary>The number of completed steps after which the value no longer changes (<see cref="long.MaxValue"/> when it always may).</summary>
    protected virtual long Settled => long.MaxValue;

    /// <inheritdoc/>
    public sealed override double At(long step)
    {
        RequireStep(step);
        long k = Math.Min(step - 1, Settled);
        lock (_lock)
        {
            if (_k < 0 || k < _k) (_k, _value) = (0, _handedOver ? FirstAfterHandover : First);
            while (_k < k)
            {
                _value = Next(_k + 1, _value);   // the step counted once its value is known: a throwing Next leaves the walk where it was
                _k++;
            }
            return _value;
        }
    }
}
