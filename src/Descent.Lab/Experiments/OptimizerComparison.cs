using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Five optimizers on a small MNIST network, and how sensitive Adam and SGD are to the learning rate.</summary>
public sealed class OptimizerComparison : Experiment
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

    private static TrainingConfig Config(Lab lab, string optimizer, Dictionary<string, double> hyper) => new()
    {
        Data = "mnist",
        DataDir = lab.MnistDir,
        Hidden = [64],
        Activation = "relu",
        Optimizer = optimizer,
        Hyperparameters = hyper,
        Batch = 64,
        Epochs = lab.Pick(1, 15, 40),
        Seed = 4,
    };

    /// <inheritdoc/>
    public override void Run(Lab lab)
    {
        var compared = new (string Label, TrainingConfig Config)[]
        {
            ("SGD lr 0.1", Config(lab, "sgd", new() { ["lr"] = 0.1 })),
            ("SGD + momentum 0.9, lr 0.01", Config(lab, "sgd", new() { ["lr"] = 0.01, ["momentum"] = 0.9 })),
            ("RMSProp lr 1e-3", Config(lab, "rmsprop", new() { ["lr"] = 1e-3 })),
            ("Adam lr 1e-3", Config(lab, "adam", new() { ["lr"] = 1e-3 })),
            ("AdamW lr 1e-3, wd 1e-2", Config(lab, "adamw", new() { ["lr"] = 1e-3, ["weight_decay"] = 1e-2 })),
        };
        double[] rates = [1e-4, 1e-3, 1e-2, 1e-1];
        var sweep = rates.SelectMany(lr => new[] { ("adam", lr), ("sgd", lr) }).Select(r => (r.Item1, r.lr, Config: Config(lab, r.Item1, new() { ["lr"] = r.lr }))).ToArray();
        lab.Say($"{Name}: {compared.Length + sweep.Length} runs");
        var all = lab.RunAll([.. compared.Select(c => c.Config), .. sweep.Select(s => s.Config)], c => Classifiers.Train(c, 30));
        var runs = all[..compared.Length];
        var swept = all[compared.Length..];

        foreach (var (title, pick, name) in new[] { ("Training loss", 0, "train"), ("Validation loss (held-out digits)", 1, "validation") })
        {
            var plot = Figures.New(title, "step", "cross-entropy");
            for (int i = 0; i < runs.Length; i++)
            {
                Figures.Line(plot, runs[i].Steps, (pick == 0 ? runs[i].TrainLoss : runs[i].TestLoss).Select(Math.Log10).ToArray(), Figures.Palette[i], compared[i].Label);
            }
            Figures.LogY(plot);
            plot.ShowLegend(Alignment.UpperRight);
            lab.Add(this, $"comparison-{name}-loss", $"{title} of five optimizers on a 784-64-10 network.", plot);
        }

        var sensitivity = Figures.New("Learning-rate sensitivity: validation accuracy after training", "learning rate", "accuracy");
        foreach (var (optimizer, label, color) in new[] { ("adam", "Adam", Figures.Palette[3]), ("sgd", "SGD", Figures.Palette[0]) })
        {
            var idx = Enumerable.Range(0, sweep.Length).Where(i => sweep[i].Item1 == optimizer).ToArray();
            var s = sensitivity.Add.Scatter(idx.Select(i => Math.Log10(sweep[i].lr)).ToArray(), idx.Select(i => swept[i].Trainer.Evaluate(swept[i].Trainer.Test).Accuracy).ToArray());
            s.Color = color;
            s.LineWidth = 2;
            s.MarkerSize = 8;
            s.LegendText = label;
        }
        Figures.LogX(sensitivity, rates);
        sensitivity.ShowLegend(Alignment.LowerCenter);
        lab.Add(this, "comparison-lr-sensitivity", "Validation accuracy of Adam and SGD trained at four learning rates.", sensitivity);

        for (int i = 0; i < runs.Length; i++)
        {
            var (testLoss, testAcc) = runs[i].Trainer.Evaluate(runs[i].Trainer.Test);
            lab.Claim(this, $"{compared[i].Label}: final train loss, validation loss, validation accuracy", $"{runs[i].TrainLoss[^1]:G3}, {testLoss:G3}, {testAcc:P1}", "", null);
        }
        for (int i = 0; i < sweep.Length; i++)
            lab.Claim(this, $"{sweep[i].Item1} at lr {sweep[i].lr:G1}: validation accuracy", $"{swept[i].Trainer.Evaluate(swept[i].Trainer.Test).Accuracy:P1}", "", null);
        double early(int i) => runs[i].TrainLoss[Math.Min(2, runs[i].TrainLoss.Length - 1)];
        lab.Claim(this, "early training loss (after 3/30 of training): Adam vs SGD", $"{early(3):G3} vs {early(0):G3}",
            "adaptive methods make faster early progress", early(3) < early(0));
        int goodAdam = Enumerable.Range(0, sweep.Length).Count(i => sweep[i].Item1 == "adam" && swept[i].Trainer.Evaluate(swept[i].Trainer.Test).Accuracy > 0.85);
        int goodSgd = Enumerable.Range(0, sweep.Length).Count(i => sweep[i].Item1 == "sgd" && swept[i].Trainer.Evaluate(swept[i].Trainer.Test).Accuracy > 0.85);
        lab.Claim(this, "learning rates (of 4) reaching 85% validation accuracy: Adam vs SGD", $"{goodAdam} vs {goodSgd}",
            "Adam is less sensitive to the learning rate than SGD", goodAdam >= goodSgd);
    }
}
