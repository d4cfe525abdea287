using System.Diagnostics;
using Descent.Lab.Experiments;

namespace Descent.Lab;

/// <summary>The catalogue of experiments and the runner of <c>descent reproduce</c>.</summary>
public static class Reproduction
{
    /// <summary>Every experiment, in report order.</summary>
    public static IReadOnlyList<Experiment> All { get; } =
    [
        new NoisyMoonsBatchSize(),
        new Sharpness(),
        new StretchedMoonsMomentum(),
        new LinearMnist(),
        new PathologicalCurvature(),
        new Rosenbrock(),
        new OptimizerComparison(),
        new SchedulesAndDecay(),
        new Saddle(),
        new CnnOptimizerComparison(),
        new CnnLrSensitivity(),
        new TransformerWarmup(),
        new ThreePhases(),
        new EdgeOfStability(),
        new LrFinder(),
        new FineTuningRates(),
        new ModernOptimizers(),
    ];

    /// <summary>The experiments called <paramref name="names"/> (all when none are named), or an error naming the unknown one.</summary>
    public static IReadOnlyList<Experiment> Choose(IReadOnlyList<string> names) =>
        names.Count == 0 ? All : [.. names.Select(n => All.FirstOrDefault(e => e.Name == n)
            ?? throw new ArgumentException($"Unknown experiment '{n}': choose from {string.Join(", ", All.Select(e => e.Name))}."))];

    /// <summary>
    /// Runs the named experiments (all when none are named) and writes the report. An experiment that fails
    /// is recorded in <see cref="Workbench.Failures"/> and the others still run; the report says which failed and why.
    /// </summary>
    public static Workbench Run(IReadOnlyList<string> names, Workbench bench)
    {
        var chosen = Choose(names);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < chosen.Count; i++)
        {
            bench.Say($"[{i + 1}/{chosen.Count}] {chosen[i].Name}");
            var one = Stopwatch.StartNew();
            try
            {
                chosen[i].Run(bench);
                bench.Say($"[{i + 1}/{chosen.Count}] {chosen[i].Name} done in {one.Elapsed.TotalSeconds:F1} s");
            }
            catch (RunsPendingException e)
            {
                bench.Wait(chosen[i], e);
                bench.Say($"[{i + 1}/{chosen.Count}] {chosen[i].Name} waits for other runs: {e.Message}");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                bench.Fail(chosen[i], e);
                bench.Say($"[{i + 1}/{chosen.Count}] {chosen[i].Name} FAILED after {one.Elapsed.TotalSeconds:F1} s: {bench.Failures[^1].Reason}");
            }
        }
        Report.Write(bench, chosen, clock.Elapsed);
        return bench;
    }
}
