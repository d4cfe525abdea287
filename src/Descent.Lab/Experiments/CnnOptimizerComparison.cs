using Descent.Data;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>SGD with Nesterov momentum, RMSProp and Adam train the small CNN: which converges fastest, which ends most accurate.</summary>
public sealed class CnnOptimizerComparison : Experiment<CnnOptimizerComparison.Results>
{
    /// <inheritdoc/>
    public override string Name => "cnn-optimizer-comparison";

    /// <inheritdoc/>
    public override string Title => "Optimizers on a small CNN: which converges fastest, which ends most accurate";

    /// <inheritdoc/>
    public override string Description =>
        "The cnn preset (conv 32 - max pool - conv 64 - max pool - dense 128 - 10) on the MNIST digits, batch 64, trained by SGD with Nesterov momentum 0.9, " +
        "RMSProp and Adam at the settings the chapter recommends (lr 0.1, 1e-3, 1e-3) and each at its best rate from the grid 1e-4, 1e-3, 1e-2, 1e-1 " +
        "(the best final validation accuracy); Fashion-MNIST as a second data set where its files are installed. The default scale trains 400 steps " +
        "(3.2 epochs of the embedded digits), --full 10 epochs with 3 seeds. The training loss is the mean minibatch loss between evaluations; " +
        "validation is on held-out test images.";

    /// <summary>The grid on MNIST and the recommended settings on Fashion-MNIST.</summary>
    /// <param name="Grid">Every optimizer at every rate, <c>[seed][optimizer][rate]</c> (optimizers and rates as in <see cref="CnnRuns"/>).</param>
    /// <param name="Fashion">The recommended settings on Fashion-MNIST, <c>[seed][optimizer]</c>, or null when its files are not installed.</param>
    /// <param name="Best">Each optimizer's best rate from the grid (highest median final validation accuracy over seeds).</param>
    public sealed record Results(CnnRuns.Run[][][] Grid, CnnRuns.Run[][]? Fashion, double[] Best);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var optimizers = CnnRuns.Optimizers;
        int seeds = CnnRuns.Seeds(bench);
        var grid = Enumerable.Range(0, seeds).SelectMany(seed => optimizers.SelectMany(o => CnnRuns.Rates.Select(lr => new CnnRuns.Setting("mnist", o.Optimizer, lr, seed)))).ToList();
        bool fashion = CnnRuns.FashionAvailable();
        var extra = fashion ? Enumerable.Range(0, seeds).SelectMany(seed => optimizers.Select(o => new CnnRuns.Setting("fashion-mnist", o.Optimizer, o.Recommended, seed))).ToList() : [];
        bench.Say($"{Name}: {grid.Count + extra.Count} CNN runs ({optimizers.Count} optimizers x {CnnRuns.Rates.Count} rates x {seeds} seed(s) on MNIST" +
            (fashion ? $", {extra.Count} on Fashion-MNIST)" : "; Fashion-MNIST not installed)"));
        var runs = CnnRuns.Of(bench, [.. grid, .. extra]);
        var byGrid = runs[..grid.Count].Chunk(optimizers.Count * CnnRuns.Rates.Count).Select(s => s.Chunk(CnnRuns.Rates.Count).ToArray()).ToArray();
        var best = Enumerable.Range(0, optimizers.Count)
            .Select(o => CnnRuns.Rates[Enumerable.Range(0, CnnRuns.Rates.Count).MaxBy(r => Spread.Of(byGrid.Select(s => s[o][r].ValidationAccuracy)).Median)]).ToArray();
        return new Results(byGrid, fashion ? [.. runs[grid.Count..].Chunk(optimizers.Count)] : null, best);
    }

    /// <summary>The run of optimizer <paramref name="o"/> at rate <paramref name="lr"/> in every seed.</summary>
    private static CnnRuns.Run[] At(Results data, int o, double lr)
    {
        int r = CnnRuns.Rates.ToList().IndexOf(lr);
        return [.. data.Grid.Select(seed => seed[o][r])];
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var optimizers = CnnRuns.Optimizers;
        string seedsNote = data.Grid.Length > 1 ? $"; median over {data.Grid.Length} seeds, their range as a band" : "";
        foreach (var (title, name, pick) in new[] { ("Training loss (mean minibatch loss)", "train", 0), ("Validation loss", "validation", 1) })
        {
            var plot = Figures.New($"CNN on MNIST digits: {title.ToLowerInvariant()}", "step", "cross-entropy");
            for (int o = 0; o < optimizers.Count; o++)
            {
                // The recommended setting in the optimizer's colour; its best grid rate, where different, in the matching lighter colour.
                foreach (var (lr, tag, color) in new[] { (optimizers[o].Recommended, "recommended", Figures.Palette[o]), (data.Best[o], "best of grid", Figures.Palette[o].WithAlpha(0.5)) })
                {
                    if (tag == "best of grid" && lr == optimizers[o].Recommended) continue;
                    var runs = At(data, o, lr);
                    if (runs.Any(r => r.DivergedAt > 0)) continue;   // a curve that stops early has no median with the others
                    Figures.SeedCurves(plot, runs[0].Steps, [.. runs.Select(r => pick == 0 ? r.TrainLoss : r.ValidationLoss)], color,
                        $"{optimizers[o].Label}, lr {Numbers.Format(lr)} ({tag})", Math.Log10);
                }
            }
            Figures.LogY(plot);
            Figures.LegendOutside(plot);
            bench.Add(this, $"cnn-comparison-{name}-loss", $"{title} of the CNN on the MNIST digits, each optimizer at its recommended rate and at its best rate from the grid{seedsNote}.", plot, 1000, 520);
        }
        if (data.Fashion is { } fashion)
        {
            var plot = Figures.New("CNN on Fashion-MNIST: validation loss (solid) and training loss (light)", "step", "cross-entropy");
            for (int o = 0; o < optimizers.Count; o++)
            {
                int k = o;
                if (fashion.Any(s => s[k].DivergedAt > 0)) continue;
                Figures.SeedCurves(plot, fashion[0][o].Steps, [.. fashion.Select(s => s[k].TrainLoss)], Figures.Palette[o].WithAlpha(0.45), $"{optimizers[o].Label}, lr {Numbers.Format(optimizers[o].Recommended)}: training", Math.Log10);
                Figures.SeedCurves(plot, fashion[0][o].Steps, [.. fashion.Select(s => s[k].ValidationLoss)], Figures.Palette[o], $"{optimizers[o].Label}, lr {Numbers.Format(optimizers[o].Recommended)}: validation", Math.Log10);
            }
            Figures.LogY(plot);
            Figures.LegendOutside(plot);
            bench.Add(this, "cnn-comparison-fashion", $"The same CNN and recommended settings on Fashion-MNIST{seedsNote}.", plot, 1000, 520);
        }
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var optimizers = CnnRuns.Optimizers;
        int sgd = 0, adam = 2;
        // How fast a run converges: the mean of its training-loss curve (the area under it over the run), lower is faster.
        static double Area(CnnRuns.Run r) => r.DivergedAt > 0 ? double.PositiveInfinity : r.TrainLoss.Average();
        for (int o = 0; o < optimizers.Count; o++)
        {
            var recommended = At(data, o, optimizers[o].Recommended);
            var best = At(data, o, data.Best[o]);
            bench.Measure(this, $"{optimizers[o].Label}, lr {Numbers.Format(optimizers[o].Recommended)} (recommended): mean training loss over the run, final validation loss, validation accuracy",
                Describe(recommended, r => $"{Spread.Of(r.Select(Area)).Format(v => Numbers.Format(v))}, {Spread.Of(r.Select(x => x.ValidationLoss[^1])).Format(v => Numbers.Format(v))}, {Spread.Of(r.Select(x => x.ValidationAccuracy)).Format(Numbers.Percent)}"));
            bench.Measure(this, $"{optimizers[o].Label}: best rate of the grid and its validation accuracy",
                $"lr {Numbers.Format(data.Best[o])}: {Spread.Of(best.Select(x => x.ValidationAccuracy)).Format(Numbers.Percent)}");
            if (data.Fashion is { } fashion)
            {
                var runs = fashion.Select(s => s[o]).ToArray();
                bench.Measure(this, $"Fashion-MNIST, {optimizers[o].Label}, lr {Numbers.Format(optimizers[o].Recommended)}: final validation loss, validation accuracy",
                    Describe(runs, r => $"{Spread.Of(r.Select(x => x.ValidationLoss[^1])).Format(v => Numbers.Format(v))}, {Spread.Of(r.Select(x => x.ValidationAccuracy)).Format(Numbers.Percent)}"));
            }
        }
        if (data.Fashion is null) bench.Measure(this, "Fashion-MNIST", $"not run: its files are not in {Mnist.FashionMnistDirectory} (Debian's dataset-fashion-mnist installs them)");

        // The two questions, answered from the first seed's recommended runs (fastest) and every run of the grid (most accurate).
        var areas = Enumerable.Range(0, optimizers.Count).Select(o => Spread.Of(At(data, o, optimizers[o].Recommended).Select(Area)).Median).ToArray();
        int fastest = Array.IndexOf(areas, areas.Min());
        bench.Measure(this, "which converges fastest (lowest mean training loss over the run, recommended settings)",
            $"{optimizers[fastest].Label} ({string.Join(", ", Enumerable.Range(0, optimizers.Count).Select(o => $"{optimizers[o].Label} {Numbers.Format(areas[o])}"))})");
        var finals = Enumerable.Range(0, optimizers.Count).Select(o => Spread.Of(At(data, o, data.Best[o]).Select(r => r.ValidationAccuracy)).Median).ToArray();
        int accurate = Array.IndexOf(finals, finals.Max());
        bench.Measure(this, "which reaches the best final accuracy (validation accuracy at each optimizer's best rate)",
            $"{optimizers[accurate].Label} ({string.Join(", ", Enumerable.Range(0, optimizers.Count).Select(o => $"{optimizers[o].Label} {Numbers.Percent(finals[o])} at lr {Numbers.Format(data.Best[o])}"))})");

        var adamRuns = At(data, adam, optimizers[adam].Recommended);
        var sgdRuns = At(data, sgd, optimizers[sgd].Recommended);
        bench.Claim(this, "adaptive methods converge faster than SGD with momentum (Kingma and Ba, 2015, on MNIST CNNs)",
            "mean training loss over the run, Adam lr 1e-3 / SGD + Nesterov lr 0.1", [.. adamRuns.Zip(sgdRuns, (a, s) => Area(a) / Area(s))], Numbers.Times,
            "below 0.9x in every seed", v => v < 0.9, $"{Numbers.Format(Area(adamRuns[0]))} vs {Numbers.Format(Area(sgdRuns[0]))} in the first seed");
        var sgdBest = At(data, sgd, data.Best[sgd]);
        var adamBest = At(data, adam, data.Best[adam]);
        bench.Claim(this, "tuned SGD with momentum ends at least as accurate as tuned Adam (Wilson et al., 2017)",
            "final validation accuracy at each one's best grid rate, SGD + Nesterov minus Adam", [.. sgdBest.Zip(adamBest, (s, a) => s.ValidationAccuracy - a.ValidationAccuracy)], Numbers.Points,
            "at least -0.5 points in every seed", v => v >= -0.005,
            $"{Numbers.Percent(sgdBest[0].ValidationAccuracy)} at lr {Numbers.Format(data.Best[sgd])} vs {Numbers.Percent(adamBest[0].ValidationAccuracy)} at lr {Numbers.Format(data.Best[adam])} in the first seed");
    }

    /// <summary>The numbers of <paramref name="runs"/>, or where they stopped when the loss exploded.</summary>
    private static string Describe(CnnRuns.Run[] runs, Func<CnnRuns.Run[], string> numbers) =>
        runs.Any(r => r.DivergedAt > 0) ? $"the loss exploded (stopped at step {string.Join(", ", runs.Select(r => r.DivergedAt))})" : numbers(runs);
}
