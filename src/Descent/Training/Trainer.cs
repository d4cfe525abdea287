using System.Diagnostics;
using System.Text.Json;
using Descent.Data;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.Schedules;
using Descent.State;

namespace Descent.Training;

/// <summary>Final numbers of a run (also written as <c>summary.json</c>).</summary>
public sealed record TrainingSummary(long Steps, double Seconds, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double StepsPerSecond);

/// <summary>
/// Trains a feedforward classifier: data, model, optimizer, schedule and minibatches built from a
/// <see cref="TrainingConfig"/>, with every random draw from the config's seed (data from stream 0,
/// initialization from stream 1, batch order from stream 2). A step: draw a batch, zero the gradients,
/// forward, loss and its gradient, backward, clip, optimizer step; nothing is allocated.
/// </summary>
public sealed class Trainer
{
    private const string CheckpointFile = "checkpoint.state";
    private readonly float[] _batchX;
    private readonly int[] _batchY;
    private readonly float[] _outputGrad;
    private readonly Schedule _schedule;
    private readonly Func<double> _closure;
    private int _batch;
    private double _batchLossSum;
    private long _batchLossCount;

    /// <summary>Builds everything the config describes.</summary>
    public Trainer(TrainingConfig config)
    {
        (Train, Test) = LoadData(config);
        var loss = Losses.Parse(config.Loss);
        Loss = loss;
        // A file given as the initialization replaces the drawn weights (the draw still happens, so the streams after it are unchanged).
        bool fromFile = !Initializations.TryParse(config.Init, out var initialization);
        // Dropout layers of a spec draw their masks from streams 3, 4, ... of the seed.
        Model = config.Model is { } spec
            ? ModelSpec.Build<float>(spec, Train.Shape, loss.Outputs(Train.Classes), initialization, Rng.ForStream(config.Seed, 1), config.Seed, firstDropoutStream: 3)
            : new Sequential<float>([Train.Dimensions, .. config.Hidden, loss.Outputs(Train.Classes)],
                Activations.Parse(config.Activation), initialization, Rng.ForStream(config.Seed, 1));
        if (Model.OutputSize != Train.LabelsPerExample * loss.Outputs(Train.Classes))
            throw new ArgumentException($"The model gives {Model.OutputSize} outputs per example, but {Train.Name} has {Train.LabelsPerExample} labels per example of {Train.Classes} classes " +
                $"({Train.LabelsPerExample * loss.Outputs(Train.Classes)} outputs); a model for text ends with a linear layer at every position, such as transformer:layers=2,d=64,heads=4.");
        if (fromFile)
        {
            if (!File.Exists(config.Init))
                throw new ArgumentException($"Unknown initialization '{config.Init}': choose torch, he or xavier, or give an existing .safetensors file of starting weights.");
            Model.LoadSafeTensors(config.Init);
        }
        var options = Optimizers.DefaultOptions(config.Optimizer);
        foreach (var (name, value) in config.Hyperparameters) options.Set(name, value);
        Optimizer = CreateOptimizer(config, Model, options);
        if (Optimizer.RequiresClosure && (config.Accumulate > 1 || config.LookaheadK > 0 || config.Ema > 0 || config.SwaStart >= 0 || config.Sam > 0))
            throw new ArgumentException($"{config.Optimizer} evaluates the loss several times per update (a closure step); gradient accumulation, Lookahead and weight averaging work around optimizers that update once from one gradient.");
        Wrap(Optimizer, config);
        if (config.Steps < 1 && config.Epochs < 1) throw new ArgumentException($"Invalid number of steps {config.Steps}: must be at least 1.");
        if (config.Epochs < 0) throw new ArgumentException($"Invalid number of epochs {config.Epochs}: must be at least 1.");
        if (config.EvalEvery < 1) throw new ArgumentException($"Invalid evaluation interval {config.EvalEvery}: must be at least 1.");
        if (config.CheckpointEvery < 1) throw new ArgumentException($"Invalid checkpoint interval {config.CheckpointEvery}: must be at least 1.");
        if (config.ClipNorm < 0 || config.ClipValue < 0) throw new ArgumentException("Clipping thresholds must be >= 0 (0 turns clipping off).");
        Batches = new Batches(Train, config.Batch, Rng.ForStream(config.Seed, 2), config.DropLast);
        TotalSteps = config.Epochs > 0 ? (config.Epochs * Batches.BatchesPerEpoch + config.Accumulate - 1) / config.Accumulate : config.Steps;
        if (config.Warmup < 0 || (config.Warmup > 0 && config.Warmup >= TotalSteps))
            throw new ArgumentException($"Invalid warmup of {config.Warmup} steps for a run of {TotalSteps}: the warmup must be shorter than the run, or the schedule after it never starts; shorten --warmup or give more --steps.");
        _schedule = ScheduleSpec.Parse(config.Schedule, options.LearningRate, TotalSteps, config.Warmup);
        // Defaults that follow the run's length (cosine's steps, step's size) are fixed now: extending the run later keeps this schedule, and config.json says which it is.
        Config = config with { Schedule = ScheduleSpec.Resolve(config.Schedule, TotalSteps, config.Warmup) };
        Optimizer.Schedule("lr", _schedule);
        _closure = LossAndGradient;
        _batchX = new float[Batches.BatchSize * Train.Dimensions];
        _batchY = new int[Batches.BatchSize * Train.LabelsPerExample];
        if (config.Data.Trim().ToLowerInvariant() == "text") UnigramTestLoss = CharText.UnigramLoss(Train, Test);
        _outputGrad = new float[Batches.BatchSize * Model.Outputs];
    }

    /// <summary>
    /// The configured optimizer over the model's parameters; Muon takes the hidden 2-D weights and AdamW the rest
    /// (<see cref="MuonSplit"/>), since Muon updates matrices only.
    /// </summary>
    private static Optimizer<float> CreateOptimizer(TrainingConfig config, Sequential<float> model, OptimizerOptions options)
    {
        if (options is not MuonOptions muon)
        {
            if (config.AdamWLr is not null)
                throw new ArgumentException($"AdamWLr sets the learning rate of AdamW beside Muon; {config.Optimizer} has no such part (set its lr instead).");
            return Optimizers.Create(config.Optimizer, model.Parameters, options);
        }
        var adamw = new AdamWOptions();
        if (config.AdamWLr is { } lr) adamw.Set("lr", lr);
        return MuonSplit.Create(model, muon, adamw);
    }

    /// <summary>The configuration, its schedule written out with every default (see <see cref="ScheduleSpec.Resolve"/>).</summary>
    public TrainingConfig Config { get; }

    /// <summary>Training examples.</summary>
    public Dataset Train { get; }

    /// <summary>Held-out examples.</summary>
    public Dataset Test { get; }

    /// <summary>For text data, the test loss of a unigram model (<see cref="CharText.UnigramLoss"/>), the baseline a language model must beat; null otherwise.</summary>
    public double? UnigramTestLoss { get; }

    /// <summary>The network.</summary>
    public Sequential<float> Model { get; }

    /// <summary>The loss.</summary>
    public Loss Loss { get; }

    /// <summary>The optimizer (its <c>lr</c> follows the configured schedule).</summary>
    public Optimizer<float> Optimizer { get; }

    /// <summary>The minibatch sampler.</summary>
    public Batches Batches { get; }

    /// <summary>Steps the run takes in all (from <see cref="TrainingConfig.Steps"/> or <see cref="TrainingConfig.Epochs"/>).</summary>
    public long TotalSteps { get; }

    /// <summary>Steps taken.</summary>
    public long Step => Optimizer.StepCount;

    /// <summary>
    /// Puts the wrappers the config asks for around <paramref name="optimizer"/>: gradient accumulation or SAM, then
    /// Lookahead, then weight averaging (EMA or SWA), so the average follows the weights Lookahead leaves.
    /// </summary>
    private static void Wrap(Optimizer<float> optimizer, TrainingConfig config)
    {
        if (config.Accumulate < 1) throw new ArgumentException($"Invalid accumulation {config.Accumulate}: must be at least 1 minibatch per update.");
        if (config.Accumulate > 1 && (config.ClipNorm > 0 || config.ClipValue > 0))
            throw new ArgumentException("Gradient clipping with accumulation is not supported yet: the clip would apply to each minibatch's gradient, not to the accumulated mean one.");
        if (config.Ema > 0 && config.SwaStart >= 0) throw new ArgumentException("Choose one weight average: an EMA or SWA, not both.");
        if (config.EmaWarmup && config.Ema == 0) throw new ArgumentException("The EMA warmup needs an EMA decay.");
        if (config.SamAdaptive && config.Sam == 0) throw new ArgumentException("Adaptive SAM needs a SAM radius rho.");
        if (!(config.Sam >= 0) || double.IsInfinity(config.Sam)) throw new ArgumentException($"Invalid SAM rho {config.Sam}: must be a finite number above 0, e.g. 0.05 (0 turns SAM off).");
        if (!(config.Ema >= 0)) throw new ArgumentException($"Invalid EMA decay {config.Ema}: must be in (0, 1), e.g. 0.999 (0 turns the EMA off).");
        if (config.Accumulate > 1) optimizer.Wrap(new GradientAccumulation<float>(config.Accumulate));
        if (config.Sam > 0) optimizer.Wrap(new Sam<float>(config.Sam, config.SamAdaptive));
        if (config.LookaheadK > 0) optimizer.Wrap(new Lookahead<float>(config.LookaheadK, config.LookaheadAlpha));
        if (config.Ema > 0) optimizer.Wrap(WeightAveraging<float>.Ema(config.Ema, config.EmaWarmup));
        if (config.SwaStart >= 0) optimizer.Wrap(WeightAveraging<float>.Swa(config.SwaStart));
    }

    /// <summary>
    /// One optimizer update: on the next minibatch, or on the next <see cref="TrainingConfig.Accumulate"/> minibatches
    /// whose mean gradient it takes; returns the mean minibatch loss before the update.
    /// </summary>
    public double TrainStep()
    {
        double sum = 0;
        for (int m = 0; m < Config.Accumulate; m++)
        {
            double loss = MinibatchStep();
            if (!double.IsFinite(loss)) return loss;
            sum += loss;
        }
        return sum / Config.Accumulate;
    }

    /// <summary>Forward, backward and a call of the optimizer's step on the next minibatch; returns its loss.</summary>
    private double MinibatchStep()
    {
        _batch = Batches.Next(_batchX, _batchY);
        double loss;
        if (Optimizer.RequiresClosure)
        {
            loss = Optimizer.Step(_closure);   // L-BFGS: the closure re-evaluates this minibatch as often as its search needs
            if (!double.IsFinite(loss)) return loss;
        }
        else
        {
            loss = LossAndGradient();
            if (!double.IsFinite(loss)) return loss;
            Optimizer.Step();
        }
        _batchLossSum += loss;
        _batchLossCount++;
        return loss;
    }

    /// <summary>The loss on the current minibatch, with its (clipped) gradient in the parameters when it is finite.</summary>
    private double LossAndGradient()
    {
        int b = _batch;
        var outputs = Model.Forward(_batchX, b);
        // Sequence data has a label at every position: the loss is the mean over all b * labels-per-example of them.
        int labels = b * Train.LabelsPerExample;
        double loss = Losses.Evaluate(Loss, outputs, _batchY.AsSpan(0, labels), labels, _outputGrad.AsSpan(0, b * Model.Outputs), out _);
        if (!double.IsFinite(loss)) return loss;
        Model.Backward(_batchX, _outputGrad, b, accumulate: false);
        if (Config.ClipValue > 0) GradientClipping.ClipByValue(Model.Parameters, Config.ClipValue);
        if (Config.ClipNorm > 0) GradientClipping.ClipByGlobalNorm(Model.Parameters, Config.ClipNorm);
        return loss;
    }

    /// <summary>
    /// Trains in memory to <see cref="TotalSteps"/> without writing files and returns the final numbers;
    /// stops with a <see cref="TrainingException"/> if the loss stops being finite.
    /// </summary>
    public TrainingSummary Fit()
    {
        var clock = Stopwatch.StartNew();
        long start = Step;
        while (Step < TotalSteps)
        {
            double loss = TrainStep();
            if (!double.IsFinite(loss)) throw Diverged(loss, null);
        }
        var (trainLoss, trainAcc) = Evaluate(Train);
        var (testLoss, testAcc) = Evaluate(Test);
        double seconds = clock.Elapsed.TotalSeconds;
        return new TrainingSummary(Step, seconds, trainLoss, trainAcc, testLoss, testAcc, (Step - start) / Math.Max(1e-9, seconds));
    }

    /// <summary>
    /// Mean loss and accuracy of the model over every label of <paramref name="data"/> (every position of a sequence), in evaluation mode (dropout off, batch
    /// normalization by its running statistics), in chunks of 1,000 examples (100 for a spec's model, whose
    /// convolutions keep every channel of every example of the chunk).
    /// </summary>
    public (double Loss, double Accuracy) Evaluate(Dataset data)
    {
        double total = 0;
        int correct = 0;
        int chunk = Config.Model is null ? 1000 : 100;
        bool training = Model.Training;
        Model.Training = false;
        int per = data.LabelsPerExample;
        AtEvaluationPoint(() =>
        {
            for (int start = 0; start < data.Count; start += chunk)
            {
                int n = Math.Min(chunk, data.Count - start);
                var outputs = Model.Forward(data.Features.AsSpan(start * data.Dimensions, n * data.Dimensions), n);
                total += n * per * Losses.Evaluate(Loss, outputs, data.Labels.AsSpan(start * per, n * per), n * per, [], out int c);
                correct += c;
            }
        });
        Model.Training = training;
        return (total / data.Labels.Length, (double)correct / data.Labels.Length);
    }

    /// <summary>
    /// Runs to <see cref="TotalSteps"/>, writing into <paramref name="outDir"/> the metrics
    /// (<c>metrics.csv</c>, <c>metrics.jsonl</c>, a TensorBoard event file), checkpoints, <c>model.safetensors</c>
    /// and <c>summary.json</c>. With <paramref name="resume"/> it continues from the checkpoint in
    /// <paramref name="outDir"/>, truncating metrics written after it, so the result is bit-identical to an
    /// uninterrupted run. <paramref name="progress"/> is called after every evaluation.
    /// </summary>
    public TrainingSummary Run(string outDir, bool resume = false, Action<MetricsRow, double>? progress = null)
    {
        Directory.CreateDirectory(outDir);
        string csvPath = Path.Combine(outDir, "metrics.csv"), jsonlPath = Path.Combine(outDir, "metrics.jsonl");
        double secondsBefore = 0;
        if (resume)
        {
            // A run killed while writing leaves its temporary file behind (the rename never happened): remove it.
            foreach (var stale in Directory.GetFiles(outDir, "*.tmp")) File.Delete(stale);
            long at = CheckpointStep(outDir);
            if (at >= TotalSteps)
                throw new TrainingException($"The run in {outDir} is already at step {at}; resuming it to step {TotalSteps} would do nothing. Ask for more than {at} steps to extend it.");
            secondsBefore = LoadCheckpoint(outDir, csvPath, jsonlPath);
        }
        // Written on resume too: an extended run's config.json must give its new length.
        WriteJson(Path.Combine(outDir, "config.json"), Config);
        if (!resume)
        {
            File.WriteAllText(csvPath, MetricsRow.CsvHeader + "\n");
            File.WriteAllText(jsonlPath, "");
        }
        using var csv = new StreamWriter(csvPath, append: true);
        using var jsonl = new StreamWriter(jsonlPath, append: true);
        using var tensorboard = new TensorBoardWriter(outDir, append: resume);
        var clock = Stopwatch.StartNew();
        long startStep = Step;
        MetricsRow? last = null;
        while (Step < TotalSteps)
        {
            double loss = TrainStep();
            if (!double.IsFinite(loss)) throw Diverged(loss, outDir);
            // Read after the step: the optimizer sets scheduled values at the start of Step, so this is the rate the update just used.
            double lr = LearningRate;
            bool final = Step == TotalSteps;
            bool evaluate = Step % Config.EvalEvery == 0 || final, checkpoint = Step % Config.CheckpointEvery == 0 || final;
            // An update can leave weights that are not finite although the loss it started from was (batch norm keeps the
            // loss finite a while): nothing is recorded or kept from them.
            if ((evaluate || checkpoint) && !Finite(Model.Values)) throw Diverged(double.NaN, outDir, weights: true);
            if (evaluate)
            {
                last = Evaluation(lr);
                _schedule.Observe(Step, last.TestLoss);
                csv.WriteLine(last.ToCsv());
                jsonl.WriteLine(last.ToJson());
                tensorboard.Scalar("loss/batch", Step, last.BatchLoss);
                tensorboard.Scalar("loss/train", Step, last.TrainLoss);
                tensorboard.Scalar("loss/test", Step, last.TestLoss);
                tensorboard.Scalar("accuracy/train", Step, last.TrainAccuracy);
                tensorboard.Scalar("accuracy/test", Step, last.TestAccuracy);
                tensorboard.Scalar("lr", Step, lr);
                progress?.Invoke(last, (Step - startStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
            }
            if (checkpoint)
            {
                csv.Flush();
                jsonl.Flush();
                tensorboard.Flush();
                SaveCheckpoint(outDir, new FileInfo(csvPath).Length, new FileInfo(jsonlPath).Length, secondsBefore + clock.Elapsed.TotalSeconds);
            }
        }
        last ??= Evaluation(LearningRate);
        double seconds = secondsBefore + clock.Elapsed.TotalSeconds;
        var summary = new TrainingSummary(Step, seconds, last.TrainLoss, last.TrainAccuracy, last.TestLoss, last.TestAccuracy,
            (Step - startStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
        SaveWeights(outDir);
        WriteJson(Path.Combine(outDir, "summary.json"), new
        {
            steps = summary.Steps,
            seconds = summary.Seconds,
            train_loss = summary.TrainLoss,
            train_accuracy = summary.TrainAccuracy,
            test_loss = summary.TestLoss,
            test_accuracy = summary.TestAccuracy,
            steps_per_second = summary.StepsPerSecond,
            data = Train.Name,
            train_examples = Train.Count,
            test_examples = Test.Count,
            parameters = Model.Values.Length,
            unigram_test_loss = UnigramTestLoss,
        });
        return summary;
    }

    /// <summary>The learning rate of group 0 as the last update used it (before any update: the configured one).</summary>
    private double LearningRate => Optimizer.Groups[0].Options.LearningRate;

    /// <summary>
    /// The error for a non-finite minibatch loss at step <c>Step + 1</c>. The loss is computed before that
    /// step's update, on the weights the previous update left, so that update's learning rate is the one to blame;
    /// a loss that is not finite before any update comes from the data or the initial weights, not the learning rate.
    /// </summary>
    private TrainingException Diverged(double loss, string? outDir, bool weights = false)
    {
        string value = loss.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Step == 0)
            return new TrainingException($"The loss is {value} at the start, before any update: the data or the initial weights give a non-finite loss, " +
                $"so no learning rate can help; check {Train.Name} for huge or missing values.");
        string checkpoint = "";
        if (outDir is not null)
        {
            string path = Path.Combine(outDir, CheckpointFile);
            long good = File.Exists(path) ? StateDict.Load(path).GetLong("trainer.step") : 0;
            checkpoint = good > 0 ? $" The last good checkpoint (step {good}) is kept in {outDir}." : " No checkpoint had been written yet.";
        }
        string what = weights ? $"Some weights stopped being finite in update {Step} at learning rate {MetricsRow.Format(LearningRate)}"
            : $"The loss became {value} at step {Step + 1}, after update {Step} at learning rate {MetricsRow.Format(LearningRate)}";
        return new TrainingException(what + ": the learning rate is probably too high for this model; lower --lr or clip gradients (--clip-norm)." + checkpoint);
    }

    private static bool Finite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!float.IsFinite(v)) return false;
        return true;
    }

    private MetricsRow Evaluation(double lr)
    {
        var (trainLoss, trainAcc) = Evaluate(Train);
        var (testLoss, testAcc) = Evaluate(Test);
        double batchLoss = _batchLossCount > 0 ? _batchLossSum / _batchLossCount : double.NaN;
        _batchLossSum = 0;
        _batchLossCount = 0;
        return new MetricsRow(Step, Batches.Epoch, lr, batchLoss, trainLoss, trainAcc, testLoss, testAcc);
    }

    private void SaveCheckpoint(string outDir, long csvLength, long jsonlLength, double seconds)
    {
        var state = new StateDict();
        state.Set("trainer.step", Step);
        state.Set("trainer.batch_loss_sum", _batchLossSum);
        state.Set("trainer.batch_loss_count", _batchLossCount);
        state.Set("trainer.seconds", seconds);
        state.Set("files.metrics_csv", csvLength);
        state.Set("files.metrics_jsonl", jsonlLength);
        state.Set("model.values", Model.Values);
        Model.SaveState(state, "model");
        Optimizer.SaveState(state);
        Batches.SaveState(state, "batches");
        state.Save(Path.Combine(outDir, CheckpointFile));
        SaveWeights(outDir);
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the parameters at the optimizer's evaluation point (the average <c>x</c> of
    /// a schedule-free optimizer; the parameters themselves for every other), then puts the training point back exactly.
    /// </summary>
    private void AtEvaluationPoint(Action action)
    {
        Optimizer.Eval();
        try
        {
            action();
        }
        finally
        {
            Optimizer.Train();
        }
    }

    /// <summary>
    /// Writes the weights at the evaluation point and the buffers (batch-norm statistics) as <c>model.safetensors</c>
    /// (atomically), named as PyTorch names them.
    /// </summary>
    private void SaveWeights(string outDir) => AtEvaluationPoint(() =>
        SafeTensors.Save(Path.Combine(outDir, "model.safetensors"), Model.Parameters.Select(p => (p.Name, p.Shape, (ReadOnlyMemory<float>)p.Value))
            .Concat(Model.Buffers().Select(b => (b.Name, b.Shape, (ReadOnlyMemory<float>)b.Value))),
            new Dictionary<string, string> { ["format"] = "pt", ["descent.step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture) }));

    private double LoadCheckpoint(string outDir, string csvPath, string jsonlPath)
    {
        var state = StateDict.Load(Path.Combine(outDir, CheckpointFile));
        state.CopyTo<float>("model.values", Model.Values);
        Model.LoadState(state, "model");
        Optimizer.LoadState(state);
        Batches.LoadState(state, "batches");
        _batchLossSum = state.GetDouble("trainer.batch_loss_sum");
        _batchLossCount = state.GetLong("trainer.batch_loss_count");
        Truncate(csvPath, state.GetLong("files.metrics_csv"));
        Truncate(jsonlPath, state.GetLong("files.metrics_jsonl"));
        return state.GetDouble("trainer.seconds");
    }

    private static void Truncate(string path, long length)
    {
        if (!File.Exists(path) || new FileInfo(path).Length < length)
            throw new TrainingException($"{path} is shorter than the checkpoint recorded ({length} bytes); the run directory was changed after the checkpoint.");
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.SetLength(length);
    }

    /// <summary>The step of the checkpoint in run directory <paramref name="outDir"/>.</summary>
    public static long CheckpointStep(string outDir)
    {
        string path = Path.Combine(outDir, CheckpointFile);
        if (!File.Exists(path)) throw new TrainingException($"{outDir} holds no checkpoint ({CheckpointFile}) to resume from; start a new run with --out.");
        return StateDict.Load(path).GetLong("trainer.step");
    }

    /// <summary>Loads the configuration saved in a run directory.</summary>
    public static TrainingConfig LoadConfig(string outDir)
    {
        string path = Path.Combine(outDir, "config.json");
        if (!File.Exists(path)) throw new TrainingException($"{outDir} is not a Descent run directory (no config.json); start a new run with --out.");
        return JsonSerializer.Deserialize<TrainingConfig>(File.ReadAllText(path), JsonOptions)
            ?? throw new TrainingException($"{path} is empty.");
    }

    // Relaxed escaping: a schedule or formula keeps its '+' and '\'' readable (JSON needs only quotes, backslashes and control characters escaped).
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes <paramref name="value"/> as indented JSON ending with a newline, atomically.</summary>
    private static void WriteJson<TValue>(string path, TValue value) => Atomic.WriteText(path, JsonSerializer.Serialize(value, JsonOptions) + "\n");

    /// <summary>Characters per window of text data when neither the config nor the model's <c>ctx=</c> gives it.</summary>
    public const int DefaultContext = 64;

    private static (Dataset Train, Dataset Test) LoadData(TrainingConfig c)
    {
        switch (c.Data.Trim().ToLowerInvariant())
        {
            case "moons":
                var rng = Rng.ForStream(c.Seed, 0);
                return (Moons.Generate(c.N, c.Noise, c.Flip, c.StretchX, c.StretchY, rng, "moons-train"),
                        Moons.Generate(c.N, c.Noise, c.Flip, c.StretchX, c.StretchY, rng, "moons-test"));
            case "mnist":
                return c.DataDir is null ? Mnist.Embedded() : Mnist.Load(c.DataDir, "mnist");
            case "fashion-mnist":
                return Mnist.Load(c.DataDir ?? Mnist.FashionMnistDirectory, "fashion-mnist");
            case "text":
                int context = c.Context > 0 ? c.Context : c.Model is { } spec ? ModelSpec.Context(spec) ?? DefaultContext : DefaultContext;
                return c.Text is null ? CharText.Embedded(context) : CharText.Load(c.Text, context);
            case "csv":
                if (c.Csv is null) throw new ArgumentException("--data csv needs --csv FILE.");
                var all = Csv.Load(c.Csv);
                int test = Math.Max(1, all.Count / 5);
                if (all.Count < 2) throw new InvalidDataException($"{c.Csv}: needs at least 2 rows (the last 20% are held out for testing).");
                return (all.Slice(0, all.Count - test, all.Name + "-train"), all.Slice(all.Count - test, test, all.Name + "-test"));
            default:
                throw new ArgumentException($"Unknown data '{c.Data}': choose moons, mnist, fashion-mnist, csv or text.");
        }
    }
}
