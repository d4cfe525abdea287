using System.Runtime.ExceptionServices;

namespace Descent.Training;

/// <summary>
/// Runs the shards of one minibatch on several cores at once: shard 0 on the calling thread, the others as thread-pool
/// work items (one reusable item per shard), and returns when all are done, rethrowing the first error of any. The wait
/// spins briefly, then sleeps on a monitor made in advance, so waiting allocates nothing.
/// </summary>
internal sealed class ShardRunner
{
    private readonly Action<int> _work;
    private readonly Shard[] _shards;
    private readonly object _gate = new();
    private int _pending;
    private Exception? _error;
    private long _workerAllocated;

    /// <summary>Bytes the shards run off the calling thread have allocated while working, in all (what a test of an allocation-free step reads).</summary>
    public long WorkerAllocatedBytes => Interlocked.Read(ref _workerAllocated);

    /// <summary>A runner of <paramref name="work"/> (given the shard index) for <paramref name="count"/> shards.</summary>
    public ShardRunner(int count, Action<int> work)
    {
        _work = work;
        _shards = [.. Enumerable.Range(1, count - 1).Select(i => new Shard(this, i))];
    }

    /// <summary>Runs shards 0 to <paramref name="count"/> - 1 and waits for all of them.</summary>
    public void Run(int count)
    {
        if (count <= 1)
        {
            _work(0);
            return;
        }
        _error = null;
        Volatile.Write(ref _pending, count - 1);
        for (int i = 1; i < count; i++) ThreadPool.UnsafeQueueUserWorkItem(_shards[i - 1], preferLocal: false);
        try
        {
            _work(0);
        }
        finally
        {
            WaitForShards();
        }
        if (_error is { } e) ExceptionDispatchInfo.Capture(e).Throw();   // the shard's own exception, as one core would throw it
    }

    /// <summary>Waits until every queued shard is done: a short spin (shards finish together), then the monitor.</summary>
    private void WaitForShards()
    {
        var spinner = new SpinWait();
        while (Volatile.Read(ref _pending) > 0 && !spinner.NextSpinWillYield) spinner.SpinOnce();
        lock (_gate)
            while (Volatile.Read(ref _pending) > 0) Monitor.Wait(_gate);
    }

    /// <summary>Counts a shard done; the last one wakes the caller.</summary>
    private void Done()
    {
        if (Interlocked.Decrement(ref _pending) > 0) return;
        lock (_gate) Monitor.PulseAll(_gate);
    }

    private sealed class Shard(ShardRunner runner, int index) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                runner._work(index);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref runner._error, e, null);
            }
            finally
            {
                Interlocked.Add(ref runner._workerAllocated, GC.GetAllocatedBytesForCurrentThread() - before);
                runner.Done();
            }
        }
    }
}
