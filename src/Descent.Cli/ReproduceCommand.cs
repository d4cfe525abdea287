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
        var full = new Option<bool>("--full") { Description = "the published scale: hours on a 2-core machine (see README)" };
        var outDir = new Option<string>("--out") { Description = "output directory", DefaultValueFactory = _ => "out", HelpName = "DIR" };
        var mnist = new Option<string>("--mnist-dir") { Description = "directory of full MNIST IDX files for the MNIST experiments (default: the embedded 10,000 digits)", HelpName = "DIR" };
        var threads = new Option<string>("--threads") { Description = "parallel runs at most (default: all cores)", HelpName = "N" };
        var seeds = new Option<string>("--seeds") { Description = "repeat each stochastic experiment with N seeds (in parallel): figures show the median with a band, claims must hold in every seed (default 1)", HelpName = "N" };
        var shard = new Option<string>("--shard") { Description = "train shard I of N of the kept runs only (default: from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX, else every run); a last reproduce without a shard draws the report", HelpName = "I/N" };
        var shards = SweepCommand.ShardsOption();
        var command = new Command("reproduce", "Rerun the classic optimizer experiments: figures, numbers and a report (out/report.html, out/summary.md).")
        {
            names, quick, full, outDir, mnist, threads, seeds, shard, shards,
        };
        command.SetAction(parsed =>
        {
            if (parsed.GetValue(quick) && parsed.GetValue(full)) throw new UsageException("Choose --quick or --full, not both.");
            var scale = parsed.GetValue(quick) ? Scale.Quick : parsed.GetValue(full) ? Scale.Full : Scale.Default;
            int n = parsed.GetValue(threads) is { } t ? Numbers.Whole(t, "--threads", 1, 1024) : 0;
            int repeats = parsed.GetValue(seeds) is { } s ? Numbers.Whole(s, "--seeds", 1, 100) : 1;
            // Every input is checked before any work starts: experiment names, then the MNIST directory (in the workbench).
            var chosen = Reproduction.Choose(parsed.GetValue(names) ?? []);
            int? count = parsed.GetValue(shards) is { } c ? Numbers.Whole(c, "--shards", 1, 1_000_000) : null;
            var which = SweepCommand.Worded(() => Descent.Sweeps.Shard.Resolve(parsed.GetValue(shard), count, Environment.GetEnvironmentVariable), "--shard I/N, --shards N");
            if (which.Count > 1) stderr.WriteLine($"descent: training the kept runs of {which}");
            if (parsed.GetValue(mnist) is { } dir && !Directory.Exists(dir))
                throw new UsageException($"--mnist-dir {dir}: no such directory; give a directory holding the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, raw or .gz), or leave it out to use the embedded digits.");
            Workbench bench;
            try
            {
                bench = new Workbench(Paths.OutputDirectoryName(parsed.GetValue(outDir)!, "--out"), scale, m => stderr.WriteLine("descent: " + m), parsed.GetValue(mnist), n, repeats, which);
            }
            catch (FileNotFoundException e)
            {
                throw new UsageException($"--mnist-dir: {e.Message}");
            }
            Reproduction.Run([.. chosen.Select(e => e.Name)], bench);
            stdout.WriteLine($"report:  {Path.Combine(bench.OutDir, "report.html")}");
            stdout.WriteLine($"summary: {Path.Combine(bench.OutDir, "summary.md")}");
            stdout.WriteLine($"figures: {bench.FiguresDir} ({bench.Figures.Count} PNG + SVG)");
            int failed = bench.Claims.Count(c => !c.Held);
            stdout.WriteLine($"claims:  {bench.Claims.Count(c => c.Held)} held, {failed} did not");
            stdout.WriteLine($"runs:    {bench.Runs.Trained} trained, {bench.Runs.Read} read back ({bench.Runs.Root})");
            if (bench.Pending.Count > 0)
            {
                stdout.WriteLine($"waiting: {bench.Pending.Count} experiment(s) need runs of other shards: {string.Join(", ", bench.Pending.Select(p => p.Experiment))}");
                if (which.Count == 1)
                    stderr.WriteLine("descent: error: another process is training runs these experiments need; run reproduce again once it has ended.");
                else stdout.WriteLine("once every shard has ended, run reproduce again without a shard to draw the whole report");
            }
            if (bench.Failures.Count > 0)
            {
                stderr.WriteLine($"descent: error: {bench.Failures.Count} experiment(s) failed (the report keeps the others' results): " +
                    string.Join("; ", bench.Failures.Select(f => $"{f.Experiment}: {f.Reason}")));
                return 1;
            }
            return bench.Pending.Count > 0 && which.Count == 1 ? 1 : 0;
        });
        return command;
    }
}
