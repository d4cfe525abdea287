using Descent.Data;
using System.Text.Json.Serialization;
using Descent.Nn;
using Descent.State;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab;

/// <summary>Training runs with loss curves, and pictures of what a 2-D classifier learned.</summary>
public static class Classifiers
{
    /// <summary>
    /// A finished training run: its config and final state, its loss curves, its final accuracies on the whole training and
    /// test sets (from the last evaluation, at the last step) and its wall time. <see cref="Trainer"/> is the trainer at the
    /// end: the one that trained it, or, for a run read back from the bench's kept runs, one rebuilt from the config and the state.
    /// </summary>
    public sealed record Run(TrainingConfig Config, StateDict State, double[] Steps, double[] TrainLoss, double[] TestLoss, double TrainAccuracy,
        double TestAccuracy, double Seconds)
    {
        private readonly Lock _restore = new();
        private Trainer? _trainer;

        /// <summary>The trainer (model and data) as the run left it.</summary>
        [JsonIgnore]
        public Trainer Trainer
        {
            get
            {
                lock (_restore)
                {
                    if (_trainer is null)
                    {
                        var trainer = new Trainer(Config);
                        trainer.LoadState(State);
                        _trainer = trainer;
                    }
                    return _trainer;
                }
            }
            init => _trainer = value;
        }
    }

    /// <summary>
    /// Trains <paramref name="config"/> to the end through the training loop, evaluating the full training and test sets
    /// at <paramref name="points"/> evenly spaced steps; the seconds are those of the steps alone. A diverged run throws
    /// the loop's <see cref="DivergenceException"/>.
    /// </summary>
    public static Run Train(TrainingConfig config, int points = 60)
    {
        var trainer = new Trainer(config);
        var log = new MetricsLog();
        var outcome = new TrainingLoop(trainer, log) { EvalEvery = Math.Max(1, trainer.TotalSteps / points), CheckpointEvery = 0 }.Run();
        if (outcome.Divergence is { } divergence) throw new DivergenceException(divergence);
        var rows = log.Rows;
        var state = new StateDict();
        trainer.SaveState(state);
        return new Run(config, state, [.. rows.Select(r => (double)r.Step)], [.. rows.Select(r => r.TrainLoss)], [.. rows.Select(r => r.TestLoss)],
            rows[^1].TrainAccuracy, rows[^1].TestAccuracy, outcome.TrainingSeconds)
        { Trainer = trainer };
    }

    /// <summary>
    /// <see cref="Train"/> for every config, across the cores, kept in the bench's runs (read back when trained before, and
    /// sharded with the bench), with <paramref name="points"/> evaluations each (one per config when given as a list).
    /// </summary>
    public static Run[] TrainAll(Workbench bench, IReadOnlyList<TrainingConfig> configs, int points = 60, Func<TrainingConfig, double>? cost = null) =>
        TrainAll(bench, [.. configs.Select(c => (c, points))], cost);

    /// <inheritdoc cref="TrainAll(Workbench, IReadOnlyList{TrainingConfig}, int, Func{TrainingConfig, double}?)"/>
    public static Run[] TrainAll(Workbench bench, IReadOnlyList<(TrainingConfig Config, int Points)> configs, Func<TrainingConfig, double>? cost = null) =>
        bench.RunKept("classifier", configs, c => Train(c.Config, c.Points), cost is null ? null : c => cost(c.Config));

    /// <summary>The probability of class 1 over a grid, drawn as a heat map with the training points on top.</summary>
    public static Plot Boundary(string title, Sequential<float> model, Dataset data, double xMin, double xMax, double yMin, double yMax, int resolution = 180)
    {
        var plot = Figures.New(title + " (colour: probability of class 1)", "x", "y");
        var grid = new float[resolution * resolution * 2];
        for (int r = 0; r < resolution; r++)
            for (int c = 0; c < resolution; c++)
            {
                grid[2 * (r * resolution + c)] = (float)(xMin + (xMax - xMin) * c / (resolution - 1));
                grid[2 * (r * resolution + c) + 1] = (float)(yMax - (yMax - yMin) * r / (resolution - 1));
            }
        var outputs = model.Forward(grid, resolution * resolution);
        var p = new double[resolution, resolution];
        for (int r = 0; r < resolution; r++)
            for (int c = 0; c < resolution; c++)
            {
                int i = r * resolution + c;
                p[r, c] = model.Outputs == 1 ? 1 / (1 + Math.Exp(-outputs[i])) : 1 / (1 + Math.Exp(outputs[2 * i] - outputs[2 * i + 1]));
            }
        var heat = plot.Add.Heatmap(p);
        heat.Extent = new CoordinateRect(xMin, xMax, yMin, yMax);
        heat.Colormap = ProbabilityColors;
        heat.ManualRange = new ScottPlot.Range(0, 1);
        plot.Add.ColorBar(heat);
        Points(plot, data);
        plot.Axes.SetLimits(xMin, xMax, yMin, yMax);
        return plot;
    }

    /// <summary>
    /// Light blue through white to light orange-red: pale enough that the class points (saturated, outlined) stay
    /// visible on either side of the boundary, with white at probability one half.
    /// </summary>
    private static readonly ScottPlot.IColormap ProbabilityColors = new ScottPlot.Colormaps.CustomInterpolated(
        [new Color(120, 160, 220), new Color(200, 220, 245), Colors.White, new Color(250, 215, 195), new Color(230, 150, 120)]);

    /// <summary>The two class colours: saturated blue and red, drawn with a dark outline.</summary>
    private static readonly Color[] ClassColors = [new Color(20, 60, 200), new Color(210, 30, 30)];

    /// <summary>Scatter of a 2-D dataset coloured by label.</summary>
    public static void Points(Plot plot, Dataset data, IReadOnlySet<int>? ring = null)
    {
        foreach (int label in new[] { 0, 1 })
        {
            var idx = Enumerable.Range(0, data.Count).Where(i => data.Labels[i] == label).ToArray();
            var s = plot.Add.ScatterPoints(idx.Select(i => (double)data.Row(i)[0]).ToArray(), idx.Select(i => (double)data.Row(i)[1]).ToArray());
            s.MarkerShape = MarkerShape.FilledCircle;
            s.MarkerFillColor = ClassColors[label];
            s.MarkerLineColor = Colors.Black;
            s.MarkerLineWidth = 0.75f;
            s.MarkerSize = 6;
            s.LegendText = $"class {label}";
        }
        if (ring is { Count: > 0 })
        {
            var r = plot.Add.ScatterPoints(ring.Select(i => (double)data.Row(i)[0]).ToArray(), ring.Select(i => (double)data.Row(i)[1]).ToArray());
            r.MarkerShape = MarkerShape.OpenCircle;
            r.MarkerSize = 11;
            r.Color = Colors.Black;
            r.LegendText = "flipped label";
        }
    }
}
