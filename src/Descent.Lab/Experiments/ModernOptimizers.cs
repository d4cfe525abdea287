using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>
/// Time to a validation target in the style of AlgoPerf, on two tasks (an image classifier and a character-level
/// transformer): nine optimizers, each at its best rate from a small grid, and schedule-free AdamW without a schedule
/// against AdamW with a cosine schedule tuned to the budget.
/// </summary>
public sealed class ModernOptimizers : Experiment<ModernOptimizers.Results>
{
    /// <inheritdoc/>
    public override string Name => "modern-optimizers";

    /// <inheritdoc/>
    public override string Title => "Modern optimizers: time to a validation target, and schedule-free AdamW against a tuned cosine schedule";

    /// <inheritdoc/>
    public override string Description =>
        "Two tasks: a small CNN (conv 8 5x5 stride 2 - ReLU - conv 16 3x3 stride 2 - ReLU - dense 64 - ReLU - dense 10) on the embedded MNIST " +
        "digits, batch 64, 300 steps, target 93% validation accuracy on the first 1,000 test digits (--full: the cnn preset, 2,000 steps, 98% on " +
        "all 2,000); and a pre-LN transformer (2 layers, d 32, 4 heads, " +
        "context 32; --full: d 64, context 64) on the embedded fortunes text, batch 16, 300 steps (--full: 2,000), target 2.6 nats per character " +
        "on the first 256 test windows (--full: 2.0 on all). Each is trained by SGD with Nesterov momentum 0.9, AdamW, Muon (hidden matrices) + " +
        "AdamW (the rest, at 1/20 of Muon's rate), SOAP, Shampoo (Adam grafting, preconditioners refreshed every 10 steps, blocks of at most 128), " +
        "Lion, ADOPT and Prodigy, each with a cosine decay to 0 over the run and no warmup (the transformer is pre-LN, which trains without one: " +
        "see transformer-warmup), and schedule-free AdamW with no schedule at all. Each optimizer is tried at its usual rate times 1/3, 1, 3, 10 and 30 " +
        "(--full: 1/10 to 30 in half decades) and reported at the rate that reaches the target first (fewest median steps; ties by the final " +
        "validation metric). The targets are fixed before the reported runs, each from one pilot run of AdamW (the CNN's at 0.01, which ended at 94.9%; " +
        "the transformer's at 3e-3, which ended at 2.53). Validation is every 15 steps (--full: 100), so steps to target are multiples of that. Wall time is each run's own training time, " +
        "without its evaluations, summed up to the evaluation that first reached the target; runs go two at a time on two cores, each on its own " +
        "core, so their times are comparable with one another (not with a machine to itself). Schedule-free claim, per task: schedule-free AdamW " +
        "at its best grid rate against AdamW + cosine at its best grid rate (both by the final validation metric), judged as at most 1 point of " +
        "accuracy lower, or at most 0.02 nats per character higher, in every seed.";

    /// <summary>A task of the comparison.</summary>
    /// <param name="Name">Its name in figure names: <c>cnn</c> or <c>transformer</c>.</param>
    /// <param name="Label">Its name in figures and the summary.</param>
    /// <param name="Text">Whether it is next-character prediction, judged by the validation loss (lower is better); otherwise classification, judged by accuracy.</param>
    /// <param name="Target">The validation accuracy to reach, or the validation loss to get below.</param>
    /// <param name="Tolerance">How much worse than tuned AdamW + cosine schedule-free AdamW's final validation metric may be and still "match".</param>
    /// <param name="Steps">Steps of every run.</param>
    /// <param name="Every">Steps between validations.</param>
    /// <param name="Validation">Test examples (text: windows) each validation reads, the first ones.</param>
    public sealed record Task(string Name, string Label, bool Text, double Target, double Tolerance, long Steps, long Every, int Validation)
    {
        /// <summary>Whether <paramref name="value"/> of the validation metric is at or beyond the target.</summary>
        public bool Reaches(double value) => Text ? value <= Target : value >= Target;

        /// <summary>The metric as a score, higher better.</summary>
        public double Score(double value) => Text ? -value : value;

        /// <summary>The metric formatted: a percentage, or nats per character.</summary>
        public string Format(double value) => Text ? Numbers.Format(value) : Numbers.Percent(value);
    }

    /// <summary>The tasks at the bench's scale.</summary>
    public static IReadOnlyList<Task> Tasks(Workbench bench) => bench.Pick<Task[]>(
        [new("cnn", "small CNN on MNIST digits", false, 0.5, 0.01, 12, 4, 200), new("transformer", "transformer on fortunes text", true, 3.5, 0.02, 12, 4, 16)],
        [new("cnn", "small CNN on MNIST digits", false, 0.93, 0.01, 300, 15, 1000), new("transformer", "transformer on fortunes text", true, 2.6, 0.02, 300, 15, 256)],
        [new("cnn", "CNN on MNIST digits", false, 0.98, 0.01, 2000, 100, int.MaxValue), new("transformer", "transformer on fortunes text", true, 2.0, 0.02, 2000, 100, int.MaxValue)]);

    /// <summary>An optimizer of the comparison.</summary>
    /// <param name="Optimizer">Its name as <c>descent train --optimizer</c> takes it.</param>
    /// <param name="Label">Its name in figures and the summary.</param>
    /// <param name="Rate">The centre of its rate grid: its usual rate.</param>
    /// <param name="Schedule"><c>cosine</c>, or <c>constant</c> for schedule-free AdamW.</param>
    /// <param name="Options">Hyperparameters besides the rate.</param>
    public sealed record Contender(string Optimizer, string Label, double Rate, string Schedule, IReadOnlyDictionary<string, double> Options);

    /// <summary>The optimizers compared, in report order.</summary>
    public static IReadOnlyList<Contender> Contenders { get; } =
    [
        new("sgd", "SGD + Nesterov 0.9", 0.03, "cosine", new Dictionary<string, double> { ["momentum"] = 0.9, ["nesterov"] = 1 }),
        new("adamw", "AdamW + cosine", 1e-3, "cosine", new Dictionary<string, double>()),
        new("schedule-free-adamw", "schedule-free AdamW", 3e-3, "constant", new Dictionary<string, double>()),
        new("muon", "Muon + AdamW", 0.02, "cosine", new Dictionary<string, double>()),
        // Sides over 128 (the CNN's flattened 400 inputs, the full-scale CNN's 3,136) would make SOAP's and Shampoo's eigendecompositions dominate: they are left out (SOAP) or split (Shampoo).
        new("soap", "SOAP", 3e-3, "cosine", new Dictionary<string, double> { ["max_precond_dim"] = 128 }),
        new("shampoo", "Shampoo", 3e-3, "cosine", new Dictionary<string, double> { ["precondition_frequency"] = 10, ["max_preconditioner_dim"] = 128 }),
        new("lion", "Lion", 3e-4, "cosine", new Dictionary<string, double>()),
        new("adopt", "ADOPT", 1e-3, "cosine", new Dictionary<string, double>()),
        new("prodigy", "Prodigy", 1, "cosine", new Dictionary<string, double>()),
    ];

    /// <summary>The factors on each optimizer's usual rate that make its grid.</summary>
    public static double[] Factors(Workbench bench) => bench.Pick<double[]>([1.0 / 3, 3], [1.0 / 3, 1, 3, 10, 30], [0.1, 1.0 / 3, 1, 3, 10, 30]);

    /// <summary>One run's settings.</summary>
    /// <param name="Task">The index in <see cref="Tasks"/>.</param>
    /// <param name="Contender">The index in <see cref="Contenders"/>.</param>
    /// <param name="Lr">The learning rate.</param>
    /// <param name="Seed">The repetition (added to the base seed).</param>
    public sealed record Setting(int Task, int Contender, double Lr, int Seed);

    /// <summary>A finished (or stopped) run.</summary>
    /// <param name="Setting">What was run.</param>
    /// <param name="Steps">The steps at which it was evaluated.</param>
    /// <param name="Metric">The validation metric at each of <paramref name="Steps"/>: accuracy, or for text the loss.</param>
    /// <param name="Seconds">Training time up to each of <paramref name="Steps"/>, without evaluations.</param>
    /// <param name="DivergedAt">The step at which the loss exploded and the run stopped, or 0.</param>
    /// <param name="Chance">The metric of guessing uniformly (accuracy 0 counts for classification, ln V for text), what a stopped run ends at.</param>
    public sealed record Trial(Setting Setting, double[] Steps, double[] Metric, double[] Seconds, long DivergedAt, double Chance)
    {
        /// <summary>The metric at the end; a run stopped because its loss exploded counts as <see cref="Chance"/>.</summary>
        public double Final => DivergedAt > 0 || Metric.Length == 0 ? Chance : Metric[^1];

        /// <summary>The step and training seconds at the first evaluation that reaches <paramref name="task"/>'s target, or null if none does.</summary>
        public (double Step, double Seconds)? Reached(Task task)
        {
            int i = Array.FindIndex(Metric, task.Reaches);
            return i < 0 ? null : (Steps[i], Seconds[i]);
        }
    }

    /// <summary>Every run of one task and each optimizer's chosen rates.</summary>
    /// <param name="Task">The task.</param>
    /// <param name="Runs">The runs, <c>[seed][contender][rate]</c>.</param>
    /// <param name="Rates">The grid of each contender, <c>[contender][rate]</c>.</param>
    /// <param name="Fastest">Each contender's rate index that reaches the target first (fewest median steps; ties by the median final metric).</param>
    /// <param name="Best">Each contender's rate index with the best median final metric.</param>
    public sealed record TaskResults(Task Task, Trial[][][] Runs, double[][] Rates, int[] Fastest, int[] Best);

    /// <summary>The results of every task, in <see cref="Tasks"/> order.</summary>
    public sealed record Results(TaskResults[] Tasks);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        int seeds = Math.Max(bench.Seeds, bench.Pick(1, 1, 3));
        var factors = Factors(bench);
        var tasks = Tasks(bench);
        double[][] rates = [.. Contenders.Select(c => factors.Select(f => c.Rate * f).ToArray())];
        var settings = Enumerable.Range(0, tasks.Count).SelectMany(t => Enumerable.Range(0, seeds).SelectMany(seed => Enumerable.Range(0, Contenders.Count)
            .SelectMany(c => rates[c].Select(lr => new Setting(t, c, lr, seed))))).ToList();
        bench.Say($"{Name}: {settings.Count} runs ({tasks.Count} tasks x {Contenders.Count} optimizers x {factors.Length} rates x {seeds} seed(s))");
        var runs = bench.RunKept("modern-optimizers", settings, s => Train(bench, s), s => (tasks[s.Task].Text ? 2 : 1) * (Contenders[s.Contender].Optimizer is "soap" or "shampoo" or "muon" ? 2 : 1));
        var results = runs.Chunk(runs.Length / tasks.Count).Select((task, t) =>
        {
            var grid = task.Chunk(Contenders.Count * factors.Length).Select(s => s.Chunk(factors.Length).ToArray()).ToArray();
            double Median(int c, int r, Func<Trial, double> f) => Spread.Of(grid.Select(s => f(s[c][r]))).Median;
            var fastest = Enumerable.Range(0, Contenders.Count).Select(c => Enumerable.Range(0, factors.Length)
                .OrderBy(r => Median(c, r, x => x.Reached(tasks[t])?.Step ?? double.PositiveInfinity))
                .ThenByDescending(r => Median(c, r, x => tasks[t].Score(x.Final))).First()).ToArray();
            var best = Enumerable.Range(0, Contenders.Count).Select(c => Enumerable.Range(0, factors.Length).MaxBy(r => Median(c, r, x => tasks[t].Score(x.Final)))).ToArray();
            return new TaskResults(tasks[t], grid, rates, fastest, best);
        }).ToArray();
        return new Results(results);
    }

    /// <summary>The training config of <paramref name="setting"/> at the bench's scale.</summary>
    public static TrainingConfig Config(Workbench bench, Setting setting)
    {
        var c = Contenders[setting.Contender];
        var task = Tasks(bench)[setting.Task];
        var config = task.Name switch
        {
            "cnn" when bench.Scale == Scale.Full => CnnRuns.Config(bench, new CnnRuns.Setting("mnist", "adam", setting.Lr, setting.Seed)),
            // Strided convolutions keep it near the cost of a small MLP; the hidden dense layer gives Muon a matrix (it leaves convolution kernels to AdamW).
            "cnn" => new TrainingConfig
            {
                Data = "mnist",
                DataDir = bench.MnistDir,
                Model = "conv:8,k=5,s=2-relu-conv:16,k=3,s=2-relu-flatten-linear:64-relu-linear",
                Loss = "cross-entropy",
                Batch = 64,
                Seed = 6 + (ulong)setting.Seed,
            },
            _ => new TrainingConfig
            {
                Data = "text",
                Model = bench.Pick("transformer:layers=1,d=16,heads=2,ctx=16", "transformer:layers=2,d=32,heads=4,ctx=32", "transformer:layers=2,d=64,heads=4,ctx=64") + ",norm=pre",
                Loss = "cross-entropy",
                Batch = bench.Pick(8, 16, 32),
                Seed = 21 + (ulong)setting.Seed,
            },
        };
        return config with
        {
            Optimizer = c.Optimizer,
            Hyperparameters = new(c.Options) { ["lr"] = setting.Lr },
            // Muon's AdamW part keeps AdamW's usual 1e-3 at Muon's usual 0.02, and moves with Muon's rate across the grid.
            AdamWLr = c.Optimizer == "muon" ? setting.Lr / 20 : null,
            Schedule = c.Schedule,
            Steps = task.Steps,
            Epochs = 0,
        };
    }

    /// <summary>
    /// Trains one run through the training loop, one evaluation interval at a time so that each evaluation's training time is known;
    /// it stops when the loss explodes (a minibatch loss not finite or above three times that of uniform guessing, 3 ln V for V classes).
    /// </summary>
    private static Trial Train(Workbench bench, Setting setting)
    {
        var task = Tasks(bench)[setting.Task];
        var trainer = new Trainer(Config(bench, setting));
        var validation = trainer.Test.Slice(0, Math.Min(trainer.Test.Count, task.Validation));
        var log = new MetricsLog();
        var loop = new TrainingLoop(trainer, log)
        {
            EvalEvery = task.Every,
            CheckpointEvery = 0,
            EvaluateTrain = null,
            EvaluateTest = validation,
            DivergenceThreshold = 3 * Math.Log(trainer.Train.Classes),
        };
        var seconds = new List<double>();
        double training = 0;
        long diverged = 0;
        while (trainer.Step < trainer.TotalSteps)
        {
            var outcome = loop.Run(trainer.Step + task.Every);   // ends at an evaluation: a multiple of the interval or the run's last step
            training += outcome.TrainingSeconds;
            if (outcome.Divergence is { } d)
            {
                diverged = d.Step;
                break;
            }
            seconds.Add(training);
        }
        var rows = log.Rows;
        return new Trial(setting, [.. rows.Select(r => (double)r.Step)], [.. rows.Select(r => task.Text ? r.TestLoss : r.TestAccuracy)], [.. seconds], diverged,
            task.Text ? Math.Log(trainer.Train.Classes) : 0);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        foreach (var t in data.Tasks) Draw(bench, t);
    }

    private void Draw(Workbench bench, TaskResults data)
    {
        var task = data.Task;
        int seeds = data.Runs.Length;
        var plot = Figures.New($"Each optimizer at its fastest grid rate ({task.Label})", "step", task.Text ? "validation loss (nats per character)" : "validation accuracy");
        double far = task.Target;
        for (int c = 0; c < Contenders.Count; c++)
        {
            int k = c, r = data.Fastest[c];
            var runs = data.Runs.Select(s => s[k][r]).ToArray();
            string label = $"{Contenders[c].Label}, lr {Numbers.Format(data.Rates[c][r])}";
            if (runs.Any(x => x.DivergedAt > 0))
            {
                bench.Say($"{Name}: {task.Name}: {label} stopped early in some seed; not drawn");
                continue;
            }
            var curve = Figures.SeedCurves(plot, runs[0].Steps, [.. runs.Select(x => x.Metric)], Figures.Palette[c], label);
            if (Contenders[c].Schedule == "constant") curve.LinePattern = LinePattern.Dashed;
            // The axis shows every curve from its third evaluation on, where the optimizers have left the first steep fall behind.
            var third = runs.Select(x => x.Metric[Math.Min(2, x.Metric.Length - 1)]);
            far = task.Text ? Math.Max(far, third.Max()) : Math.Min(far, third.Min());
        }
        var line = plot.Add.HorizontalLine(task.Target);
        line.Color = Colors.Black;
        line.LinePattern = LinePattern.Dotted;
        line.LegendText = $"target {task.Format(task.Target)}";
        if (task.Text)
        {
            double low = data.Runs.SelectMany(s => s.SelectMany(c => c)).Where(x => x.DivergedAt == 0).Min(x => x.Metric.Min());
            plot.Axes.SetLimitsY(Math.Max(0, Math.Min(low, task.Target) - 0.1), far + 0.1);
        }
        else plot.Axes.SetLimitsY(Math.Max(0, far - 0.05), 1);
        Figures.LegendOutside(plot);
        string name = $"modern-optimizers-{task.Name}";
        bench.Add(this, name, $"{task.Label}: validation {(task.Text ? "loss" : "accuracy")} of each optimizer at the grid rate that reaches the " +
            $"{task.Format(task.Target)} target first (dotted line); schedule-free AdamW (dashed) has no schedule, the others decay by a cosine to 0 over the run" +
            (seeds > 1 ? $"; median over {seeds} seeds, their range as a band." : "."), plot, 1000, 520);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        bench.Measure(this, "how wall time is measured", "each run's training time (its steps, without evaluations) up to the first evaluation that reaches the target; " +
            $"runs go {bench.Threads} at a time on {Environment.ProcessorCount} core(s), one per core");
        foreach (var t in data.Tasks) Judge(bench, t);
    }

    private void Judge(Workbench bench, TaskResults data)
    {
        var task = data.Task;
        string metric = task.Text ? "validation loss" : "validation accuracy";
        for (int c = 0; c < Contenders.Count; c++)
        {
            int k = c, r = data.Fastest[c];
            var runs = data.Runs.Select(s => s[k][r]).ToArray();
            var reached = runs.Select(x => x.Reached(task)).ToArray();
            string time = reached.All(x => x is not null)
                ? $"{Spread.Of(reached.Select(x => x!.Value.Step)).Format(v => Numbers.Format(v))} steps, {Spread.Of(reached.Select(x => x!.Value.Seconds)).Format(v => Numbers.Format(v) + " s")}"
                : $"not reached in {reached.Count(x => x is null)} of {runs.Length} seed(s)";
            bench.Measure(this, $"{task.Label}: {Contenders[c].Label} at lr {Numbers.Format(data.Rates[c][r])} (grid {string.Join(", ", data.Rates[c].Select(v => Numbers.Format(v)))}): " +
                $"steps and training seconds to {task.Format(task.Target)}, final {metric}",
                $"{time}; {Spread.Of(runs.Select(x => x.Final)).Format(task.Format)}");
        }

        int adamw = 1, free = 2;
        var cosine = data.Runs.Select(s => s[adamw][data.Best[adamw]]).ToArray();
        var scheduleFree = data.Runs.Select(s => s[free][data.Best[free]]).ToArray();
        // Positive: schedule-free better (more accurate, or lower loss).
        var margins = scheduleFree.Zip(cosine, (f, a) => task.Score(f.Final) - task.Score(a.Final)).ToArray();
        bench.Claim(this, $"{task.Label}: schedule-free AdamW, without knowing the training length, matches AdamW with a cosine schedule tuned to it (Defazio et al., 2024)",
            $"final {metric} at each one's best grid rate, schedule-free AdamW (lr {Numbers.Format(data.Rates[free][data.Best[free]])}) " +
            $"{(task.Text ? "below" : "minus")} AdamW + cosine (lr {Numbers.Format(data.Rates[adamw][data.Best[adamw]])})",
            margins, task.Text ? v => Numbers.Format(v) : Numbers.Points,
            $"at least -{(task.Text ? Numbers.Format(task.Tolerance) : Numbers.Points(task.Tolerance))} in every seed", v => v >= -task.Tolerance,
            $"{task.Format(scheduleFree[0].Final)} vs {task.Format(cosine[0].Final)} in the first seed");
    }
}
