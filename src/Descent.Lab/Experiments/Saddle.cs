using Descent.Landscapes;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Gradient descent started on the stable manifold of the saddle x^2 - y^2, with and without gradient noise.</summary>
public sealed class Saddle : Experiment<Saddle.Results>
{
    /// <inheritdoc/>
    public override string Name => "saddle";

    /// <inheritdoc/>
    public override string Title => "Saddle points: exact gradients stall, noisy gradients escape";

    /// <inheritdoc/>
    public override string Description =>
        "On x^2 - y^2, a start at (1, 0) lies on the saddle's stable manifold: the gradient has no y component there, so gradient descent (lr 0.05) " +
        "converges to the saddle at the origin and stays. Adding small Gaussian noise to the gradient (as minibatch sampling does) pushes y off zero, " +
        "and the unstable direction then grows it exponentially: stochastic gradient descent escapes.";

    private const int Steps = 150;

    /// <summary>The walk with exact gradients and the walks with noisy ones.</summary>
    /// <param name="Exact">Gradient descent with the exact gradient.</param>
    /// <param name="Noisy">Gradient descent with gradient noise, one walk per seed.</param>
    public sealed record Results(PathPoint[] Exact, PathPoint[][] Noisy);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var f = Landscape.Get("saddle");
        var exact = Walk(f, Steps, noise: 0, seed: 0);
        int seeds = bench.Pick(3, 5, 20) * bench.Seeds;
        var noisy = bench.RunAll(Enumerable.Range(1, seeds).ToArray(), s => Walk(f, Steps, noise: 0.01, seed: (ulong)s));
        return new Results(exact, noisy);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        var f = Landscape.Get("saddle");
        var (exact, noisy) = (data.Exact, data.Noisy);

        var map = Figures.New($"Saddle x^2 - y^2: {Steps} updates from (1, 0)", "x", "y");
        Figures.Surface(map, f.Value, new Bounds(-1.2, 1.2, -3, 3), logScale: false);
        for (int i = 0; i < noisy.Length; i++) Figures.Path(map, noisy[i], Figures.Palette[1].WithAlpha(0.8), i == 0 ? "SGD, gradient noise std 0.01" : "");
        Figures.Path(map, exact, Figures.Palette[3], "gradient descent (exact gradient)");
        map.Axes.SetLimits(-1.2, 1.2, -3, 3);
        map.ShowLegend(Alignment.UpperRight);
        bench.Add(this, "saddle-paths", "Paths from the stable manifold: the exact-gradient run (red) stops at the saddle; noisy runs (orange) leave along y.", map);

        var away = Figures.New("Distance from the stable manifold, |y|", "update", "|y|");
        for (int i = 0; i < noisy.Length; i++)
        {
            var line = away.Add.ScatterLine(noisy[i].Select(p => (double)p.Step).ToArray(), noisy[i].Select(p => Math.Log10(Math.Abs(p.Y) + 1e-17)).ToArray());
            line.Color = Figures.Palette[1].WithAlpha(0.8);
            line.LegendText = i == 0 ? "noisy gradient" : "";
        }
        Figures.Line(away, exact.Select(p => (double)p.Step).ToArray(), exact.Select(p => Math.Log10(Math.Abs(p.Y) + 1e-17)).ToArray(), Figures.Palette[3], "exact gradient (y stays exactly 0; drawn at 1e-17)");
        Figures.LogY(away);
        away.ShowLegend(Alignment.UpperLeft);
        bench.Add(this, "saddle-escape", "With exact gradients y stays 0 and the run sits on the saddle; noise puts y off zero and the unstable direction multiplies it by 1.1 per update.", away);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var (exact, noisy) = (data.Exact, data.Noisy);
        double distance = Math.Sqrt(exact[^1].X * exact[^1].X + exact[^1].Y * exact[^1].Y);
        bench.Claim(this, "gradient descent stalls at the saddle", "exact gradient: |y| and distance from the saddle after the run",
            [distance], v => Numbers.Format(v), "|y| exactly 0 and distance below 1e-3 (deterministic: one run)", v => exact[^1].Y == 0 && v < 1e-3, $"|y| = {Numbers.Format(Math.Abs(exact[^1].Y))}");
        bench.Claim(this, "noisy/stochastic gradients escape", $"noisy gradient: final |y| of each of {noisy.Length} runs (median [min, max])",
            [.. noisy.Select(p => Math.Abs(p[^1].Y))], v => Numbers.Format(v), "above 1 in every run", v => v > 1);
    }

    private static PathPoint[] Walk(Landscape f, int steps, double noise, ulong seed)
    {
        var rng = new Rng(seed);
        var xy = Parameter<double>.FromValues(Trajectory.ParameterName, 1.0, 0.0);
        var sgd = new Sgd<double>([xy], new SgdOptions { LearningRate = 0.05 });
        var path = new PathPoint[steps + 1];
        var v = xy.Value.Span;
        var g = xy.Grad.Span;
        for (int k = 0; k <= steps; k++)
        {
            double loss = f.Evaluate(v[0], v[1], out g[0], out g[1]);
            path[k] = new PathPoint(k, v[0], v[1], loss);
            if (k == steps) break;
            g[0] += noise * rng.NextNormal();
            g[1] += noise * rng.NextNormal();
            sgd.Step();
        }
        return path;
    }
}
