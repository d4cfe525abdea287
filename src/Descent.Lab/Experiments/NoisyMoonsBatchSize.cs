using Descent.Data;
using Descent.Numerics;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Minibatch size on noisy two moons: lower training loss for large batches, better generalization for small ones.</summary>
public sealed class NoisyMoonsBatchSize : Experiment
{
    /// <inheritdoc/>
    public override string Name => "noisy-moons-batch-size";

    /// <inheritdoc/>
    public override string Title => "Small batches generalize better on noisy two moons";

    /// <inheritdoc/>
    public override string Description =>
        "Two moons, N = 500, noise 0.1, 10% of labels flipped; a 2-64-64-2 ReLU network with cross-entropy, trained by SGD with lr_t = 0.15 / (1 + t / 5e4) " +
        "at batch sizes from 1 to 500 for the same number of steps. The expected finding: the training loss falls as the batch grows (full batch can " +
        "memorize the flipped labels), but small batches generalize better and draw cleaner boundaries.";

    /// <summary>Batch sizes by scale.</summary>
    internal static int[] BatchSizes(Lab lab) => lab.Pick<int[]>([1, 8, 64, 500], [1, 2, 4, 8, 16, 32, 64, 128, 250, 500], [1, 2, 4, 8, 16, 32, 64, 128, 250, 500]);

    internal static TrainingConfig Config(int batch, long steps) => new()
    {
        Data = "moons",
        N = 500,
        Noise = 0.1,
        Flip = 0.1,
        Hidden = [64, 64],
        Activation = "relu",
        Loss = "cross-entropy",
        Optimizer = "sgd",
        Hyperparameters = new() { ["lr"] = 0.15 },
        Schedule = "power:tau=50000,alpha=1",
        Batch = batch,
        Steps = steps,
        Seed = 1,
    };

    private static readonly Dictionary<string, Classifiers.Run[]> Cache = [];

    /// <summary>The trained models, one per batch size (trained once per lab and shared with the sharpness experiment).</summary>
    internal static Classifiers.Run[] Models(Lab lab, Experiment asking)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(lab.OutDir + lab.Scale, out var done)) return done;
            long steps = lab.Pick(1500L, 60_000L, 1_500_000L);
            var sizes = BatchSizes(lab);
            lab.Say($"{asking.Name}: training {sizes.Length} networks for {steps:N0} steps each on {lab.Threads} thread(s)");
            var runs = lab.RunAll(sizes, b => Classifiers.Train(Config(b, steps)), cost: b => b);   // a step's cost grows with the batch
            Cache[lab.OutDir + lab.Scale] = runs;
            return runs;
        }
    }

    /// <inheritdoc/>
    public override void Run(Lab lab)
    {
        var sizes = BatchSizes(lab);
        var runs = Models(lab, this);
        var train = runs[0].Trainer.Train;

        // The data, with and without the flips.
        var clean = Moons.Generate(500, 0.1, 0, 1, 1, Rng.ForStream(1, 0));
        var flipped = new HashSet<int>(Enumerable.Range(0, train.Count).Where(i => clean.Labels[i] != train.Labels[i]));
        var cleanPlot = Figures.New("Two moons, N = 500, noise 0.1", "x", "y");
        Classifiers.Points(cleanPlot, clean);
        cleanPlot.ShowLegend(Alignment.UpperRight);
        lab.Add(this, "moons-clean", "The training set with its true labels.", cleanPlot);
        var noisyPlot = Figures.New($"The same points with {flipped.Count} labels flipped ({100.0 * flipped.Count / train.Count:F1}%)", "x", "y");
        Classifiers.Points(noisyPlot, train, flipped);
        noisyPlot.ShowLegend(Alignment.UpperRight);
        lab.Add(this, "moons-flipped", "The training set as the networks see it: circled points had their label flipped.", noisyPlot);

        // Training loss against steps.
        var loss = Figures.New("Training loss (full training set)", "step", "cross-entropy");
        for (int i = 0; i < runs.Length; i++)
        {
            Figures.Line(loss, runs[i].Steps, runs[i].TrainLoss.Select(v => Math.Log10(Math.Max(v, 1e-8))).ToArray(), Figures.Palette[i % 10], $"B = {sizes[i]}");
        }
        Figures.LogY(loss);
        loss.ShowLegend(Alignment.LowerLeft);
        lab.Add(this, "moons-train-loss", "Training loss against steps for each batch size.", loss);

        // Wall time.
        var time = Figures.New("Wall time for the same number of steps", "batch size", "seconds");
        var t = time.Add.Scatter(sizes.Select(b => Math.Log10(b)).ToArray(), runs.Select(r => r.Seconds).ToArray());
        t.LineWidth = 2;
        t.MarkerSize = 8;
        Figures.LogX(time, sizes.Select(b => (double)b));
        lab.Add(this, "moons-wall-time", "Seconds of training (excluding evaluations) against batch size, one core per run.", time);

        // Generalization on 100 fresh test sets, clean and noisy.
        int sets = lab.Pick(10, 100, 100);
        var testRng = Rng.ForStream(1234, 0);
        var cleanSets = Enumerable.Range(0, sets).Select(_ => Moons.Generate(500, 0.1, 0, 1, 1, testRng)).ToArray();
        var noisySets = Enumerable.Range(0, sets).Select(_ => Moons.Generate(500, 0.1, 0.1, 1, 1, testRng)).ToArray();
        var accuracy = runs.Select(r => (Clean: Stats(cleanSets.Select(d => r.Trainer.Evaluate(d).Accuracy)), Noisy: Stats(noisySets.Select(d => r.Trainer.Evaluate(d).Accuracy)))).ToArray();
        var acc = Figures.New($"Test accuracy on {sets} fresh test sets of 500 points", "batch size", "accuracy");
        var xs = sizes.Select(b => Math.Log10(b)).ToArray();
        foreach (var (label, pick, color) in new[] { ("clean labels", 0, Figures.Palette[0]), ("10% flipped labels", 1, Figures.Palette[1]) })
        {
            var means = accuracy.Select(a => pick == 0 ? a.Clean.Mean : a.Noisy.Mean).ToArray();
            var errors = accuracy.Select(a => pick == 0 ? a.Clean.Std : a.Noisy.Std).ToArray();
            var s = acc.Add.Scatter(xs, means);
            s.Color = color;
            s.LineWidth = 2;
            s.LegendText = label;
            var e = acc.Add.ErrorBar(xs, means, errors);
            e.Color = color;
        }
        Figures.LogX(acc, sizes.Select(b => (double)b));
        acc.ShowLegend(Alignment.LowerLeft);
        lab.Add(this, "moons-test-accuracy", "Mean test accuracy with one standard deviation over the fresh test sets.", acc);

        // Decision boundaries: full batch against a small batch.
        int small = Array.IndexOf(sizes, sizes.Contains(8) ? 8 : sizes[0]);
        int full = sizes.Length - 1;
        foreach (int i in new[] { full, small })
            lab.Add(this, $"moons-boundary-b{sizes[i]}", $"Probability of class 1 learned with batch size {sizes[i]}, with the (noisy) training points.",
                Classifiers.Boundary($"Decision boundary, B = {sizes[i]}", runs[i].Trainer.Model, train, -1.6, 2.6, -1.1, 1.6));

        // Claims.
        for (int i = 0; i < runs.Length; i++)
            lab.Claim(this, $"B = {sizes[i]}: train loss, train accuracy, test accuracy clean / noisy",
                $"{runs[i].TrainLoss[^1]:G3}, {runs[i].Trainer.Evaluate(train).Accuracy:P1}, {accuracy[i].Clean.Mean:P1} ± {accuracy[i].Clean.Std:P1} / {accuracy[i].Noisy.Mean:P1} ± {accuracy[i].Noisy.Std:P1}", "", null);
        lab.Claim(this, "training loss: full batch vs smallest batch", $"{runs[full].TrainLoss[^1]:G3} vs {runs[0].TrainLoss[^1]:G3}",
            "train loss decreases as the batch size grows", runs[full].TrainLoss[^1] < runs[0].TrainLoss[^1]);
        double bestSmall = accuracy.Take(Math.Max(1, sizes.Length / 2)).Max(a => a.Clean.Mean);
        lab.Claim(this, "clean test accuracy: best small batch vs full batch", $"{bestSmall:P2} vs {accuracy[full].Clean.Mean:P2}",
            "small batches generalize better (clean test labels)", bestSmall > accuracy[full].Clean.Mean);
        double bestSmallNoisy = accuracy.Take(Math.Max(1, sizes.Length / 2)).Max(a => a.Noisy.Mean);
        lab.Claim(this, "noisy test accuracy: best small batch vs full batch", $"{bestSmallNoisy:P2} vs {accuracy[full].Noisy.Mean:P2}",
            "small batches generalize better (10% flipped test labels)", bestSmallNoisy > accuracy[full].Noisy.Mean);
        lab.Claim(this, "wall time: full batch vs batch 1", $"{runs[full].Seconds:F1} s vs {runs[0].Seconds:F1} s",
            "full batch takes minutes, small batches seconds (same step count)", runs[full].Seconds > runs[0].Seconds);
    }

    private static (double Mean, double Std) Stats(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, v.Length - 1)));
    }
}
