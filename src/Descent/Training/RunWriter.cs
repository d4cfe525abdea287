using Descent.Numerics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Descent.Schedules;
using Descent.State;

namespace Descent.Training;

/// <summary>
/// The observer that keeps a run directory: <c>config.json</c>, the metrics (<c>metrics.csv</c>, <c>metrics.jsonl</c>,
/// a TensorBoard event file) at every evaluation, <c>checkpoint.state</c> and <c>model.safetensors</c> at every
/// checkpoint point, and <c>summary.json</c> at the end (<see cref="Finish"/>). Every file but the appended metrics is
/// written atomically (a temporary file, then a rename), so a run killed at any moment resumes from its last checkpoint
/// bit for bit: resuming truncates the metrics to the lengths the checkpoint recorded.
/// </summary>
public sealed class RunWriter : ITrainingObserver, IDisposable
{
    /// <summary>The checkpoint's file name in a run directory.</summary>
    public const string CheckpointFile = "checkpoint.state";

    private readonly Trainer _trainer;
    private readonly string _csvPath, _jsonlPath;
    private readonly StreamWriter _csv, _jsonl;
    private readonly TensorBoardWriter _tensorboard;

    /// <summary>
    /// Opens <paramref name="outDir"/> (created) for <paramref name="trainer"/>'s run and writes its <c>config.json</c>.
    /// With <paramref name="resume"/>, loads the directory's checkpoint into the trainer first and truncates the metrics
    /// written after it. A checkpoint past the run's length, or at it in a run that ended there, is an error; a checkpoint
    /// at the length <c>config.json</c> records, with no summary of that step (the run was stopped between its last
    /// checkpoint and <see cref="Finish"/>; see <see cref="OnlySummaryLeft"/>), resumes to no steps, and
    /// <see cref="Finish"/> then writes what was left. A shorter target that falls on a checkpoint is an error too.
    /// </summary>
    public RunWriter(string outDir, Trainer trainer, bool resume = false)
    {
        ArgumentNullException.ThrowIfNull(outDir);
        _trainer = trainer ?? throw new ArgumentNullException(nameof(trainer));
        Directory = outDir;
        System.IO.Directory.CreateDirectory(outDir);
        _csvPath = Path.Combine(outDir, "metrics.csv");
        _jsonlPath = Path.Combine(outDir, "metrics.jsonl");
        if (resume)
        {
            // A run killed while writing leaves its temporary file behind (the rename never happened): remove it.
            foreach (var stale in System.IO.Directory.GetFiles(outDir, "*.tmp")) File.Delete(stale);
            long at = CheckpointStep(outDir);
            if (at > trainer.TotalSteps || at == trainer.TotalSteps && !OnlySummaryLeft(outDir, trainer.Config))
                throw new TrainingException($"The run in {outDir} is already at step {at}; resuming it to step {trainer.TotalSteps} would do nothing. Ask for more than {at} steps to extend it.");
            SecondsBefore = LoadCheckpoint();
        }
        else if (Written(outDir).FirstOrDefault() is { } file)
            throw new TrainingException($"{outDir} already holds {file}, which a new run would overwrite: start the run in another directory.");
        // Written on resume too: an extended run's config.json must give its new length.
        WriteJson(Path.Combine(outDir, "config.json"), trainer.Config);
        if (!resume)
        {
            File.WriteAllText(_csvPath, MetricsRow.CsvHeader + "\n");
            File.WriteAllText(_jsonlPath, "");
        }
        _csv = new StreamWriter(_csvPath, append: true);
        _jsonl = new StreamWriter(_jsonlPath, append: true);
        _tensorboard = new TensorBoardWriter(outDir, append: resume);
    }

    /// <summary>The run directory.</summary>
    public string Directory { get; }

    /// <summary>Seconds the run had trained before this writer resumed it (0 for a new run).</summary>
    public double SecondsBefore { get; }

    /// <inheritdoc/>
    public void OnEvaluation(TrainingLoop loop, MetricsRow row)
    {
        _csv.WriteLine(row.ToCsv());
        _jsonl.WriteLine(row.ToJson());
        _tensorboard.Scalar("loss/batch", row.Step, row.BatchLoss);
        _tensorboard.Scalar("loss/train", row.Step, row.TrainLoss);
        _tensorboard.Scalar("loss/test", row.Step, row.TestLoss);
        _tensorboard.Scalar("accuracy/train", row.Step, row.TrainAccuracy);
        _tensorboard.Scalar("accuracy/test", row.Step, row.TestAccuracy);
        _tensorboard.Scalar("lr", row.Step, row.LearningRate);
    }

    /// <summary>Flushes the metrics and writes the checkpoint (with the metrics' lengths) and the weights.</summary>
    public void OnCheckpoint(TrainingLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        _csv.Flush();
        _jsonl.Flush();
        _tensorboard.Flush();
        var state = new StateDict();
        _trainer.SaveState(state);
        state.Set("trainer.seconds", SecondsBefore + loop.Elapsed.TotalSeconds);
        state.Set("files.metrics_csv", new FileInfo(_csvPath).Length);
        state.Set("files.metrics_jsonl", new FileInfo(_jsonlPath).Length);
        state.Set(ConfigKey, JsonSerializer.Serialize(_trainer.Config, JsonOptions));
        state.Save(Path.Combine(Directory, CheckpointFile));
        SaveWeights();
    }

    /// <summary>
    /// Ends a run that reached its length: writes the final weights and <c>summary.json</c> and returns the summary
    /// (its seconds include those before a resume).
    /// </summary>
    public TrainingSummary Finish(TrainingLoop loop, TrainingOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentNullException.ThrowIfNull(outcome);
        var t = _trainer;
        var last = outcome.Last ?? t.Evaluation(t.Train, t.Test);
        double seconds = SecondsBefore + outcome.Seconds;
        // A run resumed only to be finished took no steps now (a speed of 0): its speed is that of the steps it took before.
        double stepsPerSecond = outcome.StepsPerSecond > 0 ? outcome.StepsPerSecond : t.Step / Math.Max(1e-9, seconds);
        var summary = new TrainingSummary(t.Step, seconds, last.TrainLoss, last.TrainAccuracy, last.TestLoss, last.TestAccuracy, stepsPerSecond);
        SaveWeights();
        WriteJson(Path.Combine(Directory, "summary.json"), new
        {
            steps = summary.Steps,
            seconds = summary.Seconds,
            train_loss = summary.TrainLoss,
            train_accuracy = summary.TrainAccuracy,
            test_loss = summary.TestLoss,
            test_accuracy = summary.TestAccuracy,
            steps_per_second = summary.StepsPerSecond,
            data = t.Train.Name,
            train_examples = t.Train.Count,
            test_examples = t.Test.Count,
            parameters = t.Model.Values.Length,
            unigram_test_loss = t.UnigramTestLoss,
        });
        return summary;
    }

    /// <summary>What a diverged run keeps, as a sentence starting with a space: the last good checkpoint, or that none was written.</summary>
    public string CheckpointNote()
    {
        string path = Path.Combine(Directory, CheckpointFile);
        long good = File.Exists(path) ? StateDict.Load(path).GetLong("trainer.step") : 0;
        return good > 0 ? $" The last good checkpoint (step {good}) is kept in {Directory}." : " No checkpoint had been written yet.";
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _csv.Dispose();
        _jsonl.Dispose();
        _tensorboard.Dispose();
    }

    /// <summary>
    /// Writes the weights at the evaluation point and the buffers (batch-norm statistics) as <c>model.safetensors</c>
    /// (atomically), named as PyTorch names them.
    /// </summary>
    private void SaveWeights()
    {
        var model = _trainer.Model;
        _trainer.AtEvaluationPoint(() =>
            SafeTensors.Save(Path.Combine(Directory, "model.safetensors"), model.Parameters.Select(p => (p.Name, p.Shape, (ReadOnlyMemory<float>)p.Value))
                .Concat(model.Buffers().Select(b => (b.Name, b.Shape, (ReadOnlyMemory<float>)b.Value))),
                new Dictionary<string, string> { ["format"] = "pt", ["descent.step"] = _trainer.Step.ToString(CultureInfo.InvariantCulture) }));
    }

    private double LoadCheckpoint()
    {
        var state = StateDict.Load(Path.Combine(Directory, CheckpointFile));
        // Checkpoints of earlier versions hold no configuration; theirs is taken on trust, as before.
        if (state.Contains(ConfigKey)) CheckConfig(state.GetString(ConfigKey), state.GetLong("trainer.step"));
        long csv = state.GetLong("files.metrics_csv"), jsonl = state.GetLong("files.metrics_jsonl");
        // Both files are checked before either is cut, so a refusal leaves the directory as it was.
        CheckCut(_csvPath, csv);
        CheckCut(_jsonlPath, jsonl);
        _trainer.LoadState(state);
        Truncate(_csvPath, csv);
        Truncate(_jsonlPath, jsonl);
        return state.GetDouble("trainer.seconds");
    }

    /// <summary>The checkpoint's copy of the configuration it was written with.</summary>
    private const string ConfigKey = "run.config";

    /// <summary>
    /// Throws unless the run resumes with the configuration its checkpoint was written with (<paramref name="recordedJson"/>), but for
    /// what may change between sessions: the length, how often it evaluates and checkpoints, and a schedule that gives every update up
    /// to the checkpoint (<paramref name="step"/>) the rate it had. A <c>config.json</c> edited by hand (another rate, seed or batch under
    /// the same checkpoint) would otherwise continue the run as if nothing had changed.
    /// </summary>
    private void CheckConfig(string recordedJson, long step)
    {
        var recorded = FromEarlierVersion(JsonSerializer.Deserialize<TrainingConfig>(recordedJson, JsonOptions)
            ?? throw new TrainingException($"{CheckpointFile} in {Directory} holds an empty configuration; the checkpoint is damaged."));
        // Paths may change (data or starting weights moved), as may the length and the intervals; the schedule is checked below.
        System.Text.Json.Nodes.JsonObject Settled(TrainingConfig c) => JsonSerializer.SerializeToNode(
            c with { Steps = 0, Epochs = 0, Schedule = "", EvalEvery = 1, CheckpointEvery = 1, DataDir = null, Csv = null, Text = null, Init = "" }, JsonOptions)!.AsObject();
        var then = Settled(recorded);
        var now = Settled(_trainer.Config);
        string Text(System.Text.Json.Nodes.JsonNode? v) => v?.ToJsonString() ?? "null";
        foreach (var (key, value) in then)
            if (!System.Text.Json.Nodes.JsonNode.DeepEquals(value, now[key]))
                throw new TrainingException($"The run in {Directory} is resumed with {key} {Text(now[key])}, but its checkpoint was written with {Text(value)}: its config.json was changed after " +
                    "the checkpoint (restore it), or other settings were given. A resumed run may change only its length, how often it evaluates and checkpoints, paths to its data, and its schedule after the checkpoint.");
        // Compared with every key written out: a schedule an earlier version resolved lacks the keys added since (at their defaults).
        bool sameSchedule = recorded.Schedule == _trainer.Config.Schedule
            || ScheduleSpec.Resolve(recorded.Schedule, step) == ScheduleSpec.Resolve(_trainer.Config.Schedule, step);
        if (!sameSchedule && _trainer.Setup.FirstDifference(recorded.Schedule, step) is { } d)
            throw new ConfigException($"The schedule {_trainer.Config.Schedule} would have given update {d.Update} a {d.Setting} of {RoundTrip.Format(d.Value)} where the run in {Directory} used " +
                $"{RoundTrip.Format(d.Other)} ({recorded.Schedule}, as its checkpoint records); a resumed run may change its schedule only after its checkpoint, step {step}: give one that agrees " +
                "up to there (for warmup-stable-decay, resume from a checkpoint in the stable phase).", nameof(TrainingConfig.Schedule));
    }

    /// <summary>
    /// Throws unless <paramref name="path"/> is at least <paramref name="length"/> bytes long and a line ends there: a metrics file
    /// changed after the checkpoint (rewritten with other line endings, say) would otherwise be cut inside a row.
    /// </summary>
    private static void CheckCut(string path, long length)
    {
        if (!File.Exists(path) || new FileInfo(path).Length < length)
            throw new TrainingException($"{path} is shorter than the checkpoint recorded ({length} bytes); the run directory was changed after the checkpoint.");
        if (length == 0) return;
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read);
        f.Position = length - 1;
        if (f.ReadByte() != '\n')
            throw new TrainingException($"{path} no longer has a line ending where the checkpoint's rows ended (byte {length}); the file was changed after the checkpoint, so resuming would cut it inside a row. Restore it, or start a new run.");
    }

    private static void Truncate(string path, long length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.SetLength(length);
    }

    /// <summary>The files in <paramref name="outDir"/> that a run writes (configuration, metrics, event file, checkpoint, weights, summary).</summary>
    public static IEnumerable<string> Written(string outDir) =>
        System.IO.Directory.Exists(outDir)
            ? System.IO.Directory.EnumerateFiles(outDir).Select(Path.GetFileName).OfType<string>()
                .Where(f => f is "config.json" or "metrics.csv" or "metrics.jsonl" or "summary.json" or "model.safetensors" or "curves.png" or CheckpointFile
                    || f.StartsWith("events.out.tfevents.", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            : [];

    /// <summary>The step of the checkpoint in run directory <paramref name="outDir"/>.</summary>
    public static long CheckpointStep(string outDir)
    {
        string path = Path.Combine(outDir, CheckpointFile);
        if (!File.Exists(path)) throw new TrainingException($"{outDir} holds no checkpoint ({CheckpointFile}) to resume from.");
        return StateDict.Load(path).GetLong("trainer.step");
    }

    /// <summary>
    /// Whether resuming the run in <paramref name="outDir"/> as <paramref name="config"/> has nothing left to do but write the
    /// summary: <paramref name="config"/> asks for the length the run recorded in <c>config.json</c> (not a shorter target
    /// that happens to fall on a checkpoint), and no summary of the checkpoint's step exists. The caller checks that the
    /// checkpoint is at that length.
    /// </summary>
    public static bool OnlySummaryLeft(string outDir, TrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var recorded = LoadConfig(outDir);
        return recorded.Steps == config.Steps && recorded.Epochs == config.Epochs && EndedSummary(outDir) is null;
    }

    /// <summary>
    /// The summary of the run in <paramref name="outDir"/> if the run ended at its checkpoint (its <c>summary.json</c> gives
    /// the checkpoint's step); null for a run stopped between its last checkpoint and its summary, for an extended run
    /// whose checkpoint is past its summary's step (the summary is the shorter run's), and for an unreadable summary.
    /// </summary>
    public static TrainingSummary? EndedSummary(string outDir)
    {
        string path = Path.Combine(outDir, "summary.json");
        if (!File.Exists(path)) return null;
        try
        {
            // Finish writes the summary's numbers under the names of TrainingSummary's properties, with more beside them.
            var summary = JsonSerializer.Deserialize<TrainingSummary>(File.ReadAllText(path), JsonOptions);
            return summary is not null && summary.Steps == CheckpointStep(outDir) ? summary : null;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or IOException or UnauthorizedAccessException)
        {
            return null;   // written atomically, so only a hand-edited or unreadable summary gets here: finishing the run rewrites it
        }
    }

    /// <summary>Loads the configuration saved in run directory <paramref name="outDir"/>.</summary>
    public static TrainingConfig LoadConfig(string outDir)
    {
        string path = Path.Combine(outDir, "config.json");
        if (!File.Exists(path)) throw new TrainingException($"{outDir} is not a Descent run directory (no config.json).");
        string text = File.ReadAllText(path);
        TrainingConfig config;
        try
        {
            config = JsonSerializer.Deserialize<TrainingConfig>(text, JsonOptions)
                ?? throw new TrainingException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new TrainingException($"{path} is not a run configuration this version can read ({e.Message}); it was damaged or edited by hand: restore it.");
        }
        // A key the configuration does not have (a typo, a setting of another tool) would otherwise be ignored without a word.
        var known = TrainingConfig.Keys.Values.ToHashSet(StringComparer.Ordinal);
        if (JsonNode.Parse(text) is JsonObject keys && keys.Select(k => k.Key).FirstOrDefault(k => !known.Contains(k) && !TrainingConfig.EarlierKeys.ContainsKey(k)) is { } unknown)
            throw new TrainingException($"{path} has a setting '{unknown}' that runs do not have; it was edited by hand: remove it (the settings are {string.Join(", ", known.Order(StringComparer.Ordinal))}).");
        // A key written as null where the run needs a value (a list, a name) would fail later, far from the file.
        var defaults = new TrainingConfig();
        foreach (var (property, key) in TrainingConfig.Keys)
            if (!property.PropertyType.IsValueType && property.GetValue(config) is null && property.GetValue(defaults) is not null)
                throw new TrainingException($"{path} gives {key} as null, which a run cannot take; it was damaged or edited by hand: restore it.");
        return FromEarlierVersion(config);
    }

    /// <summary>A configuration an earlier version wrote, read as that version ran it (see <see cref="ScheduleSpec.FromEarlierVersion"/>).</summary>
    private static TrainingConfig FromEarlierVersion(TrainingConfig config) =>
        config with { Schedule = ScheduleSpec.FromEarlierVersion(config.Schedule) };

    // Relaxed escaping: a schedule or formula keeps its '+' and '\'' readable (JSON needs only quotes, backslashes and control characters escaped).
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new RoundTrip.JsonConverter() },
    };

    /// <summary>Writes <paramref name="value"/> as indented JSON ending with a newline, atomically.</summary>
    private static void WriteJson<TValue>(string path, TValue value) => Atomic.WriteJson(path, value, JsonOptions);
}
