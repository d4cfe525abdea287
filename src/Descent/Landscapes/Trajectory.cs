using System.Globalization;
using Descent.Nn;
using Descent.Optim;

namespace Descent.Landscapes;

/// <summary>One point of an optimizer's path: the position after <c>Step</c> updates and the loss there.</summary>
public readonly record struct PathPoint(int Step, double X, double Y, double Loss);

/// <summary>Runs an optimizer on a 2-D landscape in double precision.</summary>
public static class Trajectory
{
    /// <summary>The name of the single 2-element parameter (x, y) an optimizer moves across a landscape.</summary>
    public const string ParameterName = "xy";

    /// <summary>
    /// The registered optimizers that can move a point across a landscape: every one except those that refuse a
    /// 2-element parameter (Muon updates 2-D weight matrices only; it trains networks).
    /// </summary>
    public static IReadOnlyList<string> OptimizerNames { get; } = [.. Optimizers.Names.Where(MovesAPoint)];

    private static bool MovesAPoint(string name)
    {
        try
        {
            Optimizers.Create(name, [Parameter<double>.FromValues(ParameterName, 0, 0)]);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> saying why when <paramref name="optimizer"/> is not one of
    /// <see cref="OptimizerNames"/>: an unknown name (<see cref="Optimizers.Unknown"/>), or one that cannot move a point.
    /// </summary>
    public static void RequireOptimizer(string optimizer)
    {
        if (OptimizerNames.Contains(optimizer)) return;
        if (!Optimizers.Names.Contains(optimizer)) throw Optimizers.Unknown(optimizer, OptimizerNames);
        throw new ArgumentException($"{optimizer} updates 2-D weight matrices only and cannot move a point on a landscape (it trains networks): choose one of {string.Join(", ", OptimizerNames)}.");
    }

    /// <summary>
    /// The path of <paramref name="steps"/> updates from <paramref name="start"/>: element 0 is the start,
    /// element k the point after k updates, each with the loss there. <paramref name="createOptimizer"/>
    /// receives the parameter <c>xy</c> (its gradient is filled before each step) and returns the
    /// optimizer, configured as wanted (options, groups, schedules).
    /// </summary>
    public static PathPoint[] Run(Landscape landscape, Func<Parameter<double>, Optimizer<double>> createOptimizer,
        (double X, double Y) start, int steps)
    {
        RequireFiniteStart(landscape, start);
        return [.. Walk(landscape, createOptimizer, start, steps)];
    }

    /// <summary>The same path as <see cref="Run(Landscape, Func{Parameter{double}, Optimizer{double}}, ValueTuple{double, double}, int)"/>, produced lazily, one point per update.</summary>
    public static IEnumerable<PathPoint> Walk(Landscape landscape, Func<Parameter<double>, Optimizer<double>> createOptimizer,
        (double X, double Y) start, int steps)
    {
        ArgumentNullException.ThrowIfNull(landscape);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var xy = Parameter<double>.FromValues(ParameterName, start.X, start.Y);
        var optimizer = createOptimizer(xy);
        return Points();

        // For optimizers that evaluate the loss several times per step (L-BFGS): the loss at the current point, gradient filled.
        double Closure()
        {
            var v = xy.Value.Span;
            var g = xy.Grad.Span;
            return landscape.Evaluate(v[0], v[1], out g[0], out g[1]);
        }

        IEnumerable<PathPoint> Points()
        {
            for (int k = 0; ; k++)
            {
                var v = xy.Value.Span;
                var g = xy.Grad.Span;
                double loss = landscape.Evaluate(v[0], v[1], out g[0], out g[1]);
                yield return new PathPoint(k, v[0], v[1], loss);
                if (k == steps) yield break;
                if (optimizer.RequiresClosure) optimizer.Step(Closure);
                else optimizer.Step();
            }
        }
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> saying so when <paramref name="landscape"/> or its gradient is
    /// not finite at <paramref name="start"/> (<c>log(x)</c> at x = -1): no optimizer can start there, whatever its
    /// learning rate. <see cref="Run(Landscape, Func{Parameter{double}, Optimizer{double}}, ValueTuple{double, double}, int)"/>
    /// checks this; <see cref="Walk"/> does not, so a caller streaming a path decides.
    /// </summary>
    public static void RequireFiniteStart(Landscape landscape, (double X, double Y) start)
    {
        ArgumentNullException.ThrowIfNull(landscape);
        double value = landscape.Evaluate(start.X, start.Y, out double gx, out double gy);
        string at = $"({start.X.ToString(CultureInfo.InvariantCulture)}, {start.Y.ToString(CultureInfo.InvariantCulture)})";
        if (!double.IsFinite(value))
            throw new ArgumentException($"The surface {landscape.Formula} is not finite at the start {at} (its value there is {value.ToString(CultureInfo.InvariantCulture)}); start where the function is defined.");
        if (!double.IsFinite(gx) || !double.IsFinite(gy))
            throw new ArgumentException($"The surface {landscape.Formula} has no finite gradient at the start {at} (the gradient there is ({gx.ToString(CultureInfo.InvariantCulture)}, {gy.ToString(CultureInfo.InvariantCulture)})); start where the function is smooth.");
    }

    /// <summary>The path of the optimizer called <paramref name="optimizer"/> with <paramref name="options"/>.</summary>
    public static PathPoint[] Run(Landscape landscape, string optimizer, OptimizerOptions options, (double X, double Y) start, int steps) =>
        Run(landscape, xy => Optimizers.Create(optimizer, [xy], options), start, steps);
}
