using Descent.Data;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.Schedules;

namespace Descent.Training;

/// <summary>
/// What a <see cref="TrainingConfig"/> describes, built and checked: the data, the model, the loss, the optimizer with
/// its wrappers and learning-rate schedule, the minibatch sampler and the run's length. Every random draw comes from
/// the config's seed (data from stream 0, initialization from stream 1, batch order from stream 2, dropout masks from
/// streams 3, 4, ...). A bad setting is a <see cref="ConfigException"/> naming the config property to change.
/// </summary>
public sealed class TrainingSetup
{
    /// <summary>Builds everything <paramref name="config"/> describes.</summary>
    public TrainingSetup(TrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Check(config);
        (Train, Test) = OfClasses(LoadData(config), config.Classes);
        // Either set empty would only show up at the first evaluation, as a loss of NaN that no file can hold.
        foreach (var set in new[] { Train, Test })
            if (set.Count == 0)
                throw new ConfigException($"{set.Name} holds no examples: a run needs examples to train on and held-out examples to evaluate on.", nameof(TrainingConfig.Data));
        Loss = Losses.Parse(config.Loss);
        int outputs = Loss.Outputs(Train.Classes);
        // A file given as the initialization replaces the drawn weights (the draw still happens, so the streams after it are unchanged).
        bool fromFile = !Initializations.TryParse(config.Init, out var initialization);
        Model = config.Model is { } spec
            ? ModelSpec.Build<float>(spec, Train.Shape, outputs, initialization, Rng.ForStream(config.Seed, 1), config.Seed, firstDropoutStream: 3)
            : new Sequential<float>([Train.Dimensions, .. config.Hidden, outputs], Activations.Parse(config.Activation), initialization, Rng.ForStream(config.Seed, 1));
        if (Model.OutputSize != Train.LabelsPerExample * outputs)
            throw new ConfigException($"The model gives {Model.OutputSize} outputs per example, but {Train.Name} has {Train.LabelsPerExample} labels per example of {Train.Classes} classes " +
                $"({Train.LabelsPerExample * outputs} outputs); " + (Train.LabelsPerExample > 1
                    ? "a model for text ends with a linear layer at every position, such as transformer:layers=2,d=64,heads=4."
                    : Model.Layers[^1] is Linear<float> { InputShape.Count: > 1 } last
                    ? $"its last layer, linear, acts on the last dimension of its input [{string.Join(", ", last.InputShape)}] only: put flatten before it (...-flatten-linear)."
                    : Model.OutputShape.Count > 1
                    ? $"end the model with flatten-linear (a linear layer acts on the last dimension of its input, here [{string.Join(", ", Model.OutputShape)}]; without a width it gives the {outputs} outputs the data needs)."
                    : $"end the model with linear (without a width it gives the {outputs} outputs the data needs)."), nameof(TrainingConfig.Model));
        if (fromFile)
        {
            if (!File.Exists(config.Init))
                throw new ConfigException(config.Init.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
                    ? $"The file of starting weights '{config.Init}' does not exist (any more): give an existing .safetensors file, or torch, he or xavier."
                    : $"Unknown initialization '{config.Init}': choose torch, he or xavier, or give an existing .safetensors file of starting weights.", nameof(TrainingConfig.Init));
            Model.LoadSafeTensors(config.Init);
        }
        (_initialization, _outputs) = (initialization, outputs);
        Replicas = [.. Enumerable.Range(1, config.Threads - 1).Select(r => Replica(config, r, forEvaluation: false))];
        var options = Optimizers.DefaultOptions(config.Optimizer);
        foreach (var (name, value) in config.Hyperparameters) options.Set(name, value);
        Optimizer = CreateOptimizer(config, Model, options);
        if (Optimizer.RequiresClosure && (config.Accumulate > 1 || config.LookaheadK > 0 || config.Ema > 0 || config.SwaStart >= 0 || config.Sam > 0))
            throw new ConfigException($"{config.Optimizer} evaluates the loss several times per update (a closure step); gradient accumulation, Lookahead and weight averaging work around optimizers that update once from one gradient.", nameof(TrainingConfig.Optimizer));
        Wrap(Optimizer, config, Model.Parameters);
        if (config.UpdateBn is not null && config.Ema == 0 && config.SwaStart < 0 && config.LookaheadK == 0 && !Optimizer.EvaluationPointDiffers)
            throw new ConfigException($"Recomputing batch-norm statistics is for an evaluation point other than the weights (an EMA, SWA, Lookahead or a schedule-free optimizer); {config.Optimizer} alone evaluates at its weights with the run's own statistics, so drop the setting.", nameof(TrainingConfig.UpdateBn));
        Batches = new Batches(Train, config.Batch, Rng.ForStream(config.Seed, 2), config.DropLast);
        TotalSteps = config.Epochs > 0 ? (config.Epochs * Batches.BatchesPerEpoch + config.Accumulate - 1) / config.Accumulate : config.Steps;
        CheckSwaStart(config.SwaStart, TotalSteps);
        if (config.Warmup < 0 || (config.Warmup > 0 && config.Warmup >= TotalSteps))
            throw new ConfigException($"Invalid warmup of {config.Warmup} steps for a run of {TotalSteps}: the warmup must be shorter than the run, or the schedule after it never starts; shorten the warmup or lengthen the run.", nameof(TrainingConfig.Warmup));
        _learningRate = options.LearningRate;
        _options = options.Clone();
        Schedule = LearningRateSchedule(config, config.Schedule, _learningRate);
        // Defaults that follow the run's length (cosine's steps, step's size) are fixed now: extending the run later keeps this schedule, and config.json says which it is.
        Config = config with { Schedule = ScheduleSpec.Resolve(config.Schedule, TotalSteps, config.Warmup) };
        _groupRates = [.. Optimizer.Groups.Select(g => g.Options.LearningRate)];
        _groupSchedules = ScheduleLearningRate(Optimizer, config);
        ScheduleMomentum(Optimizer, config);
        if (config.Data.Trim().ToLowerInvariant() == "text") UnigramTestLoss = CharText.UnigramLoss(Train, Test);
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

    /// <summary>
    /// Replicas of <see cref="Model"/> sharing its weights, one per core beyond the first (<see cref="TrainingConfig.Threads"/>);
    /// the dropout layers of replica r draw from streams of their own, after those of the replicas before it.
    /// </summary>
    public IReadOnlyList<Sequential<float>> Replicas { get; }

    /// <summary>
    /// A replica of <see cref="Model"/> sharing its weights, for evaluation only (its dropout is never on): unlike the
    /// training replicas it may hold batch normalization, whose buffers its user copies from the model before each use.
    /// </summary>
    internal Sequential<float> EvaluationReplica(int index) => Replica(Config, index, forEvaluation: true);

    private readonly Initialization _initialization;
    private readonly int _outputs;

    private Sequential<float> Replica(TrainingConfig config, int index, bool forEvaluation)
    {
        var (initialization, outputs) = (_initialization, _outputs);
        if (!forEvaluation && BatchNormStatistics.Layers<float>(Model).Count > 0)
            throw new ConfigException("Data-parallel training splits each minibatch, so batch normalization would normalize by each shard's statistics, not the minibatch's; train a model with batch normalization on one thread.", nameof(TrainingConfig.Threads));
        int dropouts = Model.Modules().OfType<Dropout<float>>().Count();
        var replica = config.Model is { } spec
            ? ModelSpec.Build<float>(spec, Train.Shape, outputs, initialization, Rng.ForStream(config.Seed, 1), config.Seed, firstDropoutStream: 3 + index * dropouts)
            : new Sequential<float>([Train.Dimensions, .. config.Hidden, outputs], Activations.Parse(config.Activation), initialization, Rng.ForStream(config.Seed, 1));
        replica.ShareValuesWith(Model);
        return replica;
    }

    /// <summary>The loss.</summary>
    public Loss Loss { get; }

    /// <summary>The optimizer with its wrappers; its <c>lr</c> follows <see cref="Schedule"/>.</summary>
    public Optimizer<float> Optimizer { get; }

    /// <summary>The learning-rate schedule of the run's rate (of the optimizer's first group).</summary>
    public Schedule Schedule { get; }

    /// <summary>The schedule of each group with a rate of its own, built for that rate (<see cref="Schedule"/> for the others).</summary>
    private readonly Schedule[] _groupSchedules;

    /// <summary>Gives the test loss measured after update <paramref name="step"/> to every learning-rate schedule (a plateau schedule reacts).</summary>
    public void ObserveTestLoss(long step, double testLoss)
    {
        Schedule.Observe(step, testLoss);
        foreach (var schedule in _groupSchedules)
            if (schedule != Schedule) schedule.Observe(step, testLoss);
    }

    /// <summary>
    /// The first of updates 1 to <paramref name="step"/> to which the schedule <paramref name="schedule"/> (a
    /// <see cref="ScheduleSpec"/>, in place of the config's) would give another learning rate (in any group) or momentum
    /// (beta1) than this run's: the update, the setting's name, this run's value and the other's; null when they agree on
    /// every one, bit for bit, so that a run resumed from a checkpoint at <paramref name="step"/> may switch to it
    /// (continuing a warmup-stable-decay run from its stable phase to a longer budget). A schedule driven by the test loss
    /// cannot be compared ahead of time and is refused.
    /// </summary>
    public (long Update, string Setting, double Value, double Other)? FirstDifference(string schedule, long step)
    {
        if (IsPlateau(schedule) || IsPlateau(Config.Schedule))
            throw new ConfigException("A plateau schedule follows the test losses the run has seen, so it can be neither swapped in nor out when resuming; start a new run instead.", nameof(TrainingConfig.Schedule));
        foreach (double rate in _groupRates.Prepend(_learningRate).Distinct())
            if (Differ(LearningRateSchedule(Config, Config.Schedule, rate), LearningRateSchedule(Config, schedule, rate)) is { } d)
                return (d.Update, "learning rate", d.Mine, d.Theirs);
        var (mine, theirs) = (MomentumSchedule(Config, Config.Schedule), MomentumSchedule(Config, schedule));
        if ((mine ?? theirs) is not null)
        {
            // A schedule without a momentum cycle leaves the optimizer's own value.
            string name = MomentumName(_options, Config.Optimizer, Config.Schedule);
            var own = new Constant(_options.Get(name));
            if (Differ(mine ?? own, theirs ?? own) is { } d) return (d.Update, name, d.Mine, d.Theirs);
        }
        return null;

        (long Update, double Mine, double Theirs)? Differ(Schedule a, Schedule b)
        {
            for (long t = 1; t <= step; t++)
                if (a.At(t) != b.At(t)) return (t, a.At(t), b.At(t));
            return null;
        }

        static bool IsPlateau(string spec) => spec.Split(':')[0].Trim().Equals("plateau", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The optimizer's settings as configured, before any schedule moved them.</summary>
    private readonly OptimizerOptions _options;

    /// <summary>Each group's learning rate as configured.</summary>
    private readonly double[] _groupRates;

    private readonly double _learningRate;

    /// <summary>The schedule of <paramref name="spec"/> from <paramref name="rate"/> for this run's length and the config's warmup, with SWALR after it when the config asks.</summary>
    private Schedule LearningRateSchedule(TrainingConfig config, string spec, double rate)
    {
        var schedule = ScheduleSpec.Parse(spec, rate, TotalSteps, config.Warmup);
        return config.SwaLr is { } swaLr ? SwaSchedule(schedule, config, swaLr) : schedule;
    }

    /// <summary>The minibatch sampler.</summary>
    public Batches Batches { get; }

    /// <summary>Steps the run takes in all (from <see cref="TrainingConfig.Steps"/> or <see cref="TrainingConfig.Epochs"/>).</summary>
    public long TotalSteps { get; }

    /// <summary>Throws unless an SWA start (negative: none) comes before the last of <paramref name="totalSteps"/> updates, so that something is averaged.</summary>
    internal static void CheckSwaStart(long swaStart, long totalSteps)
    {
        if (swaStart >= totalSteps)
            throw new ConfigException($"SWA averages the updates after update {swaStart}, but the run has {totalSteps}: nothing would be averaged. Start it earlier or run longer.", nameof(TrainingConfig.SwaStart));
    }

    /// <summary>The checks that need no data: lengths, intervals, thresholds and wrapper combinations.</summary>
    internal static void Check(TrainingConfig c)
    {
        if (c.Steps < 1 && c.Epochs < 1) throw new ConfigException($"Invalid number of steps {c.Steps}: must be at least 1.", nameof(TrainingConfig.Steps));
        if (c.Epochs < 0) throw new ConfigException($"Invalid number of epochs {c.Epochs}: must be at least 1.", nameof(TrainingConfig.Epochs));
        if (c.EvalEvery < 1) throw new ConfigException($"Invalid evaluation interval {c.EvalEvery}: must be at least 1.", nameof(TrainingConfig.EvalEvery));
        if (c.CheckpointEvery < 1) throw new ConfigException($"Invalid checkpoint interval {c.CheckpointEvery}: must be at least 1.", nameof(TrainingConfig.CheckpointEvery));
        if (c.ClipNorm < 0) throw new ConfigException($"Invalid gradient-norm clip {c.ClipNorm}: must be >= 0 (0 turns clipping off).", nameof(TrainingConfig.ClipNorm));
        if (c.ClipValue < 0) throw new ConfigException($"Invalid gradient-value clip {c.ClipValue}: must be >= 0 (0 turns clipping off).", nameof(TrainingConfig.ClipValue));
        if (c.Accumulate < 1) throw new ConfigException($"Invalid accumulation {c.Accumulate}: must be at least 1 minibatch per update.", nameof(TrainingConfig.Accumulate));
        if (c.Sam > 0 && c.Accumulate > 1)
            throw new ConfigException($"Choose SAM or gradient accumulation, not both: SAM's {GradientAccumulation.SecondGradient}; drop one of them.",
                nameof(TrainingConfig.Sam), nameof(TrainingConfig.Accumulate));
        if (c.Ema > 0 && c.SwaStart >= 0) throw new ConfigException("Choose one weight average: an EMA or SWA, not both.", nameof(TrainingConfig.Ema));
        if (c.EmaWarmup && c.Ema == 0) throw new ConfigException("The EMA warmup needs an EMA decay.", nameof(TrainingConfig.EmaWarmup));
        if (c.SamAdaptive && c.Sam == 0) throw new ConfigException("Adaptive SAM needs a SAM radius rho.", nameof(TrainingConfig.SamAdaptive));
        if (!(c.Sam >= 0) || double.IsInfinity(c.Sam)) throw new ConfigException($"Invalid SAM rho {c.Sam}: must be a finite number above 0, e.g. 0.05 (0 turns SAM off).", nameof(TrainingConfig.Sam));
        if (!(c.Ema >= 0)) throw new ConfigException($"Invalid EMA decay {c.Ema}: must be in (0, 1), e.g. 0.999 (0 turns the EMA off).", nameof(TrainingConfig.Ema));
        if (c.Threads is < 1 or > 256) throw new ConfigException($"Invalid number of threads {c.Threads}: must be from 1 to 256.", nameof(TrainingConfig.Threads));
        if (c.UpdateBn < 0) throw new ConfigException($"Invalid number of batch-norm update batches {c.UpdateBn}: must be at least 0 (0 keeps the training statistics; leave it unset for a whole pass).", nameof(TrainingConfig.UpdateBn));
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
                throw new ConfigException($"adamw_lr sets the learning rate of the AdamW beside Muon; {config.Optimizer} has no such part: drop adamw_lr and set its lr.", nameof(TrainingConfig.AdamWLr));
            var optimizer = Optimizers.Create(config.Optimizer, model.Parameters, options);
            foreach (var group in config.ParameterGroups) optimizer.AddGroup(group.Pattern, group.Hyperparameters);
            return optimizer;
        }
        if (config.ParameterGroups.Length > 0)
            throw new ConfigException("Muon already splits the parameters between itself and AdamW (their rates are lr and adamw_lr); parameter groups are not supported with it: drop them, or choose another optimizer.", nameof(TrainingConfig.ParameterGroups));
        var adamw = new AdamWOptions();
        if (config.AdamWLr is { } lr) adamw.Set("lr", lr);
        return MuonSplit.Create(model, muon, adamw);
    }

    /// <summary>
    /// Makes the learning rate of every group follow the config's schedule built from the group's own rate, as a PyTorch
    /// scheduler steps each <c>param_group</c> from its own <c>initial_lr</c>: a floor such as cosine's <c>final</c> or a
    /// plateau's <c>min</c> is the same for every group, and each group's rates are torch's to the last bit. Returns the
    /// schedule of each group. (Muon's AdamW part is a group of its own, with its own rate.)
    /// </summary>
    private Schedule[] ScheduleLearningRate(Optimizer<float> optimizer, TrainingConfig config)
    {
        var schedules = new Schedule[_groupRates.Length];
        for (int g = 0; g < schedules.Length; g++)
        {
            schedules[g] = _groupRates[g] == _learningRate ? Schedule : LearningRateSchedule(config, config.Schedule, _groupRates[g]);
            optimizer.Schedule("lr", schedules[g], optimizer.Groups[g]);
        }
        return schedules;
    }

    /// <summary>
    /// Makes every group's momentum (beta1 for the Adam family) follow the schedule's momentum cycle when it has one
    /// (<see cref="ScheduleSpec.Momentum"/>). Once SWALR takes over the rate, momentum stays where the cycle left it, as
    /// when torch steps SWALR in place of OneCycleLR.
    /// </summary>
    private void ScheduleMomentum(Optimizer<float> optimizer, TrainingConfig config)
    {
        if (MomentumSchedule(config, config.Schedule) is not { } momentum) return;
        foreach (var group in optimizer.Groups)
            optimizer.Schedule(MomentumName(group.Options, config.Optimizer, config.Schedule), momentum, group);
    }

    /// <summary>The momentum (beta1) schedule of <paramref name="spec"/> for this run's length, warmup and SWA, or null when it has none.</summary>
    private Schedule? MomentumSchedule(TrainingConfig config, string spec)
    {
        if (ScheduleSpec.Momentum(spec, TotalSteps, config.Warmup) is not { } momentum) return null;
        if (config.SwaLr is null || config.SwaStart < 0) return momentum;
        return config.SwaStart == 0 ? new Constant(momentum.At(1)) : new Sequence([momentum, new Constant(momentum.At(config.SwaStart))], [config.SwaStart]);
    }

    /// <summary>The hyperparameter a momentum cycle moves in an optimizer with <paramref name="options"/>: beta1 where it has one (torch's <c>betas</c>), else momentum; refused for optimizers with neither, as torch's OneCycleLR and CyclicLR refuse them.</summary>
    internal static string MomentumName(OptimizerOptions options, string optimizer, string schedule)
    {
        if (options.Has("beta1")) return "beta1";
        if (options.Has("momentum")) return "momentum";
        string name = schedule.Split(':')[0].Trim();
        throw new ConfigException($"{name} moves momentum against the rate, as torch's {(name == "cyclic" ? "CyclicLR" : "OneCycleLR")} does by default (cycle_momentum=True), but {optimizer} has neither momentum nor beta1: add cycle-momentum=0 to the schedule, e.g. {name}:cycle-momentum=0.", nameof(TrainingConfig.Schedule));
    }

    /// <summary>SWALR after <paramref name="regular"/>: from the first averaged update on, the rate anneals to <paramref name="swaLr"/>.</summary>
    private static SwaLR SwaSchedule(Schedule regular, TrainingConfig config, double swaLr)
    {
        if (config.SwaStart < 0)
            throw new ConfigException("The SWA learning rate needs an SWA start: SWALR takes over from the first averaged update.", nameof(TrainingConfig.SwaStart));
        var anneal = config.SwaAnneal.Trim().ToLowerInvariant() switch
        {
            "cos" => Anneal.Cosine,
            "linear" => Anneal.Linear,
            _ => throw new ConfigException($"Unknown SWA anneal '{config.SwaAnneal}': choose cos or linear.", nameof(TrainingConfig.SwaAnneal)),
        };
        return new SwaLR(regular, config.SwaStart, swaLr, config.SwaAnnealSteps, anneal);
    }

    /// <summary>The examples of <paramref name="classes"/> only (all when null), in the training and the test set.</summary>
    private static (Dataset Train, Dataset Test) OfClasses((Dataset Train, Dataset Test) data, int[]? classes)
    {
        if (classes is null) return data;
        string which = $" (classes {string.Join(",", classes)})";
        return (data.Train.OfClasses(classes, data.Train.Name + which), data.Test.OfClasses(classes, data.Test.Name + which));
    }

    /// <summary>
    /// Puts the wrappers the config asks for around <paramref name="optimizer"/>: gradient accumulation (and the clip
    /// of its mean gradient, in the model's parameter order) or SAM, then Lookahead, then weight averaging (EMA or
    /// SWA), so the average follows the weights Lookahead leaves. Without accumulation the trainer clips each gradient.
    /// </summary>
    private static void Wrap(Optimizer<float> optimizer, TrainingConfig config, IReadOnlyList<Parameter<float>> model)
    {
        if (config.Accumulate > 1) optimizer.Wrap(new GradientAccumulation<float>(config.Accumulate));
        if (config.Accumulate > 1 && (config.ClipNorm > 0 || config.ClipValue > 0))
            optimizer.Wrap(new GradientClip<float>(config.ClipNorm, config.ClipValue, model));
        if (config.Sam > 0) optimizer.Wrap(new Sam<float>(config.Sam, config.SamAdaptive));
        if (config.LookaheadK > 0) optimizer.Wrap(new Lookahead<float>(config.LookaheadK, config.LookaheadAlpha));
        if (config.Ema > 0) optimizer.Wrap(WeightAveraging<float>.Ema(config.Ema, config.EmaWarmup));
        if (config.SwaStart >= 0) optimizer.Wrap(WeightAveraging<float>.Swa(config.SwaStart));
    }

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
                int context = c.Context > 0 ? c.Context : c.Model is { } spec ? ModelSpec.Context(spec) ?? TrainingConfig.DefaultContext : TrainingConfig.DefaultContext;
                return c.Text is null ? CharText.Embedded(context) : CharText.Load(c.Text, context);
            case "csv":
                if (c.Csv is null) throw new ConfigException("CSV data needs a file: set Csv to the path of a CSV file of features and a label column.", nameof(TrainingConfig.Csv));
                var all = Csv.Load(c.Csv);
                int test = Math.Max(1, all.Count / 5);
                if (all.Count < 2) throw new InvalidDataException($"{c.Csv}: needs at least 2 rows (the last 20% are held out for testing).");
                return (all.Slice(0, all.Count - test, all.Name + "-train"), all.Slice(all.Count - test, test, all.Name + "-test"));
            default:
                throw new ConfigException($"Unknown data '{c.Data}': choose moons, mnist, fashion-mnist, csv or text.", nameof(TrainingConfig.Data));
        }
    }
}
