using Descent.Landscapes;
using Descent.Optim;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Eight optimizers from (-1.5, 2) down Rosenbrock's curved valley, each at its best learning rate from a grid.</summary>
public sealed class Rosenbrock : Experiment
{
    /// <inheritdoc/>
    public override string Name => "rosenbrock";

    /// <inheritdoc/>
    public override string Title => "Rosenbrock's valley: eight optimizers at tuned learning rates";

    /// <inheritdoc/>
    public override string Description =>
        "From (-1.5, 2) towards the minimum (1, 1) of (1 - x)^2 + 100 (y - x^2)^2. Each optimizer's learning rate is tuned on a logarithmic grid " +
        "(the rate with the smallest final distance to the minimum, among runs that stay finite). Plain SGD must keep its step small enough for the " +
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

    /// <inheritdoc/>
    public override void Run(Lab lab)
    {
        var f = Landscape.Get("rosenbrock");
        int steps = lab.Pick(400, 3000, 10000);
        double[] grid = [.. Enumerable.Range(0, 17).Select(k => Math.Pow(10, -5 + k * 0.25))];
        var tuned = lab.RunAll(Runs, run =>
        {
            PathPoint[]? best = null;
            double bestLr = 0, bestDistance = double.PositiveInfinity;
            foreach (double lr in grid)
            {
                var options = Optimizers.DefaultOptions(run.Optimizer);
                run.Set(options);
                options.LearningRate = lr;
                var path = Trajectory.Run(f, run.Optimizer, options, (-1.5, 2), steps);
                double d = Distance(path[^1]);
                if (path.All(p => double.IsFinite(p.Loss) && p.Loss < 1e6) && d < bestDistance) (best, bestLr, bestDistance) = (path, lr, d);
            }
            return (Path: best!, Lr: bestLr, Distance: bestDistance);
        });

        var map = Figures.New($"Rosenbrock: {steps} updates from (-1.5, 2), tuned learning rates", "x", "y");
        Figures.Surface(map, f.Value, new Bounds(-2, 2, -1, 3), logScale: true);
        for (int i = 0; i < Runs.Length; i++) Figures.Path(map, tuned[i].Path, Figures.Palette[i], $"{Runs[i].Label} (lr {tuned[i].Lr:G2})", every: Math.Max(1, steps / 400));
        var star = map.Add.Marker(1, 1);
        star.Shape = MarkerShape.FilledCircle;
        star.Color = Colors.Yellow;
        star.Size = 12;
        map.ShowLegend(Alignment.LowerRight);
        lab.Add(this, "rosenbrock-paths", "Paths on log10 of the Rosenbrock function (the yellow dot is the minimum).", map, 860, 640);

        var curves = Figures.New("Distance to the minimum (1, 1)", "update", "distance");
        for (int i = 0; i < Runs.Length; i++)
        {
            Figures.Line(curves, tuned[i].Path.Select(p => (double)p.Step).ToArray(), tuned[i].Path.Select(p => Math.Log10(Math.Max(Distance(p), 1e-16))).ToArray(), Figures.Palette[i], Runs[i].Label);
        }
        Figures.LogY(curves);
        curves.ShowLegend(Alignment.LowerLeft);
        lab.Add(this, "rosenbrock-distance", "Euclidean distance to (1, 1) against the update number.", curves);

        for (int i = 0; i < Runs.Length; i++)
            lab.Claim(this, $"{Runs[i].Label}: distance to (1, 1) after {steps} updates", $"{tuned[i].Distance:E2} (lr {tuned[i].Lr:G2})", "", null);
        double sgd = tuned[0].Distance;
        double bestOther = tuned.Skip(1).Min(t => t.Distance);
        lab.Claim(this, "momentum and adaptive methods end closer to the minimum than plain SGD",
            $"best other {bestOther:E2} vs SGD {sgd:E2}", "SGD oscillates and crawls; momentum and Adam find smoother, faster paths", bestOther < sgd);
    }

    private static double Distance(PathPoint p) => Math.Sqrt((p.X - 1) * (p.X - 1) + (p.Y - 1) * (p.Y - 1));
}
