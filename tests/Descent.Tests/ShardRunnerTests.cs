using System.Diagnostics;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

public class ShardRunnerTests
{
    /// <summary>
    /// Every shard runs exactly once per run, whether its thread is still waiting for the next work (runs back to back), has
    /// gone back to the pool (a pause longer than the wait), or is just giving up waiting (pauses around the wait's 2 ms),
    /// and a run returns only after all its shards are done, running the work that run was given (two kinds alternate, as a
    /// step's passes and its update do). A lost hand-off would hang a run: the test fails after 60 s instead.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Each_run_runs_every_shard_once(int shards)
    {
        var runs = Task.Run(() =>
        {
            int[] counts = new int[shards], others = new int[shards];
            Action<int> work = i => Interlocked.Increment(ref counts[i]), other = i => Interlocked.Add(ref others[i], 10);
            var runner = new ShardRunner(shards);
            var rng = new Random(shards);
            for (int run = 1; run <= 600; run++)
            {
                int count = run % 7 == 0 ? 1 : shards;   // now and then a run on one core, as a minibatch of one example makes
                bool odd = run % 2 == 1;
                runner.Run(count, odd ? work : other);
                for (int i = 0; i < shards; i++)
                {
                    Assert.Equal(odd && i < count ? 1 : 0, Volatile.Read(ref counts[i]));
                    Assert.Equal(!odd && i < count ? 10 : 0, Volatile.Read(ref others[i]));
                }
                Array.Clear(counts);
                Array.Clear(others);
                if (run % 100 == 0) Thread.Sleep(10);
                else if (run > 300) Pause(1.5 + rng.NextDouble());
            }
        });
        // A lost hand-off hangs the run: WaitAsync then throws TimeoutException.
        await runs.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>A shard's exception reaches the caller, on the pool's thread (the first run) and on a waiting one (back to back), and the runner runs on.</summary>
    [Fact]
    public void A_shards_exception_reaches_the_caller_and_the_runner_runs_again()
    {
        int fail = 1, ran = 0;
        var runner = new ShardRunner(2);
        Action<int> work = i =>
        {
            if (i == 1 && Volatile.Read(ref fail) == 1) throw new InvalidOperationException("shard 1 failed");
            Interlocked.Increment(ref ran);
        };
        Assert.Equal("shard 1 failed", Assert.Throws<InvalidOperationException>(() => runner.Run(2, work)).Message);
        for (int run = 0; run < 20; run++)
        {
            Volatile.Write(ref fail, run % 2);
            if (run % 2 == 1) Assert.Throws<InvalidOperationException>(() => runner.Run(2, work));
            else runner.Run(2, work);
        }
        // Shard 0 every time (21 runs) and shard 1 in the ten runs that did not fail.
        Assert.Equal(21 + 10, ran);
    }

    /// <summary>Busy-waits <paramref name="milliseconds"/>: a sleep would round up to the scheduler's tick.</summary>
    private static void Pause(double milliseconds)
    {
        long end = Stopwatch.GetTimestamp() + (long)(milliseconds * Stopwatch.Frequency / 1000);
        while (Stopwatch.GetTimestamp() < end) Thread.SpinWait(20);
    }
}
