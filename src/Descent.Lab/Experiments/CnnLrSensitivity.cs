using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Adam and SGD with Nesterov momentum on the small CNN at learning rates a decade apart: how wide is each one's good range.</summary>
public sealed class CnnLrSensitivity : Experiment<CnnLrSensitivity.Results>
{
    /// <summary>A rate is good when its final validation accuracy is within this of the best run of the grid (same seed).</summary>
    private const double Good = 0.03;

    /// <inheritdoc/>
    public override string Name => "cnn-lr-sensitivity";

    /// <inheritdoc/>
    public override string Title => "Learning-rate sensitivity on a small CNN: Adam against SGD";

    /// <inheritdoc/>
    public override string Description =>
        "The cnn preset on the MNIST digits, batch 64, trained by Adam and by SGD with Nesterov momentum 0.9 at learning rates 1e-4, 1e-3, 1e-2 and 1e-1 " +
        "for the same budget as the comparison experiment (whose runs it shares); a run stops early when its loss explodes (a minibatch loss not finite " +
        "or above three times chance, 6.9). A rate counts as good when its final validation accuracy is within 3 points of the best run of the grid in " +
        "the same seed; the claim under test is that Adam's good range spans more decades than SGD's.";

    private static readonly (string Optimizer, string Label)[] Compared = [("adam", "Adam"), ("sgd", "SGD + Nesterov 0.9")];

    /// <summary>The runs of both optimizers at every rate.</summary>
    /// <param name="Runs">The runs, <c>[seed][optimizer: Adam, SGD][rate]</c>.</param>
    public sealed record Results(CnnRuns.Run[][][] Runs);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        int seeds = CnnRuns.Seeds(bench);
        var settings = Enumerable.Range(0, seeds).SelectMany(seed => Compared.SelectMany(c => CnnRuns.Rates.Select(lr => new CnnRuns.Setting("mnist", c.Optimizer, lr, seed)))).ToList();
        bench.Say($"{Name}: {settings.Count} CNN runs (shared with cnn-optimizer-comparison where it ran)");
        var runs = CnnRuns.Of(bench, settings);
        return new Results([.. runs.Chunk(Compared.Length * CnnRuns.Rates.Count).Select(s => s.Chunk(CnnRuns.Rates.Count).ToArray())]);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var plot = Figures.New("CNN on MNIST digits: validation accuracy after training", "learning rate", "validation accuracy");
        double[] xs = [.. CnnRuns.Rates.Select(Math.Log10)];
        bool ringed = false;
        for (int o = 0; o < Compared.Length; o++)
        {
            int k = o;
            Figures.SeedCurves(plot, xs, [.. data.Runs.Select(s => s[k].Select(r => r.ValidationAccuracy).ToArray())], Figures.Palette[o == 0 ? 2 : 0], Compared[o].Label, markers: true);
            // Runs stopped because the loss exploded are ringed.
            var stopped = Enumerable.Range(0, CnnRuns.Rates.Count).Where(r => data.Runs[0][k][r].DivergedAt > 0).ToArray();
            if (stopped.Length == 0) continue;
            var ring = plot.Add.ScatterPoints(stopped.Select(r => xs[r]).ToArray(), stopped.Select(r => data.Runs[0][k][r].ValidationAccuracy).ToArray());
            ring.MarkerShape = MarkerShape.OpenCircle;
            ring.MarkerSize = 16;
            ring.Color = Colors.Black;
            ring.LegendText = ringed ? "" : "loss exploded, run stopped (first seed)";
            ringed = true;
        }
        Figures.LogX(plot, CnnRuns.Rates);
        plot.Axes.SetLimitsY(0, 1);
        Figures.LegendOutside(plot);
        bench.Add(this, "cnn-lr-sensitivity", "Final validation accuracy of Adam and SGD with Nesterov momentum at four learning rates" +
            (data.Runs.Length > 1 ? $"; median over {data.Runs.Length} seeds, their range as a band." : "."), plot, 960, 520);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        for (int o = 0; o < Compared.Length; o++)
            for (int r = 0; r < CnnRuns.Rates.Count; r++)
            {
                var runs = data.Runs.Select(s => s[o][r]).ToArray();
                string stopped = runs.Any(x => x.DivergedAt > 0) ? $" (loss exploded, stopped at step {string.Join(", ", runs.Select(x => x.DivergedAt))})" : "";
                bench.Measure(this, $"{Compared[o].Label} at lr {Numbers.Format(CnnRuns.Rates[r])}: final validation accuracy",
                    Spread.Of(runs.Select(x => x.ValidationAccuracy)).Format(Numbers.Percent) + stopped);
            }
        // Per seed: each optimizer's good rates, and the width in decades of its longest run of consecutive good rates.
        var widths = data.Runs.Select(seed =>
        {
            double best = seed.SelectMany(o => o).Max(r => r.ValidationAccuracy);
            return seed.Select(o => Width([.. o.Select(r => r.ValidationAccuracy >= best - Good)])).ToArray();
        }).ToArray();
        for (int o = 0; o < Compared.Length; o++)
        {
            int k = o;
            double best = data.Runs[0].SelectMany(x => x).Max(r => r.ValidationAccuracy);
            var good = Enumerable.Range(0, CnnRuns.Rates.Count).Where(r => data.Runs[0][k][r].ValidationAccuracy >= best - Good).Select(r => Numbers.Format(CnnRuns.Rates[r])).ToList();
            bench.Measure(this, $"{Compared[o].Label}: good rates (first seed) and good range in decades",
                $"{(good.Count == 0 ? "none" : string.Join(", ", good))}; {Spread.Of(widths.Select(w => w[k])).Format(v => v < 0 ? "none" : Numbers.Format(v) + " decade(s)")}");
        }
        bench.Claim(this, "Adam works over a wider range of learning rates than SGD (its good range spans more decades)",
            "decades of consecutive good rates (within 3 points of the grid's best accuracy), Adam minus SGD + Nesterov",
            [.. widths.Select(w => Math.Max(w[0], 0) - Math.Max(w[1], 0))], v => Numbers.Format(v) + " decade(s)", "at least 1 decade in every seed", v => v >= 1,
            $"Adam {Describe(widths[0][0])}, SGD {Describe(widths[0][1])} in the first seed");
    }

    /// <summary>The width in decades of the longest run of consecutive good grid rates (the grid is a decade apart); -1 when none is good.</summary>
    private static double Width(bool[] good)
    {
        int longest = 0, current = 0;
        foreach (bool g in good)
        {
            current = g ? current + 1 : 0;
            longest = Math.Max(longest, current);
        }
        return longest - 1;
    }

    private static string Describe(double width) => width < 0 ? "no good rate" : $"{Numbers.Format(width)} decade(s)";
}
