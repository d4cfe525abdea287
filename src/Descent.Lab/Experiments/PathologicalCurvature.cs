using Descent.Landscapes;
using Descent.Optim;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>SGD, EMA momentum and Adam on tanh(w1)^2 + 0.01|w1| + sigmoid(w2) from (7, 7).</summary>
public sealed class PathologicalCurvature : Experiment<PathologicalCurvature.Results>
{
    /// <inheritdoc/>
    public override string Name => "pathological-curvature";

    /// <inheritdoc/>
    public override string Title => "Pathological curvature: a narrow ravine on a plateau";

    /// <inheritdoc/>
    public override string Description =>
        "The surface tanh(w1)^2 + 0.01|w1| + sigmoid(w2) is a plateau cut by a narrow valley along w1 = 0 that slopes gently towards w2 = -inf. " +
        "From (7, 7), SGD (lr 10) and SGD with moving-average momentum 0.9 (lr 10) take steps set by the steep walls and bounce across the valley, " +
        "while Adam (lr 1) scales each coordinate by its own gradient history and runs down the valley floor.";

    private static readonly (string Label, string Optimizer, Action<OptimizerOptions> Set)[] Runs =
    [
        ("SGD lr 10", "sgd", o => o.LearningRate = 10),
        ("SGD + momentum 0.9 (EMA) lr 10", "sgd", o => { o.LearningRate = 10; o.Set("momentum", 0.9); o.Set("dampening", 0.9); }),
        ("Adam lr 1", "adam", o => o.LearningRate = 1),
    ];

    /// <summary>The three optimizers' paths over 50 and over 1,000 updates.</summary>
    /// <param name="Walks">The number of updates and the paths, one per optimizer, shortest walk first.</param>
    public sealed record Results((int Steps, PathPoint[][] Paths)[] Walks);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var f = Landscape.Get("pathological");
        return new Results([.. new[] { 50, 1000 }.Select(steps => (steps, Runs.Select(r =>
        {
            var options = Optimizers.DefaultOptions(r.Optimizer);
            r.Set(options);
            return Trajectory.Run(f, r.Optimizer, options, (7, 7), steps);
        }).ToArray()))]);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var f = Landscape.Get("pathological");
        foreach (var (steps, paths) in data.Walks)
        {
            double reach = paths.SelectMany(p => p).Max(p => Math.Abs(p.X));
            double yMin = paths.SelectMany(p => p).Min(p => p.Y), yMax = paths.SelectMany(p => p).Max(p => p.Y);
            var bounds = new Bounds(-reach - 0.5, reach + 0.5, yMin - 0.5, yMax + 0.5);
            var plot = Figures.New($"Pathological curvature, {steps} updates from (7, 7)", "w1", "w2");
            Figures.Surface(plot, f.Value, bounds, logScale: false);
            for (int i = 0; i < paths.Length; i++) Figures.Path(plot, paths[i], Figures.Palette[i], Runs[i].Label, every: steps > 100 ? 5 : 1);
            plot.ShowLegend(Alignment.LowerRight);
            bench.Add(this, $"pathological-{steps}", $"Paths of the three optimizers over {steps} updates on the surface (darker is lower).", plot);
            if (steps == 50)
                bench.Add(this, "pathological-3d", "The 50-update paths drawn on a projected (3-D) view of the surface.", Projected(f, paths, bounds));
        }
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var paths = data.Walks.Single(w => w.Steps == 1000).Paths;
        for (int i = 0; i < paths.Length; i++)
            bench.Measure(this, $"loss after 1000 updates, {Runs[i].Label}", $"{Numbers.Format(paths[i][^1].Loss)} at ({Numbers.Format(paths[i][^1].X)}, {Numbers.Format(paths[i][^1].Y)})");
        double adam = paths[2][^1].Loss, sgd = paths[0][^1].Loss, momentum = paths[1][^1].Loss;
        double sgdSwing = paths[0].Skip(900).Max(p => Math.Abs(p.X));
        bench.Measure(this, "SGD: largest |w1| over the last 100 updates (how far it still bounces across the valley)", Numbers.Format(sgdSwing));
        bench.Claim(this, "SGD and momentum jump across the ravine; Adam runs down its floor and ends lowest", "final loss, Adam / the lower of SGD and momentum",
            [adam / Math.Min(sgd, momentum)], Numbers.Times, "below 0.1x (deterministic: one run)", v => v < 0.1,
            $"Adam {Numbers.Format(adam)}, SGD {Numbers.Format(sgd)}, momentum {Numbers.Format(momentum)}");
    }

    /// <summary>An oblique projection of the surface (a wireframe) with the paths lifted onto it.</summary>
    private static Plot Projected(Landscape f, IReadOnlyList<PathPoint>[] paths, Bounds b)
    {
        var plot = Figures.New("Pathological curvature: 50 updates, 3-D view", "", "");
        double zScale = (b.YMax - b.YMin) * 0.6;
        (double X, double Y) Project(double x, double y, double z)
        {
            // Camera looking along (1, 1, -1): screen x = (x - y) cos 30, screen y = z - (x + y) sin 30.
            double u = (x - b.XMin) / (b.XMax - b.XMin), v = (y - b.YMin) / (b.YMax - b.YMin);
            return ((u - v) * 0.866, z * zScale / (b.YMax - b.YMin) - (u + v) * 0.5);
        }
        const int lines = 20, samples = 120;
        for (int k = 0; k <= lines; k++)
        {
            foreach (bool alongX in new[] { true, false })
            {
                var xs = new double[samples];
                var ys = new double[samples];
                for (int s = 0; s < samples; s++)
                {
                    double x = alongX ? b.XMin + (b.XMax - b.XMin) * s / (samples - 1) : b.XMin + (b.XMax - b.XMin) * k / lines;
                    double y = alongX ? b.YMin + (b.YMax - b.YMin) * k / lines : b.YMin + (b.YMax - b.YMin) * s / (samples - 1);
                    (xs[s], ys[s]) = Project(x, y, f.Value(x, y));
                }
                var line = plot.Add.ScatterLine(xs, ys);
                line.Color = Colors.Gray.WithAlpha(0.45);
                line.LineWidth = 1;
            }
        }
        for (int i = 0; i < paths.Length; i++)
        {
            var pts = paths[i].Select(p => Project(p.X, p.Y, p.Loss)).ToArray();
            var line = plot.Add.ScatterLine(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray());
            line.Color = Figures.Palette[i];
            line.LineWidth = 2.5f;
            line.LegendText = Runs[i].Label;
        }
        // The three axes from the corner (w1 min, w2 min, height 0), labelled at their far ends.
        var (ox, oy) = Project(b.XMin, b.YMin, 0);
        foreach (var (x, y, z, label) in new (double X, double Y, double Z, string Label)[] { (b.XMax, b.YMin, 0, "w1"), (b.XMin, b.YMax, 0, "w2"), (b.XMin, b.YMin, 1, "loss") })
        {
            var (ex, ey) = Project(x, y, z);
            var axis = plot.Add.Line(ox, oy, ex, ey);
            axis.Color = Colors.Black;
            axis.LineWidth = 1.5f;
            var text = plot.Add.Text(label, ex, ey);
            text.LabelFontSize = 16;
            text.LabelAlignment = x > b.XMin ? Alignment.UpperLeft : y > b.YMin ? Alignment.UpperRight : Alignment.LowerCenter;
        }
        plot.HideGrid();
        foreach (var edge in new ScottPlot.IAxis[] { plot.Axes.Bottom, plot.Axes.Left, plot.Axes.Right, plot.Axes.Top }) edge.IsVisible = false;
        Figures.LegendOutside(plot);
        return plot;
    }
}
