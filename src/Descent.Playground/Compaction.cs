using System.Runtime;

namespace Descent.Playground;

/// <summary>
/// Hands memory back to the operating system once the server goes quiet. A burst of parallel requests or
/// of training sessions grows the managed heap, and the garbage collector keeps what it grew while nothing
/// allocates; a local tool should not hold hundreds of megabytes for an idle tab, so after a burst and
/// <see cref="Quiet"/> without requests the heap is compacted and its free space decommitted.
/// </summary>
public sealed class Compaction : IDisposable
{
    private readonly Timer _timer;
    private int _inFlight;
    private long _lastActivity = Environment.TickCount64;
    private int _dirty;

    /// <summary>Checks every <paramref name="period"/> whether the server has been quiet for <paramref name="quiet"/>.</summary>
    public Compaction(TimeSpan period, TimeSpan quiet)
    {
        Quiet = quiet;
        _timer = new Timer(_ => Check(), null, period, period);
    }

    /// <summary>How long without requests counts as quiet.</summary>
    public TimeSpan Quiet { get; }

    /// <summary>A request started.</summary>
    public void Begin()
    {
        Interlocked.Increment(ref _inFlight);
        Volatile.Write(ref _dirty, 1);
    }

    /// <summary>A request ended.</summary>
    public void End()
    {
        Volatile.Write(ref _lastActivity, Environment.TickCount64);
        Interlocked.Decrement(ref _inFlight);
    }

    /// <summary>Memory was released (sessions ended), worth handing back once quiet.</summary>
    public void Released() => Volatile.Write(ref _dirty, 1);

    private void Check()
    {
        if (Volatile.Read(ref _dirty) == 0 || Volatile.Read(ref _inFlight) > 0) return;
        if (Environment.TickCount64 - Volatile.Read(ref _lastActivity) < Quiet.TotalMilliseconds) return;
        Volatile.Write(ref _dirty, 0);
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <inheritdoc/>
    public void Dispose() => _timer.Dispose();
}
