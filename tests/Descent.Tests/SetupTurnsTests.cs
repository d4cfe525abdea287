using System.Diagnostics;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// Runs in one process set up one at a time (<see cref="SetupTurns"/>): a second run's setup waits for the first run's
/// first update, a thread never waits for itself, and a run that never steps, or fails to build, does not hold the others
/// up for long, nor one that ends its setup or loads a checkpoint. These tests change the process-wide patience, so they run alone.
/// </summary>
[Collection(nameof(SetupTurnsTests))]
public class SetupTurnsTests
{
    private static TrainingConfig Moons() => new() { Data = "moons", N = 100, Hidden = [8], Steps = 10, Batch = 16, Seed = 1 };

    private static void WithPatience(TimeSpan patience, Action test)
    {
        var before = SetupTurns.Patience;
        SetupTurns.Patience = patience;
        SetupTurns.Reset();   // a trainer another test built and never stepped may hold it
        try
        {
            test();
        }
        finally
        {
            SetupTurns.Patience = before;
        }
    }

    /// <summary>Starts <paramref name="work"/> on a thread of its own; the function returned waits for it and gives what it threw (an exception on a bare thread would end the test process).</summary>
    private static Func<Exception?> Start(Action work)
    {
        Exception? caught = null;
        var thread = new Thread(() =>
        {
            try
            {
                work();
            }
            catch (Exception e)
            {
                caught = e;
            }
        });
        thread.Start();
        return () =>
        {
            thread.Join();
            return caught;
        };
    }

    /// <summary><paramref name="work"/> on a thread of its own, to its end; returns when it ended.</summary>
    private static long Run(Action work, out Exception? error)
    {
        error = Start(work)();
        return Stopwatch.GetTimestamp();
    }

    [Fact]
    public void A_second_run_sets_up_only_once_the_first_has_taken_its_first_step()
    {
        WithPatience(TimeSpan.FromSeconds(30), () =>
        {
            using var built = new ManualResetEventSlim();
            long firstStepStarts = 0, secondBuilt = 0;
            var first = Start(() =>
            {
                var trainer = new Trainer(Moons());
                built.Set();
                Thread.Sleep(300);
                firstStepStarts = Stopwatch.GetTimestamp();
                trainer.TrainStep();
            });
            var second = Start(() =>
            {
                built.Wait();
                var trainer = new Trainer(Moons());
                secondBuilt = Stopwatch.GetTimestamp();
                trainer.TrainStep();
            });
            Assert.Null(first());
            Assert.Null(second());
            Assert.True(secondBuilt > firstStepStarts, "the second run was built while the first still held its turn");
        });
    }

    [Fact]
    public void A_thread_holding_the_turn_builds_more_runs_without_waiting()
    {
        WithPatience(TimeSpan.FromSeconds(30), () =>
        {
            long start = Stopwatch.GetTimestamp();
            Run(() =>
            {
                var a = new Trainer(Moons());
                var b = new Trainer(Moons());
                b.TrainStep();
                a.TrainStep();
            }, out var error);
            Assert.Null(error);
            Assert.True(Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(15), "the thread waited for its own turn");
        });
    }

    [Fact]
    public void A_run_never_stepped_holds_the_others_up_at_most_the_patience()
    {
        WithPatience(TimeSpan.FromMilliseconds(400), () =>
        {
            long taking = Stopwatch.GetTimestamp();
            Run(() => _ = new Trainer(Moons()), out var error);
            Assert.Null(error);
            long secondBuilt = Run(() => new Trainer(Moons()).TrainStep(), out error);
            Assert.Null(error);
            // The second waited for the first's turn to run out, and no longer than it takes to build and step.
            Assert.True(Stopwatch.GetElapsedTime(taking, secondBuilt) >= TimeSpan.FromMilliseconds(400), "the second run did not wait for the first's turn");
            Assert.True(Stopwatch.GetElapsedTime(taking, secondBuilt) < TimeSpan.FromSeconds(20), "the second run waited far past the patience");
        });
    }

    [Theory]
    [InlineData("EndSetup")]
    [InlineData("LoadState")]
    public void A_run_gives_its_turn_back_when_told_or_when_it_loads_a_checkpoint(string how)
    {
        WithPatience(TimeSpan.FromSeconds(30), () =>
        {
            var state = new Descent.State.StateDict();
            var source = new Trainer(Moons());
            source.TrainStep();
            source.SaveState(state);
            Run(() =>
            {
                var trainer = new Trainer(Moons());
                if (how == "EndSetup") trainer.EndSetup();
                else trainer.LoadState(state);
            }, out var error);
            Assert.Null(error);
            long start = Stopwatch.GetTimestamp();
            Run(() => new Trainer(Moons()).TrainStep(), out error);
            Assert.Null(error);
            Assert.True(Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(15), $"a run that called {how} kept its turn");
        });
    }

    [Fact]
    public void A_run_that_fails_to_build_gives_its_turn_back()
    {
        WithPatience(TimeSpan.FromSeconds(30), () =>
        {
            var bad = Moons() with { Optimizer = "no-such-optimizer" };
            Run(() => _ = new Trainer(bad), out var error);
            Assert.NotNull(error);
            long start = Stopwatch.GetTimestamp();
            Run(() => new Trainer(Moons()).TrainStep(), out error);
            Assert.Null(error);
            Assert.True(Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(15), "the failed run kept its turn");
        });
    }
}

[CollectionDefinition(nameof(SetupTurnsTests), DisableParallelization = true)]
public class SetupTurnsCollection;
