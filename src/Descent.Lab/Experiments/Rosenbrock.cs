using Descent.Landscapes;
using Descent.Optim;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Eight optimizers from (-1.5, 2) down Rosenbrock's curved valley, each at its best learning rate from a grid.</summary>
public sealed class Rosenbrock : Experiment<Rosenbrock.Results>
{
    /// <inheritdoc/>
    public override string Name => "rosenbrock";

    /// <inheritdoc/>
    public override string Title => "Rosenbrock's valley: eight optimizers at tuned learning rates";

    /// <inheritdoc/>
    public override string Description =>
        "From (-1.5, 2) towards the minimum (1, 1) of (1 - x)^2 + 100 (y - x^2)^2. Each optimizer's learning rate is tuned on a logarithmic grid " +
        "(the rate whose worst distance to the minimum over the last tenth of the updates is smallest, among runs that stay finite, so a run that " +
        "merely passes close to the minimum on its last update is not rewarded). Plain SGD must keep its step small enough for the " +
        "steep walls and crawls along the flat valley floor; momentum and the adaptive methods travel the valley far faster.";

    private static readonly (string Label, string Optimizer, Action<OptimizerOptions> Set)[] Runs =
    [
        ("SGD", "sgd", _ => { }),
        ("momentum 0.9", "sgd", o => o.Set("momentum", 0.9)),
        ("Nesterov 0.9", "sgd", o => { o.Set("momentum", 0.9); o.Set("nesterov", 1); }),
        ("RMSProp", "rmsprop", _ => { }),
        ("Adam", "adam", _ => { }),
        ("AdamW (wd 1e-4)", "adamw", o => o.Set("weight_decay", 1e-4)),
        ("NAdam", "nadam", _ => { }),
        ("Lion", "lion", _ => { }),
    ];

    /// <summary>Each optimizer's path at its tuned learning rate.</summary>
    /// <param name="Steps">Updates per path.</param>
    /// <param name="Tuned">Per optimizer: the path, the learning rate chosen, and the largest distance to (1, 1) over the path's last tenth.</param>
    public sealed record Results(int Steps, (PathPoint[] Path, double Lr, double Distance)[] Tuned);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var f = Landscape.Get("rosenbrock");
        int steps = bench.Pick(400, 3000, 10000);
        double[] grid = [.. Enumerable.Range(0, 17).Select(k => Math.Pow(10, -5 + k * 0.25))];
        var tuned = bench.RunAll(Runs, run =>
        {
            PathPoint[]? best = null;
            double bestLr = 0, bestDistance = double.PositiveInfinity;
            foreach (double lr in grid)
            {
                var options = Optimizers.DefaultOptions(run.Optimizer);
                run.Set(options);
                options.LearningRate = lr;
                var path = Trajectory.Run(f, run.Optimizer, options, (-1.5, 2), steps);
                double d = TailDistance(path);
                if (path.All(p => double.IsFinite(p.Loss) && p.Loss < 1e6) && d < bestDistance) (best, bestLr, bestDistance) = (path, lr, d);
            }
            return (Path: best!, Lr: bestLr, Distance: bestDistance);
        });
        return new Results(steps, tuned);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var f = Landscape.Get("rosenbrock");
        var (steps, tuned) = (data.Steps, data.Tuned);
        var map = Figures.New($"Rosenbrock: {steps} updates from (-1.5, 2), tuned learning rates", "x", "y");
        Figures.Surface(map, f.Value, new Bounds(-2, 2, -1, 3), logScale: true);
        for (int i = 0; i < Runs.Length; i++) Figures.Path(map, tuned[i].Path, Figures.Palette[i], $"{Runs[i].Label} (lr {Numbers.Format(tuned[i].Lr, 2)})", every: Math.Max(1, steps / 400));
        var star = map.Add.Marker(1, 1);
        star.Shape = MarkerShape.FilledCircle;
        star.Color = Colors.Yellow;
        star.Size = 12;
        Figures.LegendOutside(map);
        bench.Add(this, "rosenbrock-paths", "Paths on log10 of the Rosenbrock function (the yellow dot is the minimum).", map, 1000, 640);

        // The distance oscillates by orders of magnitude for some optimizers (Lion's sign steps): each window of
        // updates is drawn as a band from its smallest to its largest distance, with the largest as the line.
        int window = Math.Max(1, steps / 150);
        var curves = Figures.New("Distance to the minimum (1, 1): band from smallest to largest in each window", "update", "distance");
        for (int i = 0; i < Runs.Length; i++)
        {
            var chunks = tuned[i].Path.Skip(1).Chunk(window).ToArray();
            double[] xs = [.. chunks.Select(c => (double)c[^1].Step)];
            double[] lo = [.. chunks.Select(c => Math.Log10(Math.Max(c.Min(Distance), 1e-16)))];
            double[] hi = [.. chunks.Select(c => Math.Log10(Math.Max(c.Max(Distance), 1e-16)))];
            Figures.Band(curves, xs, lo, hi, Figures.Palette[i]);
            Figures.Line(curves, xs, hi, Figures.Palette[i], Runs[i].Label);
        }
        Figures.LogY(curves);
        Figures.LegendOutside(curves);
        bench.Add(this, "rosenbrock-distance", $"Euclidean distance to (1, 1) against the update number; over each window of {window} updates the band spans the smallest to the largest distance and the line follows the largest (distances below 1e-16 drawn at 1e-16).", curves, 960, 560);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var (steps, tuned) = (data.Steps, data.Tuned);
        for (int i = 0; i < Runs.Length; i++)
            bench.Measure(this, $"{Runs[i].Label}: largest distance to (1, 1) over the last {steps / 10} of {steps} updates (final distance)",
                $"{Numbers.Format(tuned[i].Distance)} ({Numbers.Format(Distance(tuned[i].Path[^1]))}) at lr {Numbers.Format(tuned[i].Lr, 2)}");
        // The claim names momentum and Adam: judge it by the worse of the two, not by the best of all seven.
        int momentum = Array.FindIndex(Runs, r => r.Label == "momentum 0.9"), adam = Array.FindIndex(Runs, r => r.Label == "Adam");
        double sgd = tuned[0].Distance, worse = Math.Max(tuned[momentum].Distance, tuned[adam].Distance);
        bench.Claim(this, "SGD oscillates and crawls; momentum and Adam find smoother, faster paths", "largest distance over the last tenth of the updates, the worse of momentum and Adam / SGD",
            [worse / sgd], Numbers.Times, "below 0.01x (deterministic: one run)", v => v < 0.01,
            $"momentum {Numbers.Format(tuned[momentum].Distance)}, Adam {Numbers.Format(tuned[adam].Distance)}, SGD {Numbers.Format(sgd)}");
    }

    /// <summary>The largest distance to the minimum over the last tenth of the updates: robust to a run that oscillates and happens to end close.</summary>
    private static double TailDistance(IReadOnlyList<PathPoint> path)
    {
        int tail = Math.Max(1, (path.Count - 1) / 10);
        double worst = 0;
        for (int k = path.Count - tail; k < path.Count; k++) worst = Math.Max(worst, Distance(path[k]));
        return worst;
    }

    private static double Distance(PathPoint p) => Math.Sqrt((p.X - 1) * (p.X - 1) + (p.Y - 1) * (p.Y - 1));
}
