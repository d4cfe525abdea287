using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Descent.Lab.Benchmarks;

namespace Descent.Cli;

/// <summary><c>descent bench</c>: times the benchmark workloads and prints one JSON line (or table row) per cell.</summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var workload = new Option<string>("--workload") { Description = $"one workload: {string.Join(", ", Benchmark.Workloads)} (default: all)", HelpName = "NAME" };
        workload.AcceptOnlyFromAmong([.. Benchmark.Workloads]);
        var batch = new Option<string>("--batch") { Description = "one batch size (or parameter count for adam-step) instead of the workload's defaults", HelpName = "B" };
        var seconds = new Option<string>("--seconds") { Description = "timed seconds per cell after the warm-up [default: 3]", HelpName = "S" };
        var threads = new Option<string>("--threads") { Description = "independent copies of each cell run at once, one per thread [default: 1]", HelpName = "N" };
        var trainThreads = new Option<string>("--train-threads") { Description = "for cnn-mnist and transformer-char: cores that train the one run, each minibatch split across them (descent train --threads) [default: 1]", HelpName = "N" };
        var profile = new Option<bool>("--profile") { Description = "for cnn-mnist and transformer-char: milliseconds per step in each layer's forward and backward pass, as the trainer's step runs them (with --train-threads, the mean over the shards), instead of steps/s" };
        var format = new Option<string>("--format") { Description = "output", DefaultValueFactory = _ => "json", HelpName = "json|table" };
        format.AcceptOnlyFromAmong("json", "table");
        var command = new Command("bench", "Time the benchmark workloads (training steps per second, bandwidth, FLOP rate).") { workload, batch, seconds, threads, trainThreads, profile, format };
        command.SetAction(parsed =>
        {
            double s = parsed.GetValue(seconds) is { } text ? Numbers.Real(text, "--seconds") : 3;
            if (s <= 0) throw new UsageException($"Invalid --seconds value '{s}': must be above 0.");
            int n = parsed.GetValue(threads) is { } t ? Numbers.Whole(t, "--threads", 1, 256) : 1;
            int cores = parsed.GetValue(trainThreads) is { } tt ? Numbers.Whole(tt, "--train-threads", 1, 256) : 1;
            if (cores > 1 && !Benchmark.TrainerWorkloads.Contains(parsed.GetValue(workload) ?? ""))
                throw new UsageException($"--train-threads applies to --workload {string.Join(" or ", Benchmark.TrainerWorkloads)} only.");
            long? only = parsed.GetValue(batch) is { } b ? Numbers.Whole(b, "--batch", 1, int.MaxValue) : null;
            var names = parsed.GetValue(workload) is { } w ? [w] : Benchmark.Workloads;
            bool table = parsed.GetValue(format) == "table";
            if (parsed.GetValue(profile))
            {
                string one = parsed.GetValue(workload) ?? throw new UsageException("--profile needs --workload cnn-mnist or transformer-char.");
                var (layers, rest, step) = Benchmark.Profile(one, (int)(only ?? Benchmark.DefaultSizes(one)[0]), s, cores);
                stdout.WriteLine($"{"part",-60}{"forward ms",12}{"backward ms",13}");
                foreach (var (part, f, bw) in layers) stdout.WriteLine($"{part,-60}{f,12:F3}{bw,13:F3}");
                stdout.WriteLine($"{"layers",-60}{layers.Sum(p => p.ForwardMs),12:F3}{layers.Sum(p => p.BackwardMs),13:F3}");
                stdout.WriteLine($"{(cores > 1 ? "rest: gather, loss, wait for the slower shard, gradient sum, update" : "rest: gather, loss, update"),-72}{rest,13:F3}");
                stdout.WriteLine($"{"step",-72}{step,13:F3}");
                return 0;
            }
            if (table) stdout.WriteLine($"{"workload",-18}{"size",-12}{"steps/s",14}{"loss init",12}{"loss final",12}{"GB/s",9}{"GFLOP/s",10}");
            foreach (var name in names)
            {
                var cells = name == "limits" ? Benchmark.Limits(s)
                    : (only is long o ? [o] : Benchmark.DefaultSizes(name)).SelectMany(size => RunCopies(name, size, s, n, cores)).ToArray();
                foreach (var r in cells)
                {
                    if (table)
                        stdout.WriteLine($"{r.Workload,-18}{r.Size,-12}{r.StepsPerSecond,14:N0}{F(r.LossInit),12}{F(r.LossFinal),12}{F(r.GbPerSecond),9}{F(r.GflopPerSecond),10}");
                    else
                        stdout.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                        {
                            ["workload"] = r.Workload,
                            [r.Size.Split('=')[0] is var k && (k == "B" || k == "P") ? k : "cell"] = Size(r.Size),
                            ["steps"] = r.Steps,
                            ["seconds"] = r.Seconds,
                            ["steps_per_s"] = r.StepsPerSecond,
                            ["loss_init"] = r.LossInit,
                            ["loss_final"] = r.LossFinal,
                            ["gb_per_s"] = r.GbPerSecond,
                            ["gflop_per_s"] = r.GflopPerSecond,
                            ["threads"] = n,
                            ["train_threads"] = cores,
                        }));
                    stdout.Flush();
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>Runs <paramref name="copies"/> independent copies at once and reports their summed throughput (the first copy's losses).</summary>
    private static IEnumerable<BenchResult> RunCopies(string name, long size, double seconds, int copies, int trainThreads)
    {
        if (copies == 1) return [Benchmark.Run(name, size, seconds, trainThreads)];
        var results = new BenchResult[copies];
        Parallel.For(0, copies, new ParallelOptions { MaxDegreeOfParallelism = copies }, i => results[i] = Benchmark.Run(name, size, seconds, trainThreads));
        var first = results[0];
        return [first with
        {
            Steps = results.Sum(r => r.Steps),
            StepsPerSecond = results.Sum(r => r.StepsPerSecond),
            GbPerSecond = first.GbPerSecond is null ? null : results.Sum(r => r.GbPerSecond),
            GflopPerSecond = first.GflopPerSecond is null ? null : results.Sum(r => r.GflopPerSecond),
        }];
    }

    private static object Size(string size)
    {
        string v = size.Contains('=') ? size.Split('=')[1] : size;
        return long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : v;
    }

    private static string F(double? v) => v is double d ? d.ToString("G4", CultureInfo.InvariantCulture) : "";
}
