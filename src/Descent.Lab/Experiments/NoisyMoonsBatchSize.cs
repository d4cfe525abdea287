using Descent.Data;
using Descent.Numerics;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Minibatch size on noisy two moons: lower training loss for large batches, better generalization for small ones.</summary>
public sealed class NoisyMoonsBatchSize : Experiment<NoisyMoonsBatchSize.Results>
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

    /// <summary>The networks, the training set's true labels, and each network's accuracy on fresh test sets.</summary>
    /// <param name="Networks">The networks at each batch size, <c>[seed][batch size]</c>.</param>
    /// <param name="Clean">The first seed's training points with their true labels.</param>
    /// <param name="Flipped">Which of the first seed's training labels were flipped.</param>
    /// <param name="Sets">How many fresh test sets each network was evaluated on.</param>
    /// <param name="Accuracy">Mean and standard deviation of the accuracy over the fresh sets, clean and noisy, <c>[seed][batch size]</c>.</param>
    public sealed record Results(NoisyMoonsNetworks Networks, Dataset Clean, HashSet<int> Flipped, int Sets,
        ((double Mean, double Std) Clean, (double Mean, double Std) Noisy)[][] Accuracy);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var networks = NoisyMoonsNetworks.Of(bench);
        var train = networks.Runs[0][0].Trainer.Train;
        var clean = Moons.Generate(500, 0.1, 0, 1, 1, Rng.ForStream(1, 0));
        var flipped = new HashSet<int>(Enumerable.Range(0, train.Count).Where(i => clean.Labels[i] != train.Labels[i]));
        // Generalization on fresh test sets, clean and noisy: [seed][batch] mean and standard deviation over the sets.
        int sets = bench.Pick(10, 100, 100);
        var testRng = Rng.ForStream(1234, 0);
        var cleanSets = Enumerable.Range(0, sets).Select(_ => Moons.Generate(500, 0.1, 0, 1, 1, testRng)).ToArray();
        var noisySets = Enumerable.Range(0, sets).Select(_ => Moons.Generate(500, 0.1, 0.1, 1, 1, testRng)).ToArray();
        var accuracy = bench.RunAll(networks.Runs.SelectMany(m => m).ToArray(), r => (Clean: Stats(cleanSets.Select(d => r.Trainer.Evaluate(d).Accuracy)), Noisy: Stats(noisySets.Select(d => r.Trainer.Evaluate(d).Accuracy))))
            .Chunk(networks.BatchSizes.Length).ToArray();
        return new Results(networks, clean, flipped, sets, accuracy);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var sizes = data.Networks.BatchSizes;
        var models = data.Networks.Runs;
        var runs = models[0];
        var train = runs[0].Trainer.Train;
        var accuracy = data.Accuracy;
        int full = sizes.Length - 1;

        // The data, with and without the flips (first seed).
        var cleanPlot = Figures.New("Two moons, N = 500, noise 0.1", "x", "y");
        Classifiers.Points(cleanPlot, data.Clean);
        cleanPlot.ShowLegend(Alignment.UpperRight);
        bench.Add(this, "moons-clean", "The training set with its true labels.", cleanPlot);
        var noisyPlot = Figures.New($"The same points with {data.Flipped.Count} labels flipped ({Numbers.Percent((double)data.Flipped.Count / train.Count)})", "x", "y");
        Classifiers.Points(noisyPlot, train, data.Flipped);
        noisyPlot.ShowLegend(Alignment.UpperRight);
        bench.Add(this, "moons-flipped", "The training set as the networks see it: circled points had their label flipped.", noisyPlot);

        string seedsNote = bench.Seeds > 1 ? $"; the line is the median over {bench.Seeds} seeds, the band their range" : "";

        // Training loss against steps.
        var loss = Figures.New("Training loss (full training set)", "step", "cross-entropy");
        for (int i = 0; i < sizes.Length; i++)
            Figures.SeedCurves(loss, runs[i].Steps, [.. models.Select(m => m[i].TrainLoss)], Figures.Palette[i % 10], $"B = {sizes[i]}", v => Math.Log10(Math.Max(v, 1e-8)));
        Figures.LogY(loss);
        Figures.LegendOutside(loss);
        bench.Add(this, "moons-train-loss", $"Training loss against steps for each batch size{seedsNote}.", loss, 900, 560);

        // Wall time.
        var xs = sizes.Select(b => Math.Log10(b)).ToArray();
        var time = Figures.New("Wall time for the same number of steps", "batch size", "seconds");
        Figures.SeedCurves(time, xs, [.. models.Select(m => m.Select(r => r.Seconds).ToArray())], Figures.Palette[0], "", Math.Log10, markers: true);
        Figures.LogY(time);
        Figures.LogX(time, sizes.Select(b => (double)b));
        bench.Add(this, "moons-wall-time", $"Seconds of training (excluding evaluations) against batch size, one core per run{seedsNote}.", time);

        var acc = Figures.New($"Test accuracy on {data.Sets} fresh test sets of 500 points", "batch size", "accuracy");
        foreach (var (label, pick, color) in new[] { ("clean labels", 0, Figures.Palette[0]), ("10% flipped labels", 1, Figures.Palette[1]) })
        {
            Figures.SeedCurves(acc, xs, [.. accuracy.Select(seed => seed.Select(a => pick == 0 ? a.Clean.Mean : a.Noisy.Mean).ToArray())], color, label, markers: true);
            if (bench.Seeds == 1)
            {
                var e = acc.Add.ErrorBar(xs, accuracy[0].Select(a => pick == 0 ? a.Clean.Mean : a.Noisy.Mean).ToArray(), accuracy[0].Select(a => pick == 0 ? a.Clean.Std : a.Noisy.Std).ToArray());
                e.Color = color;
            }
        }
        Figures.LogX(acc, sizes.Select(b => (double)b));
        acc.ShowLegend(Alignment.LowerLeft);
        bench.Add(this, "moons-test-accuracy", bench.Seeds > 1
            ? $"Mean test accuracy over the fresh test sets: median over {bench.Seeds} seeds, with their range as a band."
            : "Mean test accuracy with one standard deviation over the fresh test sets.", acc);

        // Decision boundaries: full batch against a small batch (first seed).
        int small = Array.IndexOf(sizes, sizes.Contains(8) ? 8 : sizes[0]);
        foreach (int i in new[] { full, small })
            bench.Add(this, $"moons-boundary-b{sizes[i]}", $"Probability of class 1 learned with batch size {sizes[i]}, with the (noisy) training points.",
                Classifiers.Boundary($"Decision boundary, B = {sizes[i]}", runs[i].Trainer.Model, train, -1.6, 2.6, -1.1, 1.6), 860, 560);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var sizes = data.Networks.BatchSizes;
        var models = data.Networks.Runs;
        var runs = models[0];
        var accuracy = data.Accuracy;
        int full = sizes.Length - 1, half = Math.Max(1, sizes.Length / 2);
        // Each judged on every seed.
        for (int i = 0; i < sizes.Length; i++)
        {
            int b = i;
            bench.Measure(this, $"B = {sizes[i]}: train loss, train accuracy, test accuracy clean / noisy",
                $"{Spread.Of(models.Select(m => m[b].TrainLoss[^1])).Format(v => Numbers.Format(v))}, " +
                $"{Spread.Of(models.Select(m => m[b].TrainAccuracy)).Format(Numbers.Percent)}, " +
                $"{Spread.Of(accuracy.Select(a => a[b].Clean.Mean)).Format(Numbers.Percent)} / {Spread.Of(accuracy.Select(a => a[b].Noisy.Mean)).Format(Numbers.Percent)}");
        }
        bench.Claim(this, "the training loss decreases as the batch size grows", $"final train loss, B = {sizes[full]} / B = {sizes[0]}",
            [.. models.Select(m => m[full].TrainLoss[^1] / m[0].TrainLoss[^1])], v => Numbers.Format(v), "below 0.9 in every seed", v => v < 0.9,
            $"{Numbers.Format(runs[full].TrainLoss[^1])} vs {Numbers.Format(runs[0].TrainLoss[^1])} in the first seed");
        foreach (var (which, pick) in new[] { ("clean", 0), ("10% flipped", 1) })
        {
            double Score((double Mean, double Std) a, (double Mean, double Std) b) => pick == 0 ? a.Mean : b.Mean;
            var gap = accuracy.Select(seed => Spread.Of(seed.Take(half).Select(a => Score(a.Clean, a.Noisy))).Median - Score(seed[full].Clean, seed[full].Noisy)).ToArray();
            bench.Claim(this, $"small batches generalize better ({which} test labels)", $"test accuracy, median of the {half} smallest batch sizes minus full batch",
                gap, Numbers.Points, "at least 1 point in every seed", v => v >= 0.01);
        }
        bench.Claim(this, "full batch takes minutes, small batches seconds (same number of steps)", $"wall time, B = {sizes[full]} / B = {sizes[0]}",
            [.. models.Select(m => m[full].Seconds / m[0].Seconds)], Numbers.Times, "at least 20x in every seed", v => v >= 20,
            $"{Numbers.Seconds(runs[full].Seconds)} vs {Numbers.Seconds(runs[0].Seconds)} in the first seed");
    }

    private static (double Mean, double Std) Stats(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, v.Length - 1)));
    }
}
