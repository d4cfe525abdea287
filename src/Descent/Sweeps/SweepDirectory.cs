using System.Text.Json.Nodes;
using Descent.State;
using Descent.Training;

namespace Descent.Sweeps;

/// <summary>What is known about a trial from the shared output directory.</summary>
/// <param name="Trial">The planned trial.</param>
/// <param name="State"><c>done</c>, <c>diverged</c>, <c>failed</c>, <c>running</c>, <c>interrupted</c> (a checkpoint and no live claim) or <c>pending</c>.</param>
/// <param name="Result">Its result once it ended.</param>
/// <param name="Detail">The claim's owner while running, the checkpoint's step when interrupted, the reason when failed.</param>
public sealed record TrialState(Trial Trial, string State, TrialResult? Result, string? Detail);

/// <summary>
/// A sweep's output directory, shared by every process that runs the sweep: <c>sweep.json</c> (the sweep file, so that
/// status and report need nothing else) and <c>trials/ID/</c>, one ordinary run directory per trial (config, metrics,
/// checkpoints, summary) with its <c>claim</c>, <c>attempts.jsonl</c> and, once ended, <c>result.json</c>.
/// </summary>
public sealed class SweepDirectory
{
    /// <summary>The sweep file's copy in the directory.</summary>
    public const string SweepFile = "sweep.json";

    private SweepDirectory(string path, Sweep sweep)
    {
        Path = System.IO.Path.GetFullPath(path);
        Sweep = sweep;
    }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>The sweep it holds.</summary>
    public Sweep Sweep { get; }

    /// <summary>The directory of a trial.</summary>
    public string TrialDir(string id) => System.IO.Path.Combine(Path, "trials", id);

    /// <summary>
    /// Opens (creating it if needed) <paramref name="path"/> for <paramref name="sweep"/> and records the sweep file in it. A
    /// directory holding another sweep (a different base config) is refused, so its trials are never mixed with this one's;
    /// the same base with other axes or more values is the same sweep grown.
    /// </summary>
    public static SweepDirectory Create(string path, Sweep sweep)
    {
        string file = System.IO.Path.Combine(path, SweepFile);
        if (File.Exists(file))
        {
            var existing = Sweep.Load(file);
            string? difference = FirstDifference(TrialId.Canonical(existing.BaseConfig), TrialId.Canonical(sweep.BaseConfig));
            if (difference is not null)
                throw new ArgumentException($"{path} holds the trials of another sweep (its base config differs: {difference}); choose another output directory, or use the same base.");
        }
        else if (Directory.Exists(System.IO.Path.Combine(path, "trials")) || File.Exists(System.IO.Path.Combine(path, "config.json")))
        {
            throw new ArgumentException($"{path} holds other runs but no {SweepFile}; it is not this sweep's output directory; choose another output directory.");
        }
        // sweep.json before trials/: a process starting beside this one sees either neither or the sweep file.
        Directory.CreateDirectory(path);
        Atomic.WriteJson(file, sweep.Document, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        Directory.CreateDirectory(System.IO.Path.Combine(path, "trials"));
        return new SweepDirectory(path, sweep);
    }

    /// <summary>Opens an existing sweep directory (for status and report).</summary>
    public static SweepDirectory Open(string path)
    {
        string file = System.IO.Path.Combine(path, SweepFile);
        if (!File.Exists(file)) throw new ArgumentException($"{path} is not a sweep directory (no {SweepFile}); run a sweep into it first.");
        return new SweepDirectory(path, Sweep.Load(file));
    }

    /// <summary>The state of every planned trial, in plan order.</summary>
    public IReadOnlyList<TrialState> States() => [.. Sweep.Plan().Select(StateOf)];

    /// <summary>The state of one trial.</summary>
    public TrialState StateOf(Trial trial)
    {
        string dir = TrialDir(trial.Id);
        if (TrialResult.Load(dir) is { } result) return new TrialState(trial, result.Status, result, result.Reason);
        string claim = System.IO.Path.Combine(dir, Claim.FileName);
        if (Claim.Read(claim) is { } owner && Claim.IsAlive(owner, claim)) return new TrialState(trial, "running", null, owner.ToString());
        string checkpoint = System.IO.Path.Combine(dir, RunWriter.CheckpointFile);
        if (File.Exists(checkpoint))
        {
            long step = StateDict.Load(checkpoint).GetLong("trainer.step");
            return new TrialState(trial, "interrupted", null, $"resumes from step {step}");
        }
        return new TrialState(trial, "pending", null, null);
    }

    /// <summary>The config recorded in a trial directory, or null when it has none.</summary>
    public static TrainingConfig? RecordedConfig(string trialDir) =>
        File.Exists(System.IO.Path.Combine(trialDir, "config.json")) ? Trainer.LoadConfig(trialDir) : null;

    private static string? FirstDifference(string a, string b)
    {
        var x = (JsonObject)JsonNode.Parse(a)!;
        var y = (JsonObject)JsonNode.Parse(b)!;
        foreach (var key in x.Select(p => p.Key).Union(y.Select(p => p.Key)).Order(StringComparer.Ordinal))
            if (!JsonNode.DeepEquals(x[key], y[key]))
                return $"\"{key}\" is {x[key]?.ToJsonString() ?? "the default"} there and {y[key]?.ToJsonString() ?? "the default"} here";
        return null;
    }
}
