using Descent.Data;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>SGD and Adam train the same linear MNIST classifier to different solutions.</summary>
public sealed class LinearMnist : Experiment
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

    /// <inheritdoc/>
    public override void Run(Lab lab)
    {
        int epochs = lab.Pick(1, 200, 500);
        var configs = new[] { "sgd", "adam" }.Select(o => new TrainingConfig
        {
            Data = "mnist",
            DataDir = lab.MnistDir,
            Hidden = [],
            Loss = "cross-entropy",
            Optimizer = o,
            Hyperparameters = new() { ["lr"] = 0.01 },
            Schedule = "power:tau=50000,alpha=1",
            Batch = 64,
            Epochs = epochs,
            Seed = 2,
        }).ToArray();
        lab.Say($"{Name}: 2 runs of {epochs} epochs on {(lab.MnistDir is null ? "the embedded 10,000 digits" : lab.MnistDir)}");
        var runs = lab.RunAll(configs, c => Classifiers.Train(c, 40));

        var loss = Figures.New("Linear MNIST classifier: training loss", "step", "cross-entropy");
        for (int i = 0; i < runs.Length; i++)
        {
            Figures.Line(loss, runs[i].Steps, runs[i].TrainLoss.Select(Math.Log10).ToArray(), Figures.Palette[i], configs[i].Optimizer == "sgd" ? "SGD" : "Adam");
        }
        Figures.LogY(loss);
        loss.ShowLegend(Alignment.UpperRight);
        lab.Add(this, "mnist-linear-loss", "Training loss (whole training set) of SGD and Adam with the same schedule.", loss);

        var train = runs[0].Trainer.Train;
        var means = ClassMeans(train);
        var weights = Figures.New("Class weight vectors as 28x28 images: SGD (top), Adam (bottom)", "", "");
        double[] likeness = new double[2];
        for (int r = 0; r < 2; r++)
        {
            var w = runs[r].Trainer.Model.Parameters[0].Value.Span;
            for (int digit = 0; digit < 10; digit++)
            {
                var image = new double[28, 28];
                var row = w.Slice(digit * 784, 784);
                double max = 0;
                for (int k = 0; k < 784; k++) max = Math.Max(max, Math.Abs(row[k]));
                for (int k = 0; k < 784; k++) image[k / 28, k % 28] = row[k] / max;
                var heat = weights.Add.Heatmap(image);
                heat.Colormap = new ScottPlot.Colormaps.Grayscale();
                heat.ManualRange = new ScottPlot.Range(-1, 1);
                heat.Extent = new CoordinateRect(digit * 30, digit * 30 + 28, (1 - r) * 30, (1 - r) * 30 + 28);
                likeness[r] += Correlation(row, means[digit]) / 10;
            }
        }
        weights.HideGrid();
        weights.Axes.Frameless();
        lab.Add(this, "mnist-linear-weights", "Each class's 784 weights drawn as an image (scaled to its largest magnitude; white positive, black negative).", weights, 1000, 260);

        var accuracy = runs.Select(r => r.Trainer.Evaluate(r.Trainer.Test).Accuracy).ToArray();
        var bars = Figures.New("Test accuracy", "", "accuracy");
        var b = bars.Add.Bars(accuracy);
        bars.Axes.Bottom.SetTicks([0, 1], ["SGD", "Adam"]);
        bars.Axes.SetLimitsY(Math.Floor(accuracy.Min() * 20) / 20 - 0.05, 1);
        lab.Add(this, "mnist-linear-accuracy", $"Test accuracy on {runs[0].Trainer.Test.Count} held-out digits.", bars, 500, 420);
        _ = b;

        string data = lab.MnistDir is null ? "embedded digits" : "full MNIST";
        lab.Claim(this, $"test accuracy SGD / Adam ({data})", $"{accuracy[0]:F4} / {accuracy[1]:F4}", "0.9226 / 0.9224 on full MNIST: nearly equal", Math.Abs(accuracy[0] - accuracy[1]) < 0.01);
        lab.Claim(this, "final training loss SGD / Adam", $"{runs[0].TrainLoss[^1]:G4} / {runs[1].TrainLoss[^1]:G4}", "Adam trains to a lower loss", runs[1].TrainLoss[^1] < runs[0].TrainLoss[^1]);
        lab.Claim(this, "template likeness: mean correlation of weight image with class mean image, SGD / Adam", $"{likeness[0]:F3} / {likeness[1]:F3}",
            "SGD weights look like digit templates, Adam's like grey blobs", likeness[0] > likeness[1]);
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
