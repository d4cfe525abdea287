using Descent.Analysis;
using Descent.Nn;
using Descent.Numerics;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Top Hessian eigenvalue and random-perturbation sensitivity of the noisy-moons models against batch size.</summary>
public sealed class Sharpness : Experiment
{
    /// <inheritdoc/>
    public override string Name => "sharpness";

    /// <inheritdoc/>
    public override string Title => "Sharp and flat minima: curvature of the noisy-moons solutions";

    /// <inheritdoc/>
    public override string Description =>
        "For the networks of the batch-size experiment: the largest eigenvalue of the training-loss Hessian (power iteration on Hessian-vector products) " +
        "and the mean loss increase when the weights are moved by random noise of 5% of each tensor's norm. The wide-versus-narrow-minima explanation " +
        "predicts that small batches settle in flatter minima: smaller top eigenvalue, smaller loss increase.";

    /// <inheritdoc/>
    public override void Run(Lab lab)
    {
        var sizes = NoisyMoonsBatchSize.BatchSizes(lab);
        var runs = NoisyMoonsBatchSize.Models(lab, this);
        int iterations = lab.Pick(15, 100, 200);
        int draws = lab.Pick(5, 50, 100);
        var measured = lab.RunAll(runs, r =>
        {
            var c = new Curvature(r.Trainer.Model, r.Trainer.Train, Loss.CrossEntropy);
            double top = c.ExtremeEigenvalues(iterations, new Rng(5)).Max;
            double increase = c.PerturbedLossIncrease(0.05, draws, new Rng(6));
            return (Top: top, Increase: increase);
        });
        var xs = sizes.Select(b => Math.Log10(b)).ToArray();
        var eig = Figures.New("Largest Hessian eigenvalue of the training loss", "batch size", "lambda_max");
        var s = eig.Add.Scatter(xs, measured.Select(m => m.Top).ToArray());
        s.LineWidth = 2;
        s.MarkerSize = 8;
        Figures.LogX(eig, sizes.Select(b => (double)b));
        lab.Add(this, "sharpness-eigenvalue", $"Top eigenvalue of the Hessian at each trained network ({iterations} power iterations).", eig);
        var pert = Figures.New("Loss increase under random weight noise (5% of each tensor's norm)", "batch size", "mean loss increase");
        var p = pert.Add.Scatter(xs, measured.Select(m => m.Increase).ToArray());
        p.LineWidth = 2;
        p.MarkerSize = 8;
        p.Color = Figures.Palette[1];
        Figures.LogX(pert, sizes.Select(b => (double)b));
        lab.Add(this, "sharpness-perturbation", $"Mean increase of the training loss over {draws} random perturbations.", pert);
        for (int i = 0; i < sizes.Length; i++)
            lab.Claim(this, $"B = {sizes[i]}: lambda_max, loss increase at 5% noise", $"{measured[i].Top:G4}, {measured[i].Increase:G3}", "", null);
        int half = Math.Max(1, sizes.Length / 2);
        double smallTop = Median(measured.Take(half).Select(m => m.Top)), largeTop = Median(measured.Skip(sizes.Length - half).Select(m => m.Top));
        lab.Claim(this, "median lambda_max, small-batch half vs large-batch half", $"{smallTop:G4} vs {largeTop:G4}",
            "small batches find flatter minima (smaller top eigenvalue)", smallTop < largeTop);
        double smallInc = Median(measured.Take(half).Select(m => m.Increase)), largeInc = Median(measured.Skip(sizes.Length - half).Select(m => m.Increase));
        lab.Claim(this, "median loss increase under 5% noise, small-batch half vs large-batch half", $"{smallInc:G3} vs {largeInc:G3}",
            "small batches find flatter minima (smaller loss increase)", smallInc < largeInc);
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
