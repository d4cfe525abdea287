using System.Text.Json;
using System.Text.Json.Serialization;
using Descent.Landscapes;
using Descent.Optim;

namespace Descent.Playground;

/// <summary>A 400 answer: what is wrong with the request, and where in an expression when that is the problem.</summary>
public sealed class BadRequest(string message, int? position = null) : Exception(message)
{
    /// <summary>Zero-based index of the offending character of an expression, if any (its message counts from 1, as a reader does).</summary>
    public int? Position { get; } = position;
}

/// <summary>One optimizer run asked for by the page.</summary>
public sealed record OptimizerRequest(string Optimizer, Dictionary<string, JsonElement>? Hyperparameters, string? Label);

/// <summary>A request for optimizer paths on a surface.</summary>
public sealed record TrajectoryRequest(string Function, double[] Start, int Steps, OptimizerRequest[] Optimizers);

/// <summary>A request for a surface's values on a grid.</summary>
public sealed record SurfaceRequest(string Function, double[]? View, int Resolution);

/// <summary>The JSON API's computations, separate from HTTP so they can be tested directly.</summary>
public static class Api
{
    /// <summary>JSON options: camelCase, non-finite numbers written as strings are not allowed.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { NumberHandling = JsonNumberHandling.Strict };

    /// <summary>The named landscapes.</summary>
    public static object Landscapes() => Landscape.Named.Select(l => new
    {
        name = l.Name,
        formula = l.Formula,
        description = l.Description,
        view = new[] { l.Bounds.XMin, l.Bounds.XMax, l.Bounds.YMin, l.Bounds.YMax },
        minimum = l.Minimum is { } m ? new[] { m.X, m.Y } : null,
    });

    /// <summary>
    /// The optimizers that can move a point across a landscape (<see cref="Trajectory.OptimizerNames"/>: all but Muon, which
    /// <c>descent train --optimizer muon</c> trains networks with) with their hyperparameters, defaults and valid ranges.
    /// </summary>
    public static object OptimizerCatalog() => Trajectory.OptimizerNames.Select(name =>
    {
        var o = Descent.Optim.Optimizers.DefaultOptions(name);
        return new
        {
            name,
            hyperparameters = o.Hyperparameters.Select(h => new
            {
                name = h.Name,
                kind = h.Kind == HyperparameterKind.Flag ? "flag" : "real",
                whole = h.Whole,
                value = h.Get(o),
                description = h.Description,
                min = double.IsFinite(h.Valid.Min) ? h.Valid.Min : (double?)null,
                max = Limits.Cap(o, h.Name) ?? (double.IsFinite(h.Valid.Max) ? h.Valid.Max : (double?)null),
                scale = SliderScale(h),
            }),
        };
    });

    /// <summary>
    /// How the page's slider for <paramref name="h"/> moves: "log" where useful values span decades (a
    /// real with no upper bound, such as lr, eps or weight_decay), "linear" over a bounded range such as
    /// beta1. Momentum is the exception: PyTorch accepts any value at least 0, but it is used in [0, 1).
    /// </summary>
    public static string SliderScale(Hyperparameter h) =>
        h.Kind == HyperparameterKind.Real && !double.IsFinite(h.Valid.Max) && h.Name != "momentum" ? "log" : "linear";

    /// <summary>The caps the page needs to know before it asks (see <see cref="Limits"/>).</summary>
    public static object LimitsSummary() => new
    {
        maxSteps = Limits.MaxSteps,
        maxOptimizers = Limits.MaxOptimizers,
        maxTrajectoryUpdates = Limits.MaxTrajectoryUpdates,
        maxTrajectoryEvaluations = Limits.MaxTrajectoryEvaluations,
        maxResolution = Limits.MaxResolution,
        maxExpressionLength = Limits.MaxExpressionLength,
        maxCoordinate = Limits.MaxCoordinate,
    };

    /// <summary>The surface on a grid of <c>resolution x resolution</c> points over the view (rows from top to bottom).</summary>
    public static object Surface(SurfaceRequest r)
    {
        var landscape = Parse(r.Function);
        if (r.Resolution is < 2 or > Limits.MaxResolution)
            throw new BadRequest($"resolution must be between 2 and {Limits.MaxResolution}, got {r.Resolution}.");
        var v = r.View ?? [landscape.Bounds.XMin, landscape.Bounds.XMax, landscape.Bounds.YMin, landscape.Bounds.YMax];
        if (v.Length != 4 || v.Any(c => !double.IsFinite(c) || Math.Abs(c) > Limits.MaxCoordinate) || !(v[0] < v[1]) || !(v[2] < v[3]))
            throw new BadRequest($"view must be [xmin, xmax, ymin, ymax] with finite numbers, xmin < xmax and ymin < ymax, each within ±{Limits.MaxCoordinate:G}.");
        var values = new double?[r.Resolution * r.Resolution];
        for (int row = 0; row < r.Resolution; row++)
        {
            double y = v[3] - (v[3] - v[2]) * row / (r.Resolution - 1);
            for (int col = 0; col < r.Resolution; col++)
            {
                double x = v[0] + (v[1] - v[0]) * col / (r.Resolution - 1);
                double f = landscape.Value(x, y);
                values[row * r.Resolution + col] = double.IsFinite(f) ? f : null;
            }
        }
        return new { function = landscape.Name, formula = landscape.Formula, view = v, resolution = r.Resolution, values };
    }

    /// <summary>Paths of each requested optimizer from the start point.</summary>
    public static object Trajectories(TrajectoryRequest r, CancellationToken cancel)
    {
        var landscape = Parse(r.Function);
        if (r.Start is not { Length: 2 } || r.Start.Any(c => !double.IsFinite(c) || Math.Abs(c) > Limits.MaxCoordinate))
            throw new BadRequest($"start must be two finite numbers [x, y] within ±{Limits.MaxCoordinate:G}.");
        if (r.Steps is < 0 or > Limits.MaxSteps)
            throw new BadRequest($"steps must be between 0 and {Limits.MaxSteps}, got {r.Steps}.");
        if (r.Optimizers is not { Length: > 0 } || r.Optimizers.Length > Limits.MaxOptimizers)
            throw new BadRequest($"give between 1 and {Limits.MaxOptimizers} optimizers.");
        if ((long)r.Steps * r.Optimizers.Length > Limits.MaxTrajectoryUpdates)
            throw new BadRequest($"{r.Steps} steps for {r.Optimizers.Length} optimizers is {(long)r.Steps * r.Optimizers.Length} updates; the cap is {Limits.MaxTrajectoryUpdates} a request (steps x optimizers): " +
                $"ask for at most {Limits.MaxTrajectoryUpdates / r.Optimizers.Length} steps for {r.Optimizers.Length} optimizers, or fewer optimizers.");
        double atStart = landscape.Value(r.Start[0], r.Start[1]);
        if (!double.IsFinite(atStart))
            throw new BadRequest($"the surface is not defined at the start ({r.Start[0]:G6}, {r.Start[1]:G6}): its value there is {atStart}; choose a start point where it is finite.");
        var requested = new List<(OptimizerRequest Request, Descent.Optim.OptimizerOptions Options)>();
        foreach (var o in r.Optimizers)
        {
            if (o?.Optimizer is null) throw new BadRequest($"an optimizer has no name: choose one of {string.Join(", ", Trajectory.OptimizerNames)}.");
            try { Trajectory.RequireOptimizer(o.Optimizer); }
            catch (ArgumentException e) { throw new BadRequest(e.Message); }
            var options = Descent.Optim.Optimizers.DefaultOptions(o.Optimizer);
            foreach (var (name, value) in o.Hyperparameters ?? [])
            {
                try { options.Find(name); }
                catch (ArgumentException e) { throw new BadRequest(e.Message); }
                double v = HyperparameterValue(o.Optimizer, name, value);
                try { options.Set(name, v); }
                catch (ArgumentException e) { throw new BadRequest($"{o.Optimizer}: {e.Message}"); }
            }
            try { options.Validate(); }
            catch (ArgumentException e) { throw new BadRequest($"{o.Optimizer}: {e.Message}"); }
            Limits.CheckCaps(o.Optimizer, options);
            requested.Add((o, options));
        }
        long perStep = requested.Sum(o => Limits.EvaluationsPerUpdate(o.Options)), evaluations = r.Steps * perStep;
        if (evaluations > Limits.MaxTrajectoryEvaluations)
            throw new BadRequest($"{r.Steps} steps of these optimizers can take {evaluations} evaluations of the surface (an L-BFGS step up to max_eval, or max_iter x 5/4, and one more); " +
                $"the cap is {Limits.MaxTrajectoryEvaluations} a request: ask for at most {Limits.MaxTrajectoryEvaluations / perStep} steps of these optimizers, or a smaller max_eval or max_iter.");
        var runs = new List<object>();
        foreach (var (o, options) in requested)
        {
            var path = new List<double[]>(r.Steps + 1);
            int diverged = -1;
            foreach (var p in Trajectory.Walk(landscape, xy => Descent.Optim.Optimizers.Create(o.Optimizer, [xy], options), (r.Start[0], r.Start[1]), r.Steps))
            {
                cancel.ThrowIfCancellationRequested();
                if (!(double.IsFinite(p.X) && double.IsFinite(p.Y) && double.IsFinite(p.Loss))) { diverged = p.Step; break; }
                path.Add([p.X, p.Y, p.Loss]);
            }
            runs.Add(new
            {
                optimizer = o.Optimizer,
                label = o.Label ?? o.Optimizer,
                hyperparameters = options.Hyperparameters.ToDictionary(h => h.Name, h => h.Get(options)),
                path,
                diverged = diverged >= 0 ? diverged : (int?)null,
            });
        }
        return new { function = landscape.Name, formula = landscape.Formula, runs };
    }

    /// <summary>A hyperparameter value from JSON: a number, or a boolean for a switch (1 or 0).</summary>
    public static double HyperparameterValue(string optimizer, string name, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        JsonValueKind.Number => value.TryGetDouble(out double v) && double.IsFinite(v) ? v : throw new BadRequest($"{optimizer}.{name} must be a finite number, not {value.GetRawText()}."),
        _ => throw new BadRequest($"{optimizer}.{name} must be a number or a boolean."),
    };

    private static Landscape Parse(string? function)
    {
        if (string.IsNullOrWhiteSpace(function)) throw new BadRequest("function is missing: give a landscape name or a formula in x and y.");
        if (function.Length > Limits.MaxExpressionLength)
            throw new BadRequest($"the expression is {function.Length} characters long; the limit is {Limits.MaxExpressionLength}.");
        try { return Landscape.Get(function); }
        catch (ExpressionException e) { throw new BadRequest(e.Message, e.Position); }
    }
}
