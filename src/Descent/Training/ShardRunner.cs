using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Descent.Training;

/// <summary>
/// Runs the shards of one piece of work on several cores at once (a minibatch's forward and backward passes, its
/// gradient sum and update by ranges of elements, the chunks of an evaluation): shard 0 on the calling thread, the others
/// on thread-pool threads, and returns when all are done, rethrowing the first error of any. A thread that has run a shard waits a
/// little for that shard's next work before it goes back to the pool (<see cref="Linger"/>), so consecutive steps find it
/// running: a parked thread takes up to a millisecond to wake on a virtual machine, a tenth of a CNN step. The calling
/// thread's wait spins briefly, then sleeps on a monitor made in advance, so waiting allocates nothing.
/// </summary>
internal sealed class ShardRunner
{
    /// <summary>How long a thread that has run a shard waits for its next work before it returns to the pool.</summary>
    private static readonly long Linger = Stopwatch.Frequency / 500;   // 2 ms

    private readonly Shard[] _shards;
    private Action<int> _work = _ => { };
    private readonly object _gate = new();
    private int _pending;
    private Exception? _error;
    private long _workerAllocated;

    /// <summary>Bytes the shards run off the calling thread have allocated while working, in all (what a test of an allocation-free step reads).</summary>
    public long WorkerAllocatedBytes => Interlocked.Read(ref _workerAllocated);

    /// <summary>A runner of up to <paramref name="count"/> shards.</summary>
    public ShardRunner(int count)
    {
        _shards = [.. Enumerable.Range(1, count - 1).Select(i => new Shard(this, i))];
    }

    /// <summary>
    /// Runs <paramref name="work"/> for shards 0 to <paramref name="count"/> - 1 (given the shard's index) and waits for
    /// all of them. Pass a delegate made once, not a new lambda per call, or each call allocates it.
    /// </summary>
    public void Run(int count, Action<int> work)
    {
        if (count <= 1)
        {
            work(0);
            return;
        }
        if (count > _shards.Length + 1) throw new ArgumentOutOfRangeException(nameof(count), count, $"This runner has {_shards.Length + 1} shards.");
        _work = work;   // published to the shards' threads by the compare-and-swap or queueing of each post
        _error = null;
        Volatile.Write(ref _pending, count - 1);
        for (int i = 1; i < count; i++) _shards[i - 1].Post();
        try
        {
            work(0);
        }
        finally
        {
            WaitForShards();
        }
        if (_error is { } e) ExceptionDispatchInfo.Capture(e).Throw();   // the shard's own exception, as one core would throw it
    }

    /// <summary>Waits until every posted shard is done: a short spin (shards finish together), then the monitor.</summary>
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

    /// <summary>
    /// One shard beyond the first: <see cref="Idle"/> (no thread holds it), <see cref="Waiting"/> (the thread that ran it
    /// waits for its next work) or <see cref="Posted"/> (work for it to run). Only the thread that leaves
    /// <see cref="Waiting"/> or the caller that posts moves it, each by one compare-and-swap, so a post is never lost and
    /// never run twice.
    /// </summary>
    private sealed class Shard(ShardRunner runner, int index) : IThreadPoolWorkItem
    {
        private const int Idle = 0, Waiting = 1, Posted = 2;
        private int _state;

        /// <summary>Hands the shard's work to the thread waiting for it, or to the thread pool when none is.</summary>
        public void Post()
        {
            if (Interlocked.CompareExchange(ref _state, Posted, Waiting) == Waiting) return;
            Volatile.Write(ref _state, Posted);
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        public void Execute()
        {
            do
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
                    // Waiting before done: the caller may post the next work as soon as it sees this shard done.
                    Volatile.Write(ref _state, Waiting);
                    runner.Done();
                }
            }
            while (NextPosted());
        }

        /// <summary>
        /// Spins up to <see cref="Linger"/> for the next post, yielding the core now and then to any other thread ready to
        /// run there (never sleeping); true if a post came, false once the shard is idle again.
        /// </summary>
        private bool NextPosted()
        {
            long end = Stopwatch.GetTimestamp() + Linger;
            var spinner = new SpinWait();
            while (Volatile.Read(ref _state) == Waiting && Stopwatch.GetTimestamp() < end) spinner.SpinOnce(sleep1Threshold: -1);
            return Interlocked.CompareExchange(ref _state, Idle, Waiting) != Waiting;
        }
    }
}
