using Descent.Data;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>SGD and Adam train the same linear MNIST classifier to different solutions.</summary>
public sealed class LinearMnist : Experiment<LinearMnist.Results>
{
    /// <inheritdoc/>
    public override string Name => "linear-mnist-sgd-vs-adam";

    /// <inheritdoc/>
    public override string Title => "SGD and Adam find different linear MNIST classifiers";

    /// <inheritdoc/>
    public override string Description =>
        "A linear 784-10 softmax classifier trained by SGD and by Adam with the same schedule lr_t = 0.01 / (1 + t / 5e4) and betas (0.9, 0.999). " +
        "Adam reaches a lower training loss, the test accuracies are nearly equal (published on full MNIST: 0.9226 for SGD, 0.9224 for Adam), " +
        "and the weights differ: SGD's look like digit templates, Adam's like grey blobs. Here the template likeness is measured as the correlation " +
        "between each class's weight image and that class's mean training image.";

    private static readonly string[] Labels = ["SGD", "Adam"];

    /// <summary>The trained classifiers and how much each one's weights look like its class's mean image.</summary>
    /// <param name="Runs">The runs, <c>[seed][SGD, Adam]</c>.</param>
    /// <param name="Likeness">Mean correlation of each class's weight image with its class's mean training image, <c>[seed][SGD, Adam]</c>.</param>
    public sealed record Results(Classifiers.Run[][] Runs, double[][] Likeness);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        int epochs = bench.Pick(1, 200, 500);
        string[] optimizers = ["sgd", "adam"];
        var configs = Enumerable.Range(0, bench.Seeds).SelectMany(seed => optimizers.Select(o => new TrainingConfig
        {
            Data = "mnist",
            DataDir = bench.MnistDir,
            Hidden = [],
            Loss = "cross-entropy",
            Optimizer = o,
            Hyperparameters = new() { ["lr"] = 0.01 },
            Schedule = "power:tau=50000,alpha=1",
            Batch = 64,
            Epochs = epochs,
            Seed = 2 + (ulong)seed,
        })).ToArray();
        bench.Say($"{Name}: {configs.Length} runs of {epochs} epochs on {(bench.MnistDir is null ? "the embedded 10,000 digits" : bench.MnistDir)}");
        var runs = Classifiers.TrainAll(bench, configs, 40).Chunk(2).ToArray();   // [seed][SGD, Adam]

        var means = ClassMeans(runs[0][0].Trainer.Train);
        var likeness = runs.Select(seed => seed.Select(r => Enumerable.Range(0, 10).Sum(digit => Correlation(r.Trainer.Model.Parameters[0].Value.Span.Slice(digit * 784, 784), means[digit]) / 10)).ToArray()).ToArray();
        return new Results(runs, likeness);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var runs = data.Runs;
        var loss = Figures.New("Linear MNIST classifier: training loss", "step", "cross-entropy");
        for (int i = 0; i < 2; i++)
            Figures.SeedCurves(loss, runs[0][i].Steps, [.. runs.Select(r => r[i].TrainLoss)], Figures.Palette[i], Labels[i], Math.Log10);
        Figures.LogY(loss);
        loss.ShowLegend(Alignment.UpperRight);
        bench.Add(this, "mnist-linear-loss", "Training loss (whole training set) of SGD and Adam with the same schedule" +
            (bench.Seeds > 1 ? $"; median over {bench.Seeds} seeds, range as a band." : "."), loss);

        var weights = Figures.New("Each class's weights as a 28x28 image", "class", "");
        for (int r = 0; r < 2; r++)
        {
            var w = runs[0][r].Trainer.Model.Parameters[0].Value.Span;
            for (int digit = 0; digit < 10; digit++)
            {
                var row = w.Slice(digit * 784, 784);
                var image = new double[28, 28];
                double max = 0;
                for (int k = 0; k < 784; k++) max = Math.Max(max, Math.Abs(row[k]));
                for (int k = 0; k < 784; k++) image[k / 28, k % 28] = row[k] / max;
                var heat = weights.Add.Heatmap(image);
                heat.Colormap = new ScottPlot.Colormaps.Grayscale();
                heat.ManualRange = new ScottPlot.Range(-1, 1);
                heat.Extent = new CoordinateRect(digit * 30, digit * 30 + 28, (1 - r) * 30, (1 - r) * 30 + 28);
            }
        }
        weights.HideGrid();
        weights.Axes.Bottom.SetTicks([.. Enumerable.Range(0, 10).Select(d => d * 30 + 14.0)], [.. Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        weights.Axes.Left.SetTicks([44, 14], ["SGD", "Adam"]);
        weights.Axes.SetLimits(-1, 299, -1, 59);
        bench.Add(this, "mnist-linear-weights", "Each class's 784 weights drawn as an image, SGD in the top row and Adam in the bottom row (first seed; scaled to the largest magnitude: white positive, black negative).", weights, 1000, 330);

        var accuracy = runs.Select(seed => seed.Select(r => r.TestAccuracy).ToArray()).ToArray();
        var bars = Figures.New("Test accuracy", "", "accuracy");
        var spreads = Enumerable.Range(0, 2).Select(i => Spread.Of(accuracy.Select(a => a[i]))).ToArray();
        bars.Add.Bars(spreads.Select(v => v.Median).ToArray());
        if (bench.Seeds > 1)
            for (int i = 0; i < 2; i++)
            {
                var range = bars.Add.Line(i, spreads[i].Min, i, spreads[i].Max);
                range.Color = Colors.Black;
                range.LineWidth = 2;
            }
        for (int i = 0; i < 2; i++)
        {
            var text = bars.Add.Text(Numbers.Percent(spreads[i].Median), i, spreads[i].Median / 2);
            text.LabelFontSize = 18;
            text.LabelFontColor = Colors.White;
            text.LabelAlignment = Alignment.MiddleCenter;
        }
        bars.Axes.Bottom.SetTicks([0, 1], Labels);
        bars.Axes.SetLimitsY(0, 1);
        bench.Add(this, "mnist-linear-accuracy", $"Test accuracy on {runs[0][0].Trainer.Test.Count} held-out digits (the axis starts at 0" +
            (bench.Seeds > 1 ? $"; median over {bench.Seeds} seeds, whiskers their range)." : ")."), bars, 500, 420);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var (runs, likeness) = (data.Runs, data.Likeness);
        var accuracy = runs.Select(seed => seed.Select(r => r.TestAccuracy).ToArray()).ToArray();
        string set = bench.MnistDir is null ? "embedded digits" : "full MNIST";
        bench.Claim(this, "equal test accuracy (0.9226 SGD, 0.9224 Adam on full MNIST)", $"test accuracy ({set}), SGD minus Adam",
            [.. accuracy.Select(a => a[0] - a[1])], Numbers.Points, "within 1 point either way in every seed", v => Math.Abs(v) < 0.01,
            $"{Numbers.Percent(accuracy[0][0])} vs {Numbers.Percent(accuracy[0][1])} in the first seed");
        bench.Claim(this, "Adam trains to a lower loss", "final training loss, Adam / SGD",
            [.. runs.Select(r => r[1].TrainLoss[^1] / r[0].TrainLoss[^1])], Numbers.Times, "below 0.5x in every seed", v => v < 0.5,
            $"{Numbers.Format(runs[0][1].TrainLoss[^1])} vs {Numbers.Format(runs[0][0].TrainLoss[^1])} in the first seed");
        bench.Claim(this, "SGD's weights look like digit templates, Adam's like grey blobs", "mean correlation of each weight image with its class's mean image, SGD minus Adam",
            [.. likeness.Select(l => l[0] - l[1])], v => Numbers.Format(v), "at least 0.1 in every seed", v => v >= 0.1,
            $"{Numbers.Format(likeness[0][0])} vs {Numbers.Format(likeness[0][1])} in the first seed");
    }

    private static double[][] ClassMeans(Dataset data)
    {
        var means = Enumerable.Range(0, 10).Select(_ => new double[data.Dimensions]).ToArray();
        var counts = new int[10];
        for (int i = 0; i < data.Count; i++)
        {
            counts[data.Labels[i]]++;
            var row = data.Row(i);
            for (int k = 0; k < row.Length; k++) means[data.Labels[i]][k] += row[k];
        }
        for (int c = 0; c < 10; c++)
            for (int k = 0; k < data.Dimensions; k++) means[c][k] /= Math.Max(1, counts[c]);
        return means;
    }

    private static double Correlation(ReadOnlySpan<float> a, double[] b)
    {
        double ma = 0, mb = 0;
        for (int i = 0; i < b.Length; i++) { ma += a[i]; mb += b[i]; }
        ma /= b.Length;
        mb /= b.Length;
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < b.Length; i++)
        {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }
        return sab / Math.Sqrt(saa * sbb);
    }
}
