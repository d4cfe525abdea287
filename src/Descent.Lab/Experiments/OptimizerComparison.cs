using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Five optimizers on a small MNIST network, and how sensitive Adam and SGD are to the learning rate.</summary>
public sealed class OptimizerComparison : Experiment<OptimizerComparison.Results>
{
    /// <inheritdoc/>
    public override string Name => "optimizer-comparison";

    /// <inheritdoc/>
    public override string Title => "Optimizers compared on a small MNIST network";

    /// <inheritdoc/>
    public override string Description =>
        "A 784-64-10 ReLU network on the MNIST digits, batch 64, trained by SGD, SGD with momentum 0.9, RMSProp, Adam and AdamW at customary learning rates; " +
        "then Adam and plain SGD each at learning rates 1e-4, 1e-3, 1e-2 and 1e-1. Adaptive methods make fast early progress; Adam works over a wide range " +
        "of small rates, while SGD needs a large one.";

    private static TrainingConfig Config(Workbench bench, string optimizer, Dictionary<string, double> hyper, int seed) => new()
    {
        Data = "mnist",
        DataDir = bench.MnistDir,
        Hidden = [64],
        Activation = "relu",
        Optimizer = optimizer,
        Hyperparameters = hyper,
        Batch = 64,
        Epochs = bench.Pick(1, 15, 40),
        Seed = 4 + (ulong)seed,
    };

    private static readonly (string Label, string Optimizer, Dictionary<string, double> Hyper)[] Compared =
    [
        ("SGD lr 0.1", "sgd", new() { ["lr"] = 0.1 }),
        ("SGD + momentum 0.9, lr 0.01", "sgd", new() { ["lr"] = 0.01, ["momentum"] = 0.9 }),
        ("RMSProp lr 1e-3", "rmsprop", new() { ["lr"] = 1e-3 }),
        ("Adam lr 1e-3", "adam", new() { ["lr"] = 1e-3 }),
        ("AdamW lr 1e-3, wd 1e-2", "adamw", new() { ["lr"] = 1e-3, ["weight_decay"] = 1e-2 }),
    ];

    private static readonly double[] Rates = [1e-4, 1e-3, 1e-2, 1e-1];

    private static readonly (string Optimizer, double Lr)[] Sweep = [.. Rates.SelectMany(lr => new[] { (Optimizer: "adam", Lr: lr), (Optimizer: "sgd", Lr: lr) })];

    /// <summary>The compared runs and the learning-rate sweep's accuracies.</summary>
    /// <param name="Runs">The compared optimizers' runs, <c>[seed][optimizer]</c>.</param>
    /// <param name="SweptAccuracy">The validation accuracy of each sweep cell, <c>[seed][cell]</c>.</param>
    public sealed record Results(Classifiers.Run[][] Runs, double[][] SweptAccuracy);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var (compared, sweep) = (Compared, Sweep);
        // The compared runs draw curves (30 evaluations); the sweep needs only each run's final accuracy (one).
        var configs = Enumerable.Range(0, bench.Seeds).SelectMany(seed =>
            compared.Select(c => (Config: Config(bench, c.Optimizer, c.Hyper, seed), Points: 30))
                .Concat(sweep.Select(r => (Config: Config(bench, r.Optimizer, new() { ["lr"] = r.Lr }, seed), Points: 1)))).ToArray();
        bench.Say($"{Name}: {configs.Length} runs");
        var all = Classifiers.TrainAll(bench, configs).Chunk(compared.Length + sweep.Length).ToArray();
        var runs = all.Select(a => a[..compared.Length]).ToArray();     // [seed][optimizer]
        var swept = all.Select(a => a[compared.Length..]).ToArray();    // [seed][sweep cell]
        var sweptAccuracy = swept.Select(seed => seed.Select(r => r.TestAccuracy).ToArray()).ToArray();
        return new Results(runs, sweptAccuracy);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var (compared, sweep, rates, runs, sweptAccuracy) = (Compared, Sweep, Rates, data.Runs, data.SweptAccuracy);
        string seedsNote = bench.Seeds > 1 ? $"; median over {bench.Seeds} seeds, their range as a band" : "";
        foreach (var (title, pick, name) in new[] { ("Training loss", 0, "train"), ("Validation loss (held-out digits)", 1, "validation") })
        {
            var plot = Figures.New(title, "step", "cross-entropy");
            for (int i = 0; i < compared.Length; i++)
                Figures.SeedCurves(plot, runs[0][i].Steps, [.. runs.Select(r => pick == 0 ? r[i].TrainLoss : r[i].TestLoss)], Figures.Palette[i], compared[i].Label, Math.Log10);
            Figures.LogY(plot);
            plot.ShowLegend(Alignment.UpperRight);
            bench.Add(this, $"comparison-{name}-loss", $"{title} of five optimizers on a 784-64-10 network{seedsNote}.", plot);
        }

        var sensitivity = Figures.New("Learning-rate sensitivity: validation accuracy after training", "learning rate", "accuracy");
        foreach (var (optimizer, label, color) in new[] { ("adam", "Adam", Figures.Palette[3]), ("sgd", "SGD", Figures.Palette[0]) })
        {
            var idx = Enumerable.Range(0, sweep.Length).Where(i => sweep[i].Optimizer == optimizer).ToArray();
            Figures.SeedCurves(sensitivity, [.. idx.Select(i => Math.Log10(sweep[i].Lr))], [.. sweptAccuracy.Select(a => idx.Select(i => a[i]).ToArray())], color, label, markers: true);
        }
        Figures.LogX(sensitivity, rates);
        sensitivity.Axes.SetLimitsY(0, 1);
        sensitivity.ShowLegend(Alignment.LowerCenter);
        bench.Add(this, "comparison-lr-sensitivity", $"Validation accuracy of Adam and SGD trained at four learning rates{seedsNote}.", sensitivity);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var (compared, sweep, runs, sweptAccuracy) = (Compared, Sweep, data.Runs, data.SweptAccuracy);
        for (int i = 0; i < compared.Length; i++)
        {
            int k = i;
            bench.Measure(this, $"{compared[i].Label}: final train loss, validation loss, validation accuracy",
                $"{Spread.Of(runs.Select(r => r[k].TrainLoss[^1])).Format(v => Numbers.Format(v))}, {Spread.Of(runs.Select(r => r[k].TestLoss[^1])).Format(v => Numbers.Format(v))}, {Spread.Of(runs.Select(r => r[k].TestAccuracy)).Format(Numbers.Percent)}");
        }
        for (int i = 0; i < sweep.Length; i++)
        {
            int k = i;
            bench.Measure(this, $"{sweep[i].Optimizer} at lr {Numbers.Format(sweep[i].Lr)}: validation accuracy", Spread.Of(sweptAccuracy.Select(a => a[k])).Format(Numbers.Percent));
        }
        // Early progress: the training loss at the third of 30 evaluations (a tenth of the run).
        double Early(Classifiers.Run r) => r.TrainLoss[Math.Min(2, r.TrainLoss.Length - 1)];
        bench.Claim(this, "adaptive methods make faster early progress", "training loss after a tenth of the run, Adam lr 1e-3 / SGD lr 0.1",
            [.. runs.Select(r => Early(r[3]) / Early(r[0]))], Numbers.Times, "below 0.95x in every seed", v => v < 0.95,
            $"{Numbers.Format(Early(runs[0][3]))} vs {Numbers.Format(Early(runs[0][0]))} in the first seed");
        double Worst(double[] accuracy, string optimizer) => Enumerable.Range(0, sweep.Length).Where(i => sweep[i].Optimizer == optimizer).Min(i => accuracy[i]);
        bench.Claim(this, "Adam is less sensitive to the learning rate than SGD", "worst validation accuracy over the four rates, Adam minus SGD",
            [.. sweptAccuracy.Select(a => Worst(a, "adam") - Worst(a, "sgd"))], Numbers.Points, "at least 10 points in every seed", v => v >= 0.10,
            $"{Numbers.Percent(Worst(sweptAccuracy[0], "adam"))} vs {Numbers.Percent(Worst(sweptAccuracy[0], "sgd"))} in the first seed");
    }
}
