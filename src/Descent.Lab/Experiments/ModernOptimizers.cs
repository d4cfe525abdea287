using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>
/// Time to a validation target in the style of AlgoPerf: nine optimizers, each at its best rate from a small grid, and
/// schedule-free AdamW without a schedule against AdamW with a cosine schedule tuned to the budget.
/// </summary>
public sealed class ModernOptimizers : Experiment<ModernOptimizers.Results>
{
    /// <summary>How far below tuned AdamW + cosine schedule-free AdamW's final validation accuracy may end and still "match" (1 point).</summary>
    private const double Tolerance = 0.01;

    /// <inheritdoc/>
    public override string Name => "modern-optimizers";

    /// <inheritdoc/>
    public override string Title => "Modern optimizers: time to a validation target, and schedule-free AdamW against a tuned cosine schedule";

    /// <inheritdoc/>
    public override string Description =>
        "An MLP (784 - 64 - 64 - 10, ReLU) on the embedded MNIST digits, batch 64, 300 steps (--full: the cnn preset for 2,000 steps with 3 seeds), " +
        "trained by SGD with Nesterov momentum 0.9, AdamW, Muon (hidden matrices) + AdamW (the rest, at 1/20 of Muon's rate), SOAP, Shampoo " +
        "(Adam grafting, preconditioners refreshed every 10 steps, blocks of at most 128), Lion, ADOPT and Prodigy, each with a cosine decay to 0 over " +
        "the run, and schedule-free AdamW with no schedule at all. Each optimizer is tried at its usual rate times 1/3, 1 and 3 (--full: 1/10 to 10) and " +
        "reported at the rate that reaches the target first (fewest median steps; ties by final accuracy). The target is fixed in advance: 90% " +
        "validation accuracy on the first 1,000 test digits (--full: 98% on all 2,000). Validation is every 15 steps (--full: 100), so steps to target " +
        "are multiples of that. Wall time is each run's own training time, without its evaluations, summed up to the evaluation that first reached " +
        "the target; runs go two at a time on two cores, each on its own core, so their times are comparable with one another (not with a machine " +
        "to itself). Schedule-free claim: schedule-free AdamW at its best grid rate against AdamW + cosine at its best grid rate (both by final " +
        "validation accuracy), judged as at most 1 point lower in every seed.";

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
        // The 784-wide input side of the first layer would make SOAP's and Shampoo's eigendecompositions dominate: it is left out (SOAP) or split (Shampoo).
        new("soap", "SOAP", 3e-3, "cosine", new Dictionary<string, double> { ["max_precond_dim"] = 128 }),
        new("shampoo", "Shampoo", 3e-3, "cosine", new Dictionary<string, double> { ["precondition_frequency"] = 10, ["max_preconditioner_dim"] = 128 }),
        new("lion", "Lion", 3e-4, "cosine", new Dictionary<string, double>()),
        new("adopt", "ADOPT", 1e-3, "cosine", new Dictionary<string, double>()),
        new("prodigy", "Prodigy", 1, "cosine", new Dictionary<string, double>()),
    ];

    /// <summary>The factors on each optimizer's usual rate that make its grid.</summary>
    public static double[] Factors(Workbench bench) => bench.Pick<double[]>([1.0 / 3, 3], [1.0 / 3, 1, 3], [0.1, 1.0 / 3, 1, 3, 10]);

    /// <summary>The validation accuracy every run aims at.</summary>
    public static double Target(Workbench bench) => bench.Pick(0.5, 0.9, 0.98);

    /// <summary>One run's settings.</summary>
    /// <param name="Contender">The index in <see cref="Contenders"/>.</param>
    /// <param name="Lr">The learning rate.</param>
    /// <param name="Seed">The repetition (added to the base seed).</param>
    public sealed record Setting(int Contender, double Lr, int Seed);

    /// <summary>A finished (or stopped) run.</summary>
    /// <param name="Setting">What was run.</param>
    /// <param name="Steps">The steps at which it was evaluated.</param>
    /// <param name="Accuracy">The validation accuracy at each of <paramref name="Steps"/>.</param>
    /// <param name="Seconds">Training time up to each of <paramref name="Steps"/>, without evaluations.</param>
    /// <param name="DivergedAt">The step at which the loss exploded and the run stopped, or 0.</param>
    public sealed record Trial(Setting Setting, double[] Steps, double[] Accuracy, double[] Seconds, long DivergedAt)
    {
        /// <summary>The accuracy at the end; a run stopped because its loss exploded counts as chance (0).</summary>
        public double Final => DivergedAt > 0 || Accuracy.Length == 0 ? 0 : Accuracy[^1];

        /// <summary>The step and training seconds at the first evaluation at or above <paramref name="target"/>, or null if none is.</summary>
        public (double Step, double Seconds)? Reached(double target)
        {
            int i = Array.FindIndex(Accuracy, a => a >= target);
            return i < 0 ? null : (Steps[i], Seconds[i]);
        }
    }

    /// <summary>Every run and each optimizer's chosen rates.</summary>
    /// <param name="Runs">The runs, <c>[seed][contender][rate]</c>.</param>
    /// <param name="Rates">The grid of each contender, <c>[contender][rate]</c>.</param>
    /// <param name="Fastest">Each contender's rate index that reaches the target first (fewest median steps; ties by median final accuracy).</param>
    /// <param name="MostAccurate">Each contender's rate index with the best median final accuracy.</param>
    /// <param name="Target">The validation accuracy aimed at.</param>
    public sealed record Results(Trial[][][] Runs, double[][] Rates, int[] Fastest, int[] MostAccurate, double Target);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        int seeds = Math.Max(bench.Seeds, bench.Pick(1, 1, 3));
        var factors = Factors(bench);
        double target = Target(bench);
        double[][] rates = [.. Contenders.Select(c => factors.Select(f => c.Rate * f).ToArray())];
        var settings = Enumerable.Range(0, seeds).SelectMany(seed => Enumerable.Range(0, Contenders.Count)
            .SelectMany(c => rates[c].Select(lr => new Setting(c, lr, seed)))).ToList();
        bench.Say($"{Name}: {settings.Count} runs ({Contenders.Count} optimizers x {factors.Length} rates x {seeds} seed(s))");
        var runs = bench.RunAll(settings, s => Train(bench, s), s => Contenders[s.Contender].Optimizer is "soap" or "shampoo" or "muon" ? 2 : 1);
        var grid = runs.Chunk(Contenders.Count * factors.Length).Select(s => s.Chunk(factors.Length).ToArray()).ToArray();
        double Median(int c, int r, Func<Trial, double> f) => Spread.Of(grid.Select(s => f(s[c][r]))).Median;
        var fastest = Enumerable.Range(0, Contenders.Count).Select(c => Enumerable.Range(0, factors.Length)
            .OrderBy(r => Median(c, r, x => x.Reached(target)?.Step ?? double.PositiveInfinity)).ThenByDescending(r => Median(c, r, x => x.Final)).First()).ToArray();
        var accurate = Enumerable.Range(0, Contenders.Count).Select(c => Enumerable.Range(0, factors.Length).MaxBy(r => Median(c, r, x => x.Final))).ToArray();
        return new Results(grid, rates, fastest, accurate, target);
    }

    /// <summary>The training config of <paramref name="setting"/> at the bench's scale: the MLP, or at full scale the CNN experiments' cnn preset.</summary>
    public static TrainingConfig Config(Workbench bench, Setting setting)
    {
        var c = Contenders[setting.Contender];
        var task = bench.Scale == Scale.Full
            ? CnnRuns.Config(bench, new CnnRuns.Setting("mnist", "adam", setting.Lr, setting.Seed))
            : new TrainingConfig { Data = "mnist", DataDir = bench.MnistDir, Model = "mlp:64,64", Loss = "cross-entropy", Batch = 64, Seed = 6 + (ulong)setting.Seed };
        return task with
        {
            Optimizer = c.Optimizer,
            Hyperparameters = new(c.Options) { ["lr"] = setting.Lr },
            // Muon's AdamW part keeps AdamW's usual 1e-3 at Muon's usual 0.02, and moves with Muon's rate across the grid.
            AdamWLr = c.Optimizer == "muon" ? setting.Lr / 20 : null,
            Schedule = c.Schedule,
            Steps = bench.Pick(12L, 300L, 2000L),
            Epochs = 0,
        };
    }

    /// <summary>
    /// Trains one run through the training loop, one evaluation interval at a time so that each evaluation's training time is known;
    /// it stops when the loss explodes (a minibatch loss not finite or above three times chance, 3 ln 10).
    /// </summary>
    private static Trial Train(Workbench bench, Setting setting)
    {
        var trainer = new Trainer(Config(bench, setting));
        var validation = trainer.Test.Slice(0, Math.Min(trainer.Test.Count, bench.Pick(200, 1000, int.MaxValue)));
        long every = bench.Pick(4L, 15L, 100L);
        var log = new MetricsLog();
        var loop = new TrainingLoop(trainer, log)
        {
            EvalEvery = every,
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
            var outcome = loop.Run(trainer.Step + every);   // ends at an evaluation: a multiple of the interval or the run's last step
            training += outcome.TrainingSeconds;
            if (outcome.Divergence is { } d)
            {
                diverged = d.Step;
                break;
            }
            seconds.Add(training);
        }
        var rows = log.Rows;
        return new Trial(setting, [.. rows.Select(r => (double)r.Step)], [.. rows.Select(r => r.TestAccuracy)], [.. seconds], diverged);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        int seeds = data.Runs.Length;
        var plot = Figures.New($"Validation accuracy, each optimizer at its fastest grid rate ({TaskName(bench)})", "step", "validation accuracy");
        double lowest = 1;
        for (int c = 0; c < Contenders.Count; c++)
        {
            int k = c, r = data.Fastest[c];
            var runs = data.Runs.Select(s => s[k][r]).ToArray();
            string label = $"{Contenders[c].Label}, lr {Numbers.Format(data.Rates[c][r])}";
            if (runs.Any(x => x.DivergedAt > 0))
            {
                bench.Say($"{Name}: {label} stopped early in some seed; not drawn");
                continue;
            }
            var curve = Figures.SeedCurves(plot, runs[0].Steps, [.. runs.Select(x => x.Accuracy)], Figures.Palette[c], label);
            if (Contenders[c].Schedule == "constant") curve.LinePattern = LinePattern.Dashed;
            lowest = Math.Min(lowest, runs.Min(x => x.Accuracy.Length > 1 ? x.Accuracy[1] : x.Accuracy[0]));
        }
        var line = plot.Add.HorizontalLine(data.Target);
        line.Color = Colors.Black;
        line.LinePattern = LinePattern.Dotted;
        line.LegendText = $"target {Numbers.Percent(data.Target)}";
        plot.Axes.SetLimitsY(Math.Max(0, Math.Min(lowest, data.Target) - 0.05), 1);
        Figures.LegendOutside(plot);
        bench.Add(this, "modern-optimizers-accuracy", $"Validation accuracy of each optimizer at the grid rate that reaches the {Numbers.Percent(data.Target)} target first " +
            "(dotted line); schedule-free AdamW (dashed) has no schedule, the others decay by a cosine to 0 over the run" +
            (seeds > 1 ? $"; median over {seeds} seeds, their range as a band." : "."), plot, 1000, 520);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        bench.Measure(this, "how wall time is measured", "each run's training time (its steps, without evaluations) up to the first evaluation at or above the target; " +
            $"runs go {bench.Threads} at a time on {Environment.ProcessorCount} core(s), one per core");
        for (int c = 0; c < Contenders.Count; c++)
        {
            int k = c, r = data.Fastest[c];
            var runs = data.Runs.Select(s => s[k][r]).ToArray();
            var reached = runs.Select(x => x.Reached(data.Target)).ToArray();
            string time = reached.All(x => x is not null)
                ? $"{Spread.Of(reached.Select(x => x!.Value.Step)).Format(v => Numbers.Format(v))} steps, {Spread.Of(reached.Select(x => x!.Value.Seconds)).Format(v => Numbers.Format(v) + " s")}"
                : $"not reached in {reached.Count(x => x is null)} of {runs.Length} seed(s)";
            bench.Measure(this, $"{Contenders[c].Label} at lr {Numbers.Format(data.Rates[c][r])} (grid {string.Join(", ", data.Rates[c].Select(v => Numbers.Format(v)))}): " +
                $"steps and training seconds to {Numbers.Percent(data.Target)}, final validation accuracy",
                $"{time}; {Spread.Of(runs.Select(x => x.Final)).Format(Numbers.Percent)}");
        }

        int adamw = 1, free = 2;
        var cosine = data.Runs.Select(s => s[adamw][data.MostAccurate[adamw]]).ToArray();
        var scheduleFree = data.Runs.Select(s => s[free][data.MostAccurate[free]]).ToArray();
        bench.Claim(this, "schedule-free AdamW, without knowing the training length, matches AdamW with a cosine schedule tuned to it (Defazio et al., 2024)",
            $"final validation accuracy at each one's best grid rate, schedule-free AdamW (lr {Numbers.Format(data.Rates[free][data.MostAccurate[free]])}) minus AdamW + cosine (lr {Numbers.Format(data.Rates[adamw][data.MostAccurate[adamw]])})",
            [.. scheduleFree.Zip(cosine, (f, a) => f.Final - a.Final)], Numbers.Points, $"at least -{Numbers.Points(Tolerance)} in every seed", v => v >= -Tolerance,
            $"{Numbers.Percent(scheduleFree[0].Final)} vs {Numbers.Percent(cosine[0].Final)} in the first seed");
    }

    private static string TaskName(Workbench bench) => bench.Scale == Scale.Full ? "CNN on MNIST digits" : "MLP on MNIST digits";
}
