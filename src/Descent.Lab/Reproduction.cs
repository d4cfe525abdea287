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
    ];

    /// <summary>Runs the named experiments (all when none are named) and writes the report.</summary>
    public static Lab Run(IReadOnlyList<string> names, Lab lab)
    {
        var chosen = names.Count == 0 ? All : names.Select(n => All.FirstOrDefault(e => e.Name == n)
            ?? throw new ArgumentException($"Unknown experiment '{n}': choose from {string.Join(", ", All.Select(e => e.Name))}.")).ToList();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < chosen.Count; i++)
        {
            lab.Say($"[{i + 1}/{chosen.Count}] {chosen[i].Name}");
            var one = Stopwatch.StartNew();
            chosen[i].Run(lab);
            lab.Say($"[{i + 1}/{chosen.Count}] {chosen[i].Name} done in {one.Elapsed.TotalSeconds:F1} s");
        }
        Report.Write(lab, chosen, clock.Elapsed);
        return lab;
    }
}
