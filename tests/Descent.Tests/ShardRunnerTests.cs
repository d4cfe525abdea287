using Descent.Training;
using Xunit;

namespace Descent.Tests;

public class ShardRunnerTests
{
    /// <summary>
    /// Every shard runs exactly once per run, whether its thread is still waiting for the next work (runs back to back) or
    /// has gone back to the pool (a pause longer than the wait), and a run returns only after all its shards are done.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Each_run_runs_every_shard_once(int shards)
    {
        var counts = new int[shards];
        var runner = new ShardRunner(shards, i => Interlocked.Increment(ref counts[i]));
        for (int run = 1; run <= 400; run++)
        {
            int count = run % 7 == 0 ? 1 : shards;   // now and then a run on one core, as a minibatch of one example makes
            runner.Run(count);
            for (int i = 0; i < shards; i++) Assert.Equal(i < count ? 1 : 0, Volatile.Read(ref counts[i]));
            Array.Clear(counts);
            if (run % 50 == 0) Thread.Sleep(10);
        }
    }

    [Fact]
    public void A_shards_exception_reaches_the_caller_and_the_runner_runs_again()
    {
        bool fail = true;
        int ran = 0;
        var runner = new ShardRunner(2, i =>
        {
            if (i == 1 && Volatile.Read(ref fail)) throw new InvalidOperationException("shard 1 failed");
            Interlocked.Increment(ref ran);
        });
        var error = Assert.Throws<InvalidOperationException>(() => runner.Run(2));
        Assert.Equal("shard 1 failed", error.Message);
        Volatile.Write(ref fail, false);
        runner.Run(2);
        Assert.Equal(3, ran);
    }
}
