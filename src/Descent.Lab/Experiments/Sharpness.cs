using Descent.Analysis;
using Descent.Nn;
using Descent.Numerics;

namespace Descent.Lab.Experiments;

/// <summary>Top Hessian eigenvalue and random-perturbation sensitivity of the noisy-moons models against batch size.</summary>
public sealed class Sharpness : Experiment<Sharpness.Results>
{
    /// <inheritdoc/>
    public override string Name => "sharpness";

    /// <inheritdoc/>
    public override string Title => "Sharp and flat minima: curvature of the noisy-moons solutions";

    /// <inheritdoc/>
    public override string Description =>
        "For the networks of the batch-size experiment: the largest eigenvalue of the training-loss Hessian (Lanczos on exact Hessian-vector products) " +
        "and the mean loss increase when the weights are moved by random noise of 5% of each tensor's norm. The wide-versus-narrow-minima explanation " +
        "predicts that small batches settle in flatter minima: smaller top eigenvalue, smaller loss increase.";

    /// <summary>The networks and, for each, its top Hessian eigenvalue and mean loss increase under weight noise.</summary>
    /// <param name="BatchSizes">The batch sizes, smallest first.</param>
    /// <param name="Iterations">Lanczos iterations per eigenvalue.</param>
    /// <param name="Draws">Random perturbations per network.</param>
    /// <param name="Measured">The top eigenvalue and loss increase, <c>[seed][batch size]</c>.</param>
    public sealed record Results(int[] BatchSizes, int Iterations, int Draws, (double Top, double Increase)[][] Measured);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var networks = NoisyMoonsNetworks.Of(bench);
        int iterations = bench.Pick(15, 100, 200);
        int draws = bench.Pick(5, 50, 100);
        var measured = bench.RunAll(networks.Runs.SelectMany(m => m).ToArray(), r =>
        {
            var c = new Curvature(r.Trainer.Model, r.Trainer.Train, Loss.CrossEntropy);
            double top = c.TopEigenvalues(1, iterations, new Rng(5))[0];
            double increase = c.PerturbedLossIncrease(0.05, draws, new Rng(6));
            return (Top: top, Increase: increase);
        }).Chunk(networks.BatchSizes.Length).ToArray();
        return new Results(networks.BatchSizes, iterations, draws, measured);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var (sizes, measured) = (data.BatchSizes, data.Measured);
        string seedsNote = bench.Seeds > 1 ? $"; median over {bench.Seeds} seeds with their range as a band" : "";
        var xs = sizes.Select(b => Math.Log10(b)).ToArray();
        var eig = Figures.New("Largest Hessian eigenvalue of the training loss", "batch size", "lambda_max");
        Figures.SeedCurves(eig, xs, [.. measured.Select(m => m.Select(v => v.Top).ToArray())], Figures.Palette[0], "", v => Math.Log10(Math.Max(v, 1e-8)), markers: true);
        Figures.LogY(eig);
        Figures.LogX(eig, sizes.Select(b => (double)b));
        bench.Add(this, "sharpness-eigenvalue", $"Top eigenvalue of the Hessian at each trained network ({data.Iterations} power iterations){seedsNote}.", eig);
        var pert = Figures.New("Loss increase under random weight noise (5% of each tensor's norm)", "batch size", "mean loss increase");
        Figures.SeedCurves(pert, xs, [.. measured.Select(m => m.Select(v => v.Increase).ToArray())], Figures.Palette[1], "", v => Math.Log10(Math.Max(v, 1e-8)), markers: true);
        Figures.LogY(pert);
        Figures.LogX(pert, sizes.Select(b => (double)b));
        bench.Add(this, "sharpness-perturbation", $"Mean increase of the training loss over {data.Draws} random perturbations{seedsNote}.", pert);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var (sizes, measured) = (data.BatchSizes, data.Measured);
        for (int i = 0; i < sizes.Length; i++)
        {
            int b = i;
            bench.Measure(this, $"B = {sizes[i]}: lambda_max, loss increase at 5% noise",
                $"{Spread.Of(measured.Select(m => m[b].Top)).Format(v => Numbers.Format(v))}, {Spread.Of(measured.Select(m => m[b].Increase)).Format(v => Numbers.Format(v))}");
        }
        int half = Math.Max(1, sizes.Length / 2);
        // The ratio of the two halves' medians; a non-positive median (noise that happened to lower the loss) makes
        // the ratio meaningless, so it counts as the claim failing.
        double Ratio(IEnumerable<double> values)
        {
            var v = values.ToArray();
            double small = Spread.Of(v.Take(half)).Median, large = Spread.Of(v.Skip(v.Length - half)).Median;
            return small > 0 && large > 0 ? large / small : double.NaN;
        }
        bench.Claim(this, "small batches find flatter minima (smaller top eigenvalue)", $"median lambda_max of the {half} largest batch sizes / of the {half} smallest",
            [.. measured.Select(m => Ratio(m.Select(v => v.Top)))], Numbers.Times, "at least 2x in every seed (both medians positive)", v => v >= 2);
        bench.Claim(this, "small batches find flatter minima (smaller loss increase under weight noise)", $"median loss increase of the {half} largest batch sizes / of the {half} smallest",
            [.. measured.Select(m => Ratio(m.Select(v => v.Increase)))], Numbers.Times, "at least 2x in every seed (both medians positive)", v => v >= 2);
    }
}
