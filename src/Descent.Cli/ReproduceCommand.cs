using System.CommandLine;
using Descent.Lab;

namespace Descent.Cli;

/// <summary><c>descent reproduce</c>: reruns the classic optimizer experiments and writes figures, numbers and a report.</summary>
internal static class ReproduceCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var names = new Argument<string[]>("experiment") { Description = $"experiments to run (default: all): {string.Join(", ", Reproduction.All.Select(e => e.Name))}", Arity = ArgumentArity.ZeroOrMore };
        var quick = new Option<bool>("--quick") { Description = "the seconds-long configuration the tests run" };
        var full = new Option<bool>("--full") { Description = "the published scale (tens of minutes, all cores)" };
        var outDir = new Option<string>("--out") { Description = "output directory", DefaultValueFactory = _ => "out", HelpName = "DIR" };
        var mnist = new Option<string>("--mnist-dir") { Description = "directory of full MNIST IDX files for the MNIST experiments (default: the embedded 10,000 digits)", HelpName = "DIR" };
        var threads = new Option<string>("--threads") { Description = "parallel runs at most (default: all cores)", HelpName = "N" };
        var command = new Command("reproduce", "Rerun the classic optimizer experiments: figures, numbers and a report (out/report.html, out/summary.md).")
        {
            names, quick, full, outDir, mnist, threads,
        };
        command.SetAction(parsed =>
        {
            if (parsed.GetValue(quick) && parsed.GetValue(full)) throw new UsageException("Choose --quick or --full, not both.");
            var scale = parsed.GetValue(quick) ? Scale.Quick : parsed.GetValue(full) ? Scale.Full : Scale.Default;
            int n = parsed.GetValue(threads) is { } t ? Numbers.Whole(t, "--threads", 1, 1024) : 0;
            var lab = new Lab.Lab(parsed.GetValue(outDir)!, scale, m => stderr.WriteLine("descent: " + m), parsed.GetValue(mnist), n);
            Reproduction.Run(parsed.GetValue(names) ?? [], lab);
            stdout.WriteLine($"report:  {Path.Combine(lab.OutDir, "report.html")}");
            stdout.WriteLine($"summary: {Path.Combine(lab.OutDir, "summary.md")}");
            stdout.WriteLine($"figures: {lab.FiguresDir} ({lab.Figures.Count} PNG + SVG)");
            int failed = lab.Claims.Count(c => c.Held == false);
            stdout.WriteLine($"claims:  {lab.Claims.Count(c => c.Held == true)} held, {failed} did not");
            return 0;
        });
        return command;
    }
}
