using Descent.Analysis;
using Descent.Data;
using Descent.Nn;
using Descent.Numerics;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Momentum escapes the wrong solution on stretched two moons.</summary>
public sealed class StretchedMoonsMomentum : Experiment<StretchedMoonsMomentum.Results>
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

    private static readonly (string Label, double Momentum)[] Settings = [("SGD", 0.0), ("momentum 0.99", 0.99)];

    /// <summary>The trained networks and the Hessian's extreme eigenvalues at the first seed's solutions.</summary>
    /// <param name="Runs">The runs, <c>[seed][SGD, momentum]</c>.</param>
    /// <param name="Curvature">The largest and smallest Hessian eigenvalue estimates of the first seed's runs.</param>
    public sealed record Results(Classifiers.Run[][] Runs, (double Max, double Min)[] Curvature);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        int epochs = bench.Pick(30, 1500, 1500);
        var configs = Enumerable.Range(0, bench.Seeds).SelectMany(seed => Settings.Select(r => new TrainingConfig
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
            Hyperparameters = r.Momentum > 0 ? new() { ["lr"] = 0.001, ["momentum"] = r.Momentum } : new() { ["lr"] = 0.001 },
            Schedule = "power:tau=5000,alpha=1",
            Batch = 8,
            Epochs = epochs,
            Seed = 3 + (ulong)seed,
        })).ToArray();
        bench.Say($"{Name}: {configs.Length} runs of {epochs} epochs");
        var runs = Classifiers.TrainAll(bench, configs).Chunk(Settings.Length).ToArray();   // [seed][setting]
        var curvature = bench.RunAll(runs[0], r => new Curvature(r.Trainer.Model, r.Trainer.Train, Loss.CrossEntropy).ExtremeEigenvalues(bench.Pick(15, 80, 150), new Rng(9)));
        return new Results(runs, curvature);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var runs = data.Runs;
        var loss = Figures.New("Training loss, stretched moons", "step", "cross-entropy");
        for (int i = 0; i < Settings.Length; i++)
            Figures.SeedCurves(loss, runs[0][i].Steps, [.. runs.Select(r => r[i].TrainLoss)], Figures.Palette[i], Settings[i].Label, v => Math.Log10(Math.Max(v, 1e-8)));
        Figures.LogY(loss);
        loss.ShowLegend(Alignment.LowerLeft);
        bench.Add(this, "stretched-loss", "Training loss of SGD and heavy-ball momentum" + (bench.Seeds > 1 ? $" (median over {bench.Seeds} seeds, range as a band)." : "."), loss);
        var train = runs[0][0].Trainer.Train;
        for (int i = 0; i < Settings.Length; i++)
            bench.Add(this, $"stretched-boundary-{(i == 0 ? "sgd" : "momentum")}", $"Probability of class 1 learned by {Settings[i].Label} on the stretched data (x is 0.1 times, y 10 times the usual moons).",
                Classifiers.Boundary($"Decision boundary, {Settings[i].Label}", runs[0][i].Trainer.Model, train, -0.16, 0.26, -11, 16), 860, 560);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var (runs, curvature) = (data.Runs, data.Curvature);
        var accuracy = runs.Select(seed => seed.Select(r => r.TrainAccuracy).ToArray()).ToArray();
        for (int i = 0; i < Settings.Length; i++)
        {
            int k = i;
            (double max, double min) = curvature[i];
            string condition = min > 0 ? Numbers.Format(max / min) : $"undefined (lambda_min = {Numbers.Format(min)} <= 0)";
            bench.Measure(this, $"{Settings[i].Label}: train loss, train accuracy",
                $"{Spread.Of(runs.Select(r => r[k].TrainLoss[^1])).Format(v => Numbers.Format(v))}, {Spread.Of(accuracy.Select(a => a[k])).Format(Numbers.Percent)}");
            bench.Measure(this, $"{Settings[i].Label}: Hessian lambda_max, lambda_min, condition number (estimates, first seed)", $"{Numbers.Format(max)}, {Numbers.Format(min)}, {condition}");
        }
        bench.Claim(this, "SGD stalls on a wrong boundary; momentum escapes to the right solution", "training accuracy, momentum minus SGD",
            [.. accuracy.Select(a => a[1] - a[0])], Numbers.Points, "at least 5 points in every seed", v => v >= 0.05,
            $"{Numbers.Percent(accuracy[0][1])} vs {Numbers.Percent(accuracy[0][0])} in the first seed");
    }
}
