using System.Collections.Concurrent;
using System.Text.Json;
using Descent.Training;

namespace Descent.Sweeps;

/// <summary>What one <see cref="SweepRunner.Run"/> did.</summary>
/// <param name="Planned">Trials in this shard.</param>
/// <param name="AlreadyEnded">Trials that had ended before (skipped).</param>
/// <param name="Ran">Trials this process ran to an end (including resumed ones).</param>
/// <param name="Resumed">Of those, the ones continued from a checkpoint.</param>
/// <param name="HeldElsewhere">Trials another live process was running.</param>
/// <param name="Failed">Trials that failed in this run (diverged ones are results, not failures).</param>
public sealed record SweepRunSummary(int Planned, int AlreadyEnded, int Ran, int Resumed, int HeldElsewhere, int Failed);

/// <summary>
/// Runs the trials of one shard that have not ended, <c>jobs</c> at a time. Each trial is claimed first (so no two processes
/// run it at once), then run by the <see cref="Trainer"/> as an ordinary run directory: from its checkpoint when an earlier
/// attempt was cut off (bit-identical to an uninterrupted run), else from the start. Its end is recorded in
/// <c>result.json</c>: done, diverged (kept as a result) or failed (the reason; the other trials go on).
/// </summary>
public sealed class SweepRunner(SweepDirectory directory, Shard shard, int jobs, Action<string>? log = null, bool retryFailed = false)
{
    private readonly Lock _logLock = new();

    /// <summary>One message at a time (the workers report from several threads).</summary>
    private void Log(string message)
    {
        lock (_logLock) log?.Invoke(message);
    }

    /// <summary>Runs the shard's remaining trials and returns what happened.</summary>
    public SweepRunSummary Run()
    {
        if (jobs < 1) throw new ArgumentException($"Invalid number of trials at once {jobs}: must be at least 1.");
        var mine = shard.Of(directory.Sweep.Plan());
        var todo = new ConcurrentQueue<Trial>();
        int ended = 0;
        foreach (var trial in mine)
        {
            var result = TrialResult.Load(directory.TrialDir(trial.Id));
            if (result is null || (retryFailed && result.Status == TrialStatus.Failed)) todo.Enqueue(trial);
            else
            {
                ended++;
                Claim.RemoveAbandoned(directory.TrialDir(trial.Id));
            }
        }
        Log($"{shard}: {mine.Count} trial(s), {ended} ended before, {todo.Count} to run, {Math.Min(jobs, Math.Max(1, todo.Count))} at a time");
        int ran = 0, resumed = 0, held = 0, failed = 0, finished = 0, total = todo.Count;
        void Worker()
        {
            while (todo.TryDequeue(out var trial))
            {
                var outcome = RunTrial(trial, out bool wasResumed);
                switch (outcome)
                {
                    case null:
                        Interlocked.Increment(ref held);
                        Log($"trial {trial.Id} ({trial.Describe()}) is being run by another process; skipped");
                        continue;
                    case { Status: TrialStatus.Failed }:
                        Interlocked.Increment(ref failed);
                        break;
                }
                Interlocked.Increment(ref ran);
                if (wasResumed) Interlocked.Increment(ref resumed);
                int k = Interlocked.Increment(ref finished);
                Log($"[{k}/{total}] trial {trial.Id} ({trial.Describe()}) {outcome.Status}{(wasResumed ? " (resumed)" : "")}: " +
                    (outcome.Status == TrialStatus.Done
                        ? $"test loss {outcome.TestLoss:G4}, test accuracy {100 * outcome.TestAccuracy:F1}%, {outcome.Seconds:F1} s"
                        : outcome.Reason));
            }
        }
        var workers = Enumerable.Range(0, Math.Min(jobs, Math.Max(1, total))).Select(_ => new Thread(Worker) { IsBackground = false }).ToList();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        return new SweepRunSummary(mine.Count, ended, ran, resumed, held, failed);
    }

    /// <summary>Claims and runs one trial; null when another live process holds it.</summary>
    private TrialResult? RunTrial(Trial trial, out bool resumed)
    {
        resumed = false;
        string dir = directory.TrialDir(trial.Id);
        using var claim = Claim.TryAcquire(dir);
        if (claim is null) return null;
        // Another process may have ended it between the first look and the claim.
        if (TrialResult.Load(dir) is { } earlier && !(retryFailed && earlier.Status == TrialStatus.Failed)) return earlier;

        var axes = trial.Axes.ToDictionary(a => a.Key, a => a.Value);
        TrialResult Failed(Exception e) => new(trial.Id, TrialStatus.Failed, OneLine(e.Message), axes, null, null, null, null, null, null);
        TrialResult result;
        Trainer trainer;
        try
        {
            trainer = new Trainer(trial.Config);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = Failed(e);
            result.Save(dir);
            return result;
        }

        // The trainer writes its config with length-dependent schedule defaults filled in: compare with that, not the trial's spelling.
        resumed = File.Exists(Path.Combine(dir, RunWriter.CheckpointFile)) && SameConfig(dir, trainer.Config);
        long fromStep = 0;
        if (resumed)
        {
            try
            {
                fromStep = Trainer.CheckpointStep(dir);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException or TrainingException)
            {
                // A damaged checkpoint costs this trial its progress, not the sweep its other trials.
                Log($"trial {trial.Id} ({trial.Describe()}): its checkpoint cannot be read ({OneLine(e.Message)}); training it again from the start");
                resumed = false;
            }
        }
        if (!resumed) Clear(dir);
        File.AppendAllText(Path.Combine(dir, "attempts.jsonl"), JsonSerializer.Serialize(new
        {
            host = claim.Owner.Host,
            pid = claim.Owner.Pid,
            started = claim.Owner.Claimed,
            from_step = fromStep,
            shard = shard.ToString(),
        }) + "\n");

        try
        {
            // A trial stopped between its summary and its result has nothing left to train: its summary is its result.
            TrainingSummary summary;
            try
            {
                summary = (resumed && fromStep == trainer.TotalSteps ? RunWriter.EndedSummary(dir) : null) ?? trainer.Run(dir, resumed);
            }
            catch (Exception e) when (resumed && e is (TrainingException or InvalidDataException) and not DivergenceException)
            {
                // A checkpoint or metrics file that reads but is refused (damaged, or changed by hand): the trial starts over, once.
                Log($"trial {trial.Id} ({trial.Describe()}): its run cannot be resumed ({OneLine(e.Message)}); training it again from the start");
                Clear(dir);
                trainer = new Trainer(trial.Config);
                summary = trainer.Run(dir);
            }
            result = new TrialResult(trial.Id, TrialStatus.Done, null, axes, summary.Steps, summary.TrainLoss, summary.TrainAccuracy, summary.TestLoss, summary.TestAccuracy, summary.Seconds);
        }
        catch (DivergenceException e)
        {
            result = new TrialResult(trial.Id, TrialStatus.Diverged, OneLine(e.Message), axes, null, null, null, null, null, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever stops one trial is recorded against it; the other trials go on.
            result = Failed(e);
        }
        trainer.EndSetup();   // a trial that ended without a step (its summary was its result) lets the next set up
        result.Save(dir);
        return result;
    }

    private static bool SameConfig(string dir, TrainingConfig config)
    {
        try
        {
            return SweepDirectory.RecordedConfig(dir) is { } recorded && TrialId.Canonical(recorded) == TrialId.Canonical(config);
        }
        catch (Exception e) when (e is TrainingException or JsonException or IOException)
        {
            return false;
        }
    }

    /// <summary>Removes what an attempt cut off before its first checkpoint left, keeping the claims and the attempt log.</summary>
    private static void Clear(string dir)
    {
        foreach (var file in Directory.GetFiles(dir))
        {
            string name = Path.GetFileName(file);
            if (name == Claim.FileName || name.StartsWith(Claim.FileName + ".stale-", StringComparison.Ordinal) || name == "attempts.jsonl") continue;
            File.Delete(file);
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
