using Descent.Numerics;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Descent.Lab;
using Descent.Sweeps;

namespace Descent.Cli;

/// <summary>
/// <c>descent sweep plan|run|status|report</c>: a sweep file's trials, run on this machine's cores or as one shard of a Slurm
/// job array or Kubernetes Indexed Job against a shared output directory, their state, and the results table and report.
/// </summary>
internal static class SweepCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("sweep", "Run a sweep (a base config and axes) on all cores or a cluster's job array, and report it.")
        {
            Plan(stdout), Run(stdout, stderr), Status(stdout), Report(stdout),
        };
        return command;
    }

    private static Argument<string> FileArgument() => new("file") { Description = "the sweep file (JSON: base, axes, seeds, sample, metric; see README)" };

    private static Argument<string> DirArgument() => new("dir") { Description = "the sweep's output directory" };

    internal static Option<string> ShardsOption() => new("--shards") { Description = "how many shards (with JOB_COMPLETION_INDEX: the Job's completions)", HelpName = "N" };

    private static Command Plan(TextWriter stdout)
    {
        var file = FileArgument();
        var shards = ShardsOption();
        var format = new Option<string>("--format") { Description = "output format", DefaultValueFactory = _ => "text", HelpName = "text|json" };
        format.AcceptOnlyFromAmong("text", "json");
        var command = new Command("plan", "Print the trials of a sweep file: index, id (a hash of the resolved config) and axis values.") { file, shards, format };
        command.SetAction(parsed =>
        {
            var sweep = Sweep.Load(parsed.GetValue(file)!);
            var plan = sweep.Plan();
            int? n = parsed.GetValue(shards) is { } s ? Numbers.Whole(s, "--shards", 1, 1_000_000) : null;
            if (parsed.GetValue(format) == "json")
            {
                var options = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, Converters = { new RoundTrip.JsonConverter() } };
                stdout.WriteLine(JsonSerializer.Serialize(plan.Select(t => new
                {
                    index = t.Index,
                    id = t.Id,
                    shard = n is null ? (int?)null : t.Index % n.Value,
                    axes = t.Axes.ToDictionary(a => a.Key, a => a.Value),
                    config = t.Config,
                }), options));
                return 0;
            }
            var names = sweep.AxisNames;
            var header = new List<string> { "index", "id" };
            if (n is not null) header.Add("shard");
            header.AddRange(names);
            var rows = plan.Select(t =>
            {
                var row = new List<string> { t.Index.ToString(CultureInfo.InvariantCulture), t.Id };
                if (n is not null) row.Add((t.Index % n.Value).ToString(CultureInfo.InvariantCulture));
                row.AddRange(names.Select(a => t.Axes.FirstOrDefault(x => x.Key == a).Value ?? ""));
                return row;
            }).ToList();
            var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToList();
            stdout.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
            foreach (var r in rows) stdout.WriteLine(string.Join("  ", r.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
            stdout.WriteLine($"{plan.Count} trial(s)");
            return 0;
        });
        return command;
    }

    private static Command Run(TextWriter stdout, TextWriter stderr)
    {
        var file = FileArgument();
        var outDir = new Option<string>("--out") { Description = "the output directory (shared by every shard)", HelpName = "DIR", Required = true };
        var jobs = new Option<string>("--jobs") { Description = "trials at once on this machine (default: all cores)", HelpName = "N" };
        var shard = new Option<string>("--shard") { Description = "run shard I of N only (default: from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX, else every trial)", HelpName = "I/N" };
        var shards = ShardsOption();
        var retry = new Option<bool>("--retry-failed") { Description = "run failed trials again (diverged trials are results and are kept)" };
        var command = new Command("run", "Run the trials not yet ended, N at a time; a trial cut off resumes from its checkpoint.") { file, outDir, jobs, shard, shards, retry };
        command.SetAction(parsed =>
        {
            var sweep = Sweep.Load(parsed.GetValue(file)!);
            int? n = parsed.GetValue(shards) is { } s ? Numbers.Whole(s, "--shards", 1, 1_000_000) : null;
            var which = Worded(() => Shard.Resolve(parsed.GetValue(shard), n, Environment.GetEnvironmentVariable), "--shard I/N, --shards N");
            int j = parsed.GetValue(jobs) is { } js ? Numbers.Whole(js, "--jobs", 1, 4096) : Environment.ProcessorCount;
            sweep.Plan();   // every trial checked before the directory is touched
            var dir = Worded(() => SweepDirectory.Create(Paths.OutputDirectoryName(parsed.GetValue(outDir)!, "--out"), sweep), "--out");
            var summary = new SweepRunner(dir, which, j, m => stderr.WriteLine("descent: " + m), parsed.GetValue(retry)).Run();
            stdout.WriteLine($"{summary.Ran} trial(s) run ({summary.Resumed} resumed), {summary.AlreadyEnded} ended before, {summary.HeldElsewhere} held by other processes, {summary.Failed} failed -> {dir.Path}");
            if (summary.Failed > 0)
            {
                stderr.WriteLine($"descent: error: {summary.Failed} trial(s) failed (the others' results are kept); see 'descent sweep status {parsed.GetValue(outDir)}'.");
                return 1;
            }
            return 0;
        });
        return command;
    }

    /// <summary>Runs <paramref name="read"/>, adding to a refusal the options that set what the library's message speaks of.</summary>
    internal static T Worded<T>(Func<T> read, string options)
    {
        try
        {
            return read();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"{e.Message.TrimEnd('.')} ({options}).");
        }
    }

    /// <summary>An existing sweep directory, or an error saying how to make one.</summary>
    private static SweepDirectory Opened(string path) => Worded(() => SweepDirectory.Open(path), $"descent sweep run FILE --out {path}");

    private static Command Status(TextWriter stdout)
    {
        var dir = DirArgument();
        var command = new Command("status", "Count the trials done, diverged, failed (with the reason), running, interrupted and pending.") { dir };
        command.SetAction(parsed =>
        {
            var sweep = Opened(parsed.GetValue(dir)!);
            var states = sweep.States();
            string[] order = ["done", "diverged", "failed", "running", "interrupted", "pending"];
            stdout.WriteLine($"{states.Count} trial(s): " + string.Join(", ", order.Select(o => $"{states.Count(s => s.State == o)} {o}")));
            foreach (var s in states.Where(s => s.State is not ("done" or "pending")).OrderBy(s => Array.IndexOf(order, s.State)))
                stdout.WriteLine($"{s.State,-11}  {s.Trial.Id}  {s.Trial.Describe()}: {s.Detail}");
            return 0;
        });
        return command;
    }

    private static Command Report(TextWriter stdout)
    {
        var dir = DirArgument();
        var command = new Command("report", "Write results.csv, report.md, report.html and figures/ into the sweep's directory.") { dir };
        command.SetAction(parsed =>
        {
            var sweep = Opened(parsed.GetValue(dir)!);
            var report = SweepReport.Write(sweep);
            stdout.WriteLine($"results: {report.Csv} ({report.Rows} trial(s), {report.Ended} ended)");
            stdout.WriteLine($"report:  {report.Html}");
            stdout.WriteLine($"summary: {report.Markdown}");
            stdout.WriteLine($"figures: {report.FiguresDir} ({report.Figures} PNG + SVG)");
            return 0;
        });
        return command;
    }
}
