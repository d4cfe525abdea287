using System.CommandLine;
using Descent.Lab;

namespace Descent.Cli;

/// <summary>
/// <c>descent plot RUN_DIR...</c>: the loss, accuracy and learning-rate curves of runs written by
/// <c>descent train</c>, one run or several overlaid, as PNG or SVG.
/// </summary>
internal static class PlotCommand
{
    public static Command Create(TextWriter stdout)
    {
        var runs = new Argument<string[]>("RUN_DIR") { Description = "run directories written by descent train (several are overlaid, labelled by what differs in their config.json)", Arity = ArgumentArity.OneOrMore };
        var outFile = new Option<string>("--out") { Description = "figure to write, .png or .svg [default: RUN_DIR/curves.png for one run, curves.png for several]", HelpName = "FILE" };
        var metric = new Option<string[]>("--metric")
        {
            Description = $"panels to draw, in order: {string.Join(", ", RunFigures.Metrics)} (repeat or separate with commas) [default: all]",
            HelpName = string.Join('|', RunFigures.Metrics),
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("plot", "Draw the loss, accuracy and learning-rate curves of one or more training runs.") { runs, outFile, metric };
        command.SetAction(parsed =>
        {
            var dirs = parsed.GetValue(runs) ?? [];
            foreach (var d in dirs) Paths.InputDirectory(d, "RUN_DIR");
            var metrics = (parsed.GetValue(metric) ?? []).SelectMany(m => m.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            if (metrics.FirstOrDefault(m => !RunFigures.Metrics.Contains(m)) is { } unknown)
                throw new UsageException($"Unknown --metric '{unknown}': choose from {string.Join(", ", RunFigures.Metrics)}.");
            string path = parsed.GetValue(outFile) ?? (dirs.Length == 1 ? Path.Combine(dirs[0], "curves.png") : "curves.png");
            if (Path.GetExtension(path).ToLowerInvariant() is not (".png" or ".svg"))
                throw new UsageException($"--out {path}: the figure is written as .png or .svg; end the name with one of them.");
            Paths.OutputFile(path, "--out");
            RunFigures.Save(dirs, path, metrics.Count > 0 ? metrics.Distinct().ToList() : RunFigures.Metrics);
            stdout.WriteLine(path);
            return 0;
        });
        return command;
    }
}
