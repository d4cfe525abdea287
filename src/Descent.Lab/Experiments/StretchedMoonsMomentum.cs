using Descent.Analysis;
using Descent.Data;
using Descent.Nn;
using Descent.Numerics;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Momentum escapes the wrong solution on stretched two moons.</summary>
public sealed class StretchedMoonsMomentum : Experiment
{
    /// <inheritdoc/>
    public override string Name => "stretched-moons-momentum";

    /// <inheritdoc/>
    public override string Title => "Momentum on an ill-conditioned problem: stretched two moons";

    /// <inheritdoc/>
    public override string Description =>
        "Two moons stretched by 0.1 in x and 10 in y (N = 500, no label noise), a 2-64-64-2 ReLU network, batch 8, lr_t = 0.001 / (1 + t / 5000). " +
        "Plain SGD against heavy-ball momentum 0.99 (p = 0.99 p + g). The stretching makes the loss ill-conditioned: SGD is expected to stall on a boundary " +
        "that cuts along the stretched direction, momentum to escape to the boundary that separates the moons.";

    /// <inheritdoc/>
    public override void Run(Lab lab)
    {
        int epochs = lab.Pick(30, 1500, 1500);
        var configs = new[] { ("SGD", 0.0), ("momentum 0.99", 0.99) }.Select(r => (Label: r.Item1, Config: new TrainingConfig
        {
            Data = "moons",
            N = 500,
            Noise = 0.1,
            Flip = 0,
            StretchX = 0.1,
            StretchY = 10,
            Hidden = [64, 64],
            Activation = "relu",
            Optimizer = "sgd",
            Hyperparameters = r.Item2 > 0 ? new() { ["lr"] = 0.001, ["momentum"] = r.Item2 } : new() { ["lr"] = 0.001 },
            Schedule = "power:tau=5000,alpha=1",
            Batch = 8,
            Epochs = epochs,
            Seed = 3,
        })).ToArray();
        lab.Say($"{Name}: {configs.Length} runs of {epochs} epochs");
        var runs = lab.RunAll(configs, c => Classifiers.Train(c.Config));

        var loss = Figures.New("Training loss, stretched moons", "step", "cross-entropy");
        for (int i = 0; i < runs.Length; i++)
        {
            Figures.Line(loss, runs[i].Steps, runs[i].TrainLoss.Select(v => Math.Log10(Math.Max(v, 1e-8))).ToArray(), Figures.Palette[i], configs[i].Label);
        }
        Figures.LogY(loss);
        loss.ShowLegend(Alignment.LowerLeft);
        lab.Add(this, "stretched-loss", "Training loss of SGD and heavy-ball momentum.", loss);
        var train = runs[0].Trainer.Train;
        for (int i = 0; i < runs.Length; i++)
            lab.Add(this, $"stretched-boundary-{(i == 0 ? "sgd" : "momentum")}", $"Probability of class 1 learned by {configs[i].Label} on the stretched data (x is 0.1 times, y 10 times the usual moons).",
                Classifiers.Boundary($"Decision boundary, {configs[i].Label}", runs[i].Trainer.Model, train, -0.16, 0.26, -11, 16));

        var accuracy = runs.Select(r => r.Trainer.Evaluate(r.Trainer.Train).Accuracy).ToArray();
        var curvature = lab.RunAll(runs, r => new Curvature(r.Trainer.Model, r.Trainer.Train, Loss.CrossEntropy).ExtremeEigenvalues(lab.Pick(15, 80, 150), new Rng(9)));
        for (int i = 0; i < runs.Length; i++)
        {
            var (max, min) = curvature[i];
            string condition = min > 0 ? $"{max / min:G3}" : $"undefined (lambda_min = {min:G3} <= 0)";
            lab.Claim(this, $"{configs[i].Label}: train loss, train accuracy", $"{runs[i].TrainLoss[^1]:G3}, {accuracy[i]:P1}", "", null);
            lab.Claim(this, $"{configs[i].Label}: Hessian lambda_max, lambda_min, condition number (estimates)", $"{max:G3}, {min:G3}, {condition}", "", null);
        }
        lab.Claim(this, "training accuracy: momentum vs SGD", $"{accuracy[1]:P1} vs {accuracy[0]:P1}",
            "SGD stalls on a wrong boundary; momentum escapes to the right solution", accuracy[1] > accuracy[0] + 0.02);
    }
}
