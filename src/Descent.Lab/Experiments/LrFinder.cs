using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>
/// The learning-rate range test (<see cref="LearningRateFinder"/>) for SGD with Nesterov momentum and for Adam on the CNN,
/// and a check of its suggestion: a run at the suggested rate against the best rate of cnn-lr-sensitivity's grid.
/// </summary>
public sealed class LrFinder : Experiment<LrFinder.Results>
{
    /// <summary>The suggestion counts as good when its run's accuracy is within this of the grid's best (same optimizer, same seed).</summary>
    private const double Within = 0.01;

    private static readonly (string Optimizer, string Label)[] Compared = [("sgd", "SGD + Nesterov 0.9"), ("adam", "Adam")];

    /// <summary>One optimizer in one seed.</summary>
    /// <param name="Finder">The range test.</param>
    /// <param name="Grid">The grid runs of cnn-lr-sensitivity, at <see cref="CnnRuns.Rates"/>.</param>
    /// <param name="AtMinimum">The run at the suggestion a tenth of the minimum.</param>
    /// <param name="AtSteepest">The run at the steepest-descent suggestion (trained at quick and full scale only, to keep the default report short).</param>
    public sealed record Check(LearningRateFinderResult Finder, CnnRuns.Run[] Grid, CnnRuns.Run AtMinimum, CnnRuns.Run? AtSteepest)
    {
        /// <summary>The best validation accuracy of the grid.</summary>
        public double GridBest => Grid.Max(r => r.ValidationAccuracy);
    }

    /// <summary>Everything measured.</summary>
    /// <param name="Checks">The checks, <c>[seed][optimizer: SGD, Adam]</c>.</param>
    /// <param name="Iterations">Iterations of each range test.</param>
    public sealed record Results(Check[][] Checks, int Iterations);

    /// <inheritdoc/>
    public override string Name => "lr-finder";

    /// <inheritdoc/>
    public override string Title => "The learning-rate range test on the CNN, and whether its suggestion trains well";

    /// <inheritdoc/>
    public override string Description =>
        "The range test of Smith (2017) as fastai runs it (`descent lr-find`): 100 minibatches of the CNN's training run at rates rising exponentially " +
        "from 1e-7 to 10, the loss smoothed (beta 0.98), stopped once it exceeds 4x its minimum; suggestions at the steepest descent and at a tenth of the " +
        "minimum. For SGD with Nesterov momentum 0.9 and for Adam, a run at the suggestion a tenth of the minimum (and at the steepest one at quick and " +
        "full scale) with the budget of cnn-lr-sensitivity, whose grid runs (1e-4 to 1e-1) it shares; the claim is that the suggestion trains to within " +
        "one point of the grid's best accuracy.";

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        int seeds = CnnRuns.Seeds(bench);
        var options = new LearningRateFinderOptions { Iterations = bench.Pick(20, 100, 100) };
        var pairs = Enumerable.Range(0, seeds).SelectMany(seed => Compared.Select(c => (Seed: seed, c.Optimizer))).ToList();
        bench.Say($"{Name}: {pairs.Count} range tests, then runs at their suggestions and the grid of cnn-lr-sensitivity (shared where it ran)");
        var finders = bench.RunKept("lr-find", pairs, p => LearningRateFinder.Run(CnnRuns.Config(bench, new CnnRuns.Setting("mnist", p.Optimizer, options.StartLr, p.Seed)), options));
        bool steepest = bench.Scale != Scale.Default;
        var settings = pairs.SelectMany((p, i) => new[] { new CnnRuns.Setting("mnist", p.Optimizer, finders[i].Minimum.LearningRate, p.Seed) }
            .Concat(steepest ? [new CnnRuns.Setting("mnist", p.Optimizer, finders[i].Steepest.LearningRate, p.Seed)] : [])
            .Concat(CnnRuns.Rates.Select(lr => new CnnRuns.Setting("mnist", p.Optimizer, lr, p.Seed)))).ToList();
        var runs = CnnRuns.Of(bench, settings);
        int per = runs.Length / pairs.Count;
        var checks = pairs.Select((p, i) =>
        {
            var own = runs.Skip(i * per).Take(per).ToArray();
            return new Check(finders[i], own[^CnnRuns.Rates.Count..], own[0], steepest ? own[1] : null);
        }).ToArray();
        return new Results([.. checks.Chunk(Compared.Length)], options.Iterations);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        for (int o = 0; o < Compared.Length; o++)
            bench.Add(this, $"lr-finder-{Compared[o].Optimizer}", $"The range test of {Compared[o].Label} on the CNN (first seed): the smoothed loss against the rate and the two suggestions.",
                LearningRateFinderFigure.Draw(data.Checks[0][o].Finder, $"Range test: {Compared[o].Label} on the CNN"), 800, 520);

        // Accuracy against rate: the grid as a line, the suggested rates' runs as large markers on the same axes.
        var plot = Figures.New("Runs at the range test's suggestions against the grid", "learning rate", "validation accuracy");
        double[] xs = [.. CnnRuns.Rates.Select(Math.Log10)];
        var all = new List<double>(CnnRuns.Rates);
        for (int o = 0; o < Compared.Length; o++)
        {
            int k = o;
            var color = Figures.Palette[o == 0 ? 0 : 2];
            Figures.SeedCurves(plot, xs, [.. data.Checks.Select(s => s[k].Grid.Select(r => r.ValidationAccuracy).ToArray())], color, $"{Compared[o].Label}: grid", markers: true);
            foreach (var (run, shape, label) in new[] { (data.Checks[0][o].AtMinimum, MarkerShape.FilledDiamond, "minimum / 10"), (data.Checks[0][o].AtSteepest, MarkerShape.FilledTriangleUp, "steepest") })
            {
                if (run is null) continue;
                var marker = plot.Add.Marker(Math.Log10(run.Setting.Lr), run.ValidationAccuracy);
                marker.Color = color;
                marker.Shape = shape;
                marker.Size = 16;
                marker.LegendText = $"{Compared[o].Label}: {label}, lr {Numbers.Format(run.Setting.Lr)}";
                all.Add(run.Setting.Lr);
            }
        }
        double lo = Math.Log10(all.Min()), hi = Math.Log10(all.Max());
        var (positions, labels) = Figures.LogTicks(Math.Floor(lo), Math.Ceiling(hi));
        plot.Axes.Bottom.SetTicks(positions, labels);
        plot.Axes.SetLimitsX(lo - 0.2, hi + 0.2);
        plot.Axes.SetLimitsY(0, 1);
        Figures.LegendOutside(plot);
        bench.Add(this, "lr-finder-check", "Final validation accuracy of the grid runs (lines) and of the runs at the range test's suggestions (large markers; first seed)" +
            (data.Checks.Length > 1 ? $"; grid: median over {data.Checks.Length} seeds, their range as a band." : "."), plot, 1000, 520);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        for (int o = 0; o < Compared.Length; o++)
        {
            int k = o;
            var checks = data.Checks.Select(s => s[k]).ToArray();
            bench.Measure(this, $"{Compared[o].Label}: suggested rates, steepest / minimum / 10 (range test stopped: {string.Join(", ", checks.Select(c => c.Finder.Stop).Distinct())})",
                $"{Spread.Of(checks.Select(c => c.Finder.Steepest.LearningRate)).Format(v => Numbers.Format(v))} / {Spread.Of(checks.Select(c => c.Finder.Minimum.LearningRate)).Format(v => Numbers.Format(v))}");
            bench.Measure(this, $"{Compared[o].Label}: accuracy at minimum / 10, and the grid's best (at its rate)",
                $"{Spread.Of(checks.Select(c => c.AtMinimum.ValidationAccuracy)).Format(Numbers.Percent)}, grid {Spread.Of(checks.Select(c => c.GridBest)).Format(Numbers.Percent)} " +
                $"(lr {string.Join(", ", checks.Select(c => Numbers.Format(c.Grid.MaxBy(r => r.ValidationAccuracy)!.Setting.Lr)))})");
            if (checks.All(c => c.AtSteepest is not null))
                bench.Measure(this, $"{Compared[o].Label}: accuracy at the steepest suggestion", Spread.Of(checks.Select(c => c.AtSteepest!.ValidationAccuracy)).Format(Numbers.Percent));
            bench.Claim(this, $"{Compared[o].Label}: the range test's suggestion (a tenth of the minimum) trains to within one point of the grid's best",
                "validation accuracy at the suggested rate minus the grid's best (1e-4 to 1e-1, same seed and budget)",
                [.. checks.Select(c => c.AtMinimum.ValidationAccuracy - c.GridBest)], Numbers.Points, "at least -1 point in every seed", v => v >= -Within,
                $"lr {Numbers.Format(checks[0].AtMinimum.Setting.Lr)}: {Numbers.Percent(checks[0].AtMinimum.ValidationAccuracy)} against {Numbers.Percent(checks[0].GridBest)} in the first seed");
        }
    }
}
