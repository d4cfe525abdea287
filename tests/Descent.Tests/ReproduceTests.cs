using Descent.Analysis;
using Descent.Data;
using Descent.Lab;
using Descent.Lab.Experiments;
using Descent.Nn;
using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

public sealed class ReproduceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-reproduce").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Every_experiment_runs_at_quick_scale_and_writes_its_figures_numbers_and_report()
    {
        var (code, output, err) = CliRunner.Run("reproduce", "--quick", "--out", _dir);
        Assert.True(code == 0, err);
        Assert.Contains("report:", output);
        string html = File.ReadAllText(Path.Combine(_dir, "report.html"));
        string summary = File.ReadAllText(Path.Combine(_dir, "summary.md"));
        foreach (var e in Reproduction.All)
        {
            Assert.Contains($"id=\"{e.Name}\"", html);
            Assert.Contains($"| {e.Name} |", summary);
            Assert.Contains($"descent: ", err);
        }
        Assert.DoesNotContain("src=\"figures/", html); // self-contained: images are data URIs
        var pngs = Directory.GetFiles(Path.Combine(_dir, "figures"), "*.png");
        Assert.True(pngs.Length >= 20, $"{pngs.Length} figures");
        foreach (var png in pngs)
        {
            Assert.True(new FileInfo(png).Length > 5_000, $"{png} is suspiciously small");
            Assert.True(File.Exists(Path.ChangeExtension(png, ".svg")), $"{png} has no SVG");
            Assert.Contains(Convert.ToBase64String(File.ReadAllBytes(png))[..200], html);
        }
        // Sane numbers: every measured value parses to finite numbers where it holds any.
        foreach (var line in summary.Split('\n').Where(l => l.StartsWith("| ") && !l.StartsWith("| experiment")))
            Assert.DoesNotContain("NaN", line);
    }

    [Fact]
    public void Parallel_runs_give_the_same_results_as_serial_runs()
    {
        var serial = Reproduction.Run(["noisy-moons-batch-size", "stretched-moons-momentum"], new Workbench(Path.Combine(_dir, "serial"), Scale.Quick, threads: 1));
        var parallel = Reproduction.Run(["noisy-moons-batch-size", "stretched-moons-momentum"], new Workbench(Path.Combine(_dir, "parallel"), Scale.Quick, threads: 4));
        var timing = (Claim c) => c.Measure.Contains("wall time");
        Assert.Equal(serial.Claims.Where(c => !timing(c)).Select(c => c.Value), parallel.Claims.Where(c => !timing(c)).Select(c => c.Value));
    }

    [Fact]
    public void Parallel_workers_report_progress_one_message_at_a_time()
    {
        // The caller's writer need not be thread-safe (a StringWriter is not): workers that finish together take turns.
        int inside = 0, overlaps = 0;
        var bench = new Workbench(Path.Combine(_dir, "say"), Scale.Quick, _ =>
        {
            if (Interlocked.Increment(ref inside) > 1) Interlocked.Increment(ref overlaps);
            Thread.Sleep(1);
            Interlocked.Decrement(ref inside);
        }, threads: 4);
        var results = bench.RunAll([.. Enumerable.Range(0, 100)], i => i * 2);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i * 2), results);
        Assert.Equal(0, overlaps);
    }

    [Fact]
    public void Experiments_that_need_the_same_networks_share_one_training_through_the_bench()
    {
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var bench = Reproduction.Run(["sharpness", "noisy-moons-batch-size"], new Workbench(Path.Combine(_dir, "shared"), Scale.Quick, messages.Enqueue));
        Assert.Empty(bench.Failures);
        Assert.Single(messages, m => m.Contains("training 4 networks"));
        Assert.Contains(bench.Claims, c => c.Experiment == "sharpness");
        Assert.Contains(bench.Claims, c => c.Experiment == "noisy-moons-batch-size");
    }

    [Fact]
    public void A_cnn_run_is_trained_once_per_bench_and_stops_when_its_loss_explodes()
    {
        var bench = new Workbench(Path.Combine(_dir, "cnn"), Scale.Quick);
        var settings = new Descent.Lab.Experiments.CnnRuns.Setting[] { new("mnist", "adam", 1e-3, 0), new("mnist", "sgd", 10, 0) };
        var first = Descent.Lab.Experiments.CnnRuns.Of(bench, settings);
        var again = Descent.Lab.Experiments.CnnRuns.Of(bench, settings.Reverse().ToArray());
        Assert.Equal((2, 2), (bench.Runs.Trained, bench.Runs.Read));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(first[0]), System.Text.Json.JsonSerializer.Serialize(again[1]));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(first[1]), System.Text.Json.JsonSerializer.Serialize(again[0]));
        Assert.Equal(0, first[0].DivergedAt);
        Assert.Equal(6, first[0].Steps[^1]);
        Assert.InRange(first[1].DivergedAt, 1, 5);   // SGD at lr 10 with momentum 0.9 explodes within the 6 quick steps
        Assert.True(first[1].Steps.Length == 0 || first[1].Steps[^1] < first[1].DivergedAt);
    }

    [Fact]
    public void The_schedule_experiment_continues_the_warmup_experiments_stable_phase_and_a_cooldown_continued_equals_one_trained_from_scratch()
    {
        var bench = new Workbench(Path.Combine(_dir, "transformer"), Scale.Quick);
        var warmup = new TransformerWarmup().Compute(bench);
        var phases = new ThreePhases().Compute(bench);
        // Pre-LN Adam + warmup is the stable phase, trained once (every run trained has one directory) and read back.
        Assert.Equal(warmup.Runs[0][1][1].ValidationLoss, phases.Trunk[0].ValidationLoss);
        Assert.Equal(Directory.GetDirectories(bench.Runs.Root).Sum(f => Directory.GetDirectories(f).Length), bench.Runs.Trained);
        Assert.True(bench.Runs.Read > 0);
        var size = TransformerRuns.At(bench);
        long start = TransformerRuns.CooldownStart(size.Budget, size.Warmup);
        var continued = phases.Wsd[0][0];
        Assert.Equal(start, continued.Steps[0]);
        Assert.Equal(size.Budget, continued.Steps[^1]);
        Assert.Equal(2 * size.Budget, phases.Wsd[0][1].Steps[^1]);
        // The stable phase ends at the peak rate after update `start`; the next update is the cooldown's first.
        var rates = TransformerRuns.Rates(continued.Setting);
        Assert.Equal(TransformerRuns.Lr, rates[start - 1]);
        Assert.True(rates[start] < TransformerRuns.Lr);
        // Weights, Adam's moments, step count and sampler carried over: the continued cooldown is the from-scratch run, bit for bit.
        var scratch = TransformerRuns.Of(bench, [new("pre", "adam", size.Warmup, "wsd-sqrt", size.Budget, 0)])[0];
        Assert.Equal(scratch.ValidationLoss[^1], continued.ValidationLoss[^1]);
        Assert.NotEqual(phases.Cosine[0][0].ValidationLoss[^1], continued.ValidationLoss[^1]);

        // What the warmup experiment measures: Adam's first update moves the weights by about lr, the warmup's (lr 0) not at all,
        // RAdam's (a momentum step before its rectification starts) by far less; gradients at the initialization are finite, one per block.
        var pre = warmup.Runs[0][1];
        Assert.InRange(pre[0].FirstUpdates[0].Rms, 0.5 * TransformerRuns.Lr, TransformerRuns.Lr);
        Assert.Equal(0, pre[1].FirstUpdates[0].Rms);
        Assert.InRange(pre[2].FirstUpdates[0].Rms, 0, 0.1 * TransformerRuns.Lr);
        Assert.Equal(2 * size.Warmup, pre[0].FirstUpdates.Length);
        Assert.Equal(2, pre[0].BlockGradients.Length);
        Assert.All(pre[0].BlockGradients.Append(pre[0].OutputGradient), g => Assert.True(double.IsFinite(g) && g > 0));
        Assert.Equal(pre[0].BlockGradients, pre[2].BlockGradients);   // same seed: same initialization and first minibatch
        Assert.NotEqual(pre[0].BlockGradients, warmup.Runs[0][0][0].BlockGradients);   // post-LN is another network
    }

    [Fact]
    public void The_transformer_experiments_draw_their_figures_and_judge_their_claims()
    {
        var bench = Reproduction.Run(["transformer-warmup", "three-phases"], new Workbench(Path.Combine(_dir, "transformer-report"), Scale.Quick));
        Assert.Empty(bench.Failures);
        Assert.Equal(["transformer-warmup-loss", "transformer-warmup-gradients", "transformer-warmup-updates", "three-phases-loss", "three-phases-rates"], bench.Figures.Select(f => f.Name));
        Assert.Equal(4, bench.Claims.Count(c => c.Experiment == "transformer-warmup"));
        Assert.Equal(2, bench.Claims.Count(c => c.Experiment == "three-phases"));
        Assert.All(bench.Claims.Concat<object>(bench.Measurements).Select(c => c.ToString()!), text => Assert.DoesNotContain("NaN", text));
    }

    [Fact]
    public void The_modern_optimizers_experiment_times_every_optimizer_to_its_target_at_a_grid_rate_and_judges_schedule_free()
    {
        var bench = new Workbench(Path.Combine(_dir, "modern"), Scale.Quick);
        var experiment = new ModernOptimizers();
        var data = experiment.Compute(bench);
        int n = ModernOptimizers.Contenders.Count;
        Assert.Equal(["cnn", "transformer"], data.Tasks.Select(t => t.Task.Name));
        foreach (var t in data.Tasks)
        {
            var task = t.Task;
            Assert.Single(t.Runs);
            Assert.Equal(n, t.Runs[0].Length);
            for (int c = 0; c < n; c++)
            {
                var c0 = ModernOptimizers.Contenders[c];
                Assert.Equal(ModernOptimizers.Factors(bench).Select(f => c0.Rate * f), t.Rates[c]);
                Assert.InRange(t.Fastest[c], 0, t.Rates[c].Length - 1);
                for (int r = 0; r < t.Rates[c].Length; r++)
                {
                    var run = t.Runs[0][c][r];
                    Assert.Equal(c, run.Setting.Contender);
                    Assert.Equal(t.Rates[c][r], run.Setting.Lr);
                    Assert.Equal(0, run.DivergedAt);
                    Assert.Equal([4.0, 8, 12], run.Steps);
                    // Accuracy for the classifier, nats per character (finite, below 3 ln V) for the transformer.
                    Assert.All(run.Metric, a => Assert.InRange(a, 0, task.Text ? 3 * run.Chance : 1));
                    Assert.True(run.Seconds[0] > 0 && run.Seconds.Zip(run.Seconds.Skip(1)).All(p => p.Second >= p.First), $"{c0.Label}: training time must grow");
                    if (run.Reached(task) is { } hit)
                    {
                        Assert.InRange(hit.Step, 1, 12);
                        Assert.True(task.Reaches(run.Metric[Array.IndexOf(run.Steps, hit.Step)]));
                    }
                    else Assert.All(run.Metric, a => Assert.False(task.Reaches(a)));
                }
                // The fastest rate reaches the target no later than any other rate of the grid.
                double Steps(int r) => t.Runs[0][c][r].Reached(task)?.Step ?? double.PositiveInfinity;
                Assert.All(Enumerable.Range(0, t.Rates[c].Length), r => Assert.True(Steps(t.Fastest[c]) <= Steps(r)));
                Assert.Equal(t.Runs[0][c].Max(x => task.Score(x.Final)), task.Score(t.Runs[0][c][t.Best[c]].Final));
            }
            // The optimizers really differ: the final metrics are not all the same.
            Assert.True(t.Runs[0].Select(c => c[0].Final).Distinct().Count() > 1);
        }
        // The transformer's loss is what the metric holds: it starts near ln V (uniform guessing) and falls.
        var first = data.Tasks[1].Runs[0][1][1];
        Assert.InRange(first.Metric[0], 0.5 * first.Chance, 1.5 * first.Chance);

        experiment.Draw(bench, data);
        experiment.Judge(bench, data);
        Assert.Equal(["modern-optimizers-cnn", "modern-optimizers-transformer"], bench.Figures.Select(f => f.Name));
        Assert.All(bench.Figures, f => Assert.True(File.Exists(f.PngPath)));
        Assert.Equal(2, bench.Claims.Count(c => c.Experiment == "modern-optimizers"));
        Assert.Equal(1 + 2 * n, bench.Measurements.Count(m => m.Experiment == "modern-optimizers"));
        Assert.All(bench.Claims.Concat<object>(bench.Measurements).Select(c => c.ToString()!), text => Assert.DoesNotContain("NaN", text));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Runs_start_costliest_first_and_return_in_input_order(int threads)
    {
        var bench = new Workbench(Path.Combine(_dir, "order"), Scale.Quick, threads: threads);
        var started = new System.Collections.Concurrent.ConcurrentQueue<int>();
        int[] items = [3, 50, 7, 20, 1];
        var results = bench.RunAll(items, i =>
        {
            started.Enqueue(i);
            return i * 10;
        }, cost: i => i);
        Assert.Equal([30, 500, 70, 200, 10], results);
        if (threads == 1) Assert.Equal([50, 20, 7, 3, 1], started);
        else Assert.Equal(items.Order(), started.Order());
    }

    private static readonly string[] KeptExperiments = ["cnn-lr-sensitivity", "cnn-optimizer-comparison"];

    /// <summary>The claims of a bench as text, without the parts that are timings.</summary>
    private static string[] Claims(Workbench bench) => [.. bench.Claims.Select(c => $"{c.Experiment} | {c.Measure} | {c.Value} | {c.Held}")];

    [Fact]
    public void Kept_runs_are_read_back_by_a_later_reproduction_and_retrained_when_another_build_wrote_them()
    {
        string dir = Path.Combine(_dir, "kept");
        var first = Reproduction.Run(KeptExperiments, new Workbench(dir, Scale.Quick));
        // The sensitivity experiment trains 8 runs; the comparison's 12 on MNIST include those 8, read back (and 3 more
        // on Fashion-MNIST where it is installed). Each run trained has its directory.
        Assert.Equal(8, first.Runs.Read);
        Assert.Equal(Directory.GetDirectories(Path.Combine(dir, "runs", "cnn")).Length, first.Runs.Trained);
        Assert.Equal(CnnRuns.FashionAvailable() ? 15 : 12, first.Runs.Trained);
        var again = Reproduction.Run(KeptExperiments, new Workbench(dir, Scale.Quick));
        Assert.Equal((0, first.Runs.Trained + first.Runs.Read), (again.Runs.Trained, again.Runs.Read));
        Assert.Equal(Claims(first), Claims(again));
        // A result from another build is not trusted: that run alone is trained again, to the same numbers.
        string result = Directory.GetFiles(Path.Combine(dir, "runs", "cnn"), "result.json", SearchOption.AllDirectories)[0];
        File.WriteAllText(result, File.ReadAllText(result).Replace(RunStore.Build, "another-build"));
        var third = Reproduction.Run(KeptExperiments, new Workbench(dir, Scale.Quick));
        Assert.Equal(1, third.Runs.Trained);
        Assert.Equal(Claims(first), Claims(third));
        // A damaged result of this build is reported, not trusted, and trained again; the setting file says what the run depends on.
        File.WriteAllText(result, File.ReadAllText(result).Replace("\"Steps\":[", "\"Steps\":[\"damaged\","));
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var fourth = Reproduction.Run(KeptExperiments, new Workbench(dir, Scale.Quick, messages.Enqueue));
        Assert.Equal(1, fourth.Runs.Trained);
        Assert.Contains(messages, m => m.Contains(result) && m.Contains("cannot be read") && m.Contains("training that run again"));
        Assert.Equal(Claims(first), Claims(fourth));
        Assert.Contains(RunStore.Machine, File.ReadAllText(Path.Combine(Path.GetDirectoryName(result)!, "setting.json")));
        // A setting listed twice is trained once (two workers claiming it at once would leave one waiting on the other).
        var twice = new Workbench(Path.Combine(_dir, "twice"), Scale.Quick, threads: 2);
        Assert.Equal([6, 6, 8], twice.RunKept("double", [3, 3, 4], x => { Thread.Sleep(50); return 2 * x; }));
        Assert.Equal(2, twice.Runs.Trained);
        // Another scale is another run.
        Assert.NotEqual(new Workbench(dir, Scale.Quick).Runs.Id("cnn", 1), new Workbench(dir, Scale.Default).Runs.Id("cnn", 1));
    }

    [Fact]
    public void Shards_split_the_runs_of_a_reproduction_and_a_last_run_without_a_shard_reports_what_one_process_would()
    {
        var single = Reproduction.Run(KeptExperiments, new Workbench(Path.Combine(_dir, "single"), Scale.Quick));
        string dir = Path.Combine(_dir, "sharded");
        var shards = Enumerable.Range(0, 3).Select(i => Reproduction.Run(KeptExperiments,
            new Workbench(dir, Scale.Quick, shard: new Descent.Sweeps.Shard(i, 3, $"shard {i}/3")))).ToArray();
        // The first shard trains its third of the sensitivity runs and cannot finish either experiment; no run is trained twice.
        Assert.Equal(KeptExperiments, shards[0].Pending.Select(p => p.Experiment));
        Assert.Contains("belong to other shards", shards[0].Pending[0].Reason);
        Assert.Empty(shards[0].Claims);
        Assert.Equal(single.Runs.Trained, shards.Sum(b => b.Runs.Trained));
        var last = Reproduction.Run(KeptExperiments, new Workbench(dir, Scale.Quick));
        Assert.Equal(0, last.Runs.Trained);
        Assert.Empty(last.Pending);
        Assert.Equal(Claims(single), Claims(last));
    }

    [Fact]
    public void Reproduce_takes_a_shard_and_says_what_is_left_to_the_others()
    {
        string dir = Path.Combine(_dir, "cli-shards");
        var (code, output, err) = CliRunner.Run("reproduce", "cnn-lr-sensitivity", "--quick", "--out", dir, "--shard", "0/2");
        Assert.True(code == 0, err);
        Assert.Contains("training the kept runs of shard 0/2", err);
        Assert.Contains("waiting: 1 experiment(s) need runs of other shards: cnn-lr-sensitivity", output);
        Assert.Contains("Waiting for runs of other shards", File.ReadAllText(Path.Combine(dir, "summary.md")));
        (code, output, err) = CliRunner.Run("reproduce", "cnn-lr-sensitivity", "--quick", "--out", dir, "--shard", "1/2");
        Assert.True(code == 0, err);
        Assert.Contains("runs:    4 trained, 4 read back", output);
        Assert.DoesNotContain("waiting:", output);
        (code, _, err) = CliRunner.Run("reproduce", "cnn-lr-sensitivity", "--quick", "--out", dir, "--shard", "2/2");
        Assert.Equal(2, code);
        Assert.Contains("Shard index 2 is out of range for 2 shards", err);
    }

    [Fact]
    public void Unknown_experiments_and_conflicting_scales_are_rejected()
    {
        var (code, _, err) = CliRunner.Run("reproduce", "moonz", "--quick", "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("Unknown experiment 'moonz'", err);
        (code, _, err) = CliRunner.Run("reproduce", "--quick", "--full", "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("--quick or --full", err);
    }

    [Fact]
    public void Every_claim_states_a_threshold_and_is_judged_yes_or_no()
    {
        var bench = Reproduction.Run([], new Workbench(Path.Combine(_dir, "claims"), Scale.Quick));
        Assert.NotEmpty(bench.Claims);
        foreach (var c in bench.Claims)
        {
            Assert.False(string.IsNullOrWhiteSpace(c.Published), $"{c.Experiment}: a claim without its published statement");
            Assert.False(string.IsNullOrWhiteSpace(c.Criterion), $"{c.Experiment}: '{c.Published}' has no threshold");
            Assert.Matches(@"\d", c.Criterion);   // a threshold is a number
        }
        string summary = File.ReadAllText(Path.Combine(_dir, "claims", "summary.md"));
        var claimRows = summary.Split('\n').SkipWhile(l => !l.StartsWith("## Claims")).TakeWhile(l => !l.StartsWith("## Measurements"))
            .Where(l => l.StartsWith("| ") && !l.StartsWith("| experiment")).ToList();
        Assert.Equal(bench.Claims.Count, claimRows.Count);
        Assert.All(claimRows, row => Assert.Matches(@"\| (yes|\*\*no\*\*) \|$", row.TrimEnd()));
    }

    [Fact]
    public void A_claim_holds_only_if_it_holds_in_every_seed()
    {
        var bench = new Workbench(Path.Combine(_dir, "seeded"), Scale.Quick, seeds: 3);
        var experiment = Reproduction.All[0];
        bench.Claim(experiment, "published", "all above 2", [3, 4, 5], v => v.ToString(System.Globalization.CultureInfo.InvariantCulture), "above 2 in every seed", v => v > 2);
        bench.Claim(experiment, "published", "one below 2", [3, 1, 5], v => v.ToString(System.Globalization.CultureInfo.InvariantCulture), "above 2 in every seed", v => v > 2);
        bench.Claim(experiment, "published", "a NaN", [3, double.NaN, 5], v => v.ToString(System.Globalization.CultureInfo.InvariantCulture), "above 2 in every seed", v => v > 2);
        Assert.Equal([true, false, false], bench.Claims.Select(c => c.Held));
        Assert.Equal("4 [3, 5]", bench.Claims[0].Value);   // median [min, max]
        Assert.Equal("3 [1, 5]", bench.Claims[1].Value);
    }

    [Fact]
    public void Seeds_repeat_the_stochastic_runs_and_the_summary_gives_median_and_range()
    {
        var (code, _, err) = CliRunner.Run("reproduce", "stretched-moons-momentum", "--quick", "--seeds", "2", "--out", Path.Combine(_dir, "s2"));
        Assert.True(code == 0, err);
        Assert.Contains("4 runs of", err);   // two settings x two seeds
        string summary = File.ReadAllText(Path.Combine(_dir, "s2", "summary.md"));
        Assert.Contains("2 seed(s)", summary);
        Assert.Contains("medians over 2 seeds", summary);
        var row = summary.Split('\n').Single(l => l.Contains("momentum minus SGD"));
        var range = System.Text.RegularExpressions.Regex.Match(row, @"points \[(-?[\d.]+) points, (-?[\d.]+) points\]");
        Assert.True(range.Success, row);
        Assert.NotEqual(range.Groups[1].Value, range.Groups[2].Value);   // the seeds are different runs
        var loss = summary.Split('\n').Single(l => l.Contains("| SGD: train loss, train accuracy"));
        var lossRange = System.Text.RegularExpressions.Regex.Match(loss, @"\[([\d.e-]+), ([\d.e-]+)\]");
        Assert.True(lossRange.Success && lossRange.Groups[1].Value != lossRange.Groups[2].Value, loss);
        (code, _, err) = CliRunner.Run("reproduce", "saddle", "--quick", "--seeds", "0", "--out", Path.Combine(_dir, "s0"));
        Assert.Equal(2, code);
        Assert.Contains("--seeds", err);
    }

    [Fact]
    public void A_missing_mnist_directory_is_rejected_before_any_work_starts()
    {
        string outDir = Path.Combine(_dir, "nomnist");
        var (code, output, err) = CliRunner.Run("reproduce", "saddle", "linear-mnist-sgd-vs-adam", "--quick", "--mnist-dir", Path.Combine(_dir, "no-such-dir"), "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("--mnist-dir", err);
        Assert.Contains("no such directory", err);
        Assert.DoesNotContain("[1/2] saddle", err);   // nothing ran
        Assert.False(Directory.Exists(outDir));
        Assert.Equal("", output);

        string empty = Directory.CreateDirectory(Path.Combine(_dir, "empty-mnist")).FullName;
        (code, _, err) = CliRunner.Run("reproduce", "saddle", "linear-mnist-sgd-vs-adam", "--quick", "--mnist-dir", empty, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("missing train-images-idx3-ubyte", err);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void An_experiment_that_fails_mid_run_is_reported_and_the_others_are_kept()
    {
        // The files exist (so the up-front check passes) but are not IDX files: the MNIST experiment fails when it reads them.
        string bad = Directory.CreateDirectory(Path.Combine(_dir, "bad-mnist")).FullName;
        foreach (var f in new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" })
            File.WriteAllText(Path.Combine(bad, f), "not an IDX file");
        string outDir = Path.Combine(_dir, "partial");
        var (code, _, err) = CliRunner.Run("reproduce", "linear-mnist-sgd-vs-adam", "saddle", "--quick", "--mnist-dir", bad, "--out", outDir);
        Assert.Equal(1, code);
        Assert.Contains("1 experiment(s) failed", err);
        Assert.Contains("bad magic number", err);
        Assert.DoesNotContain("   at ", err);   // no stack trace
        string summary = File.ReadAllText(Path.Combine(outDir, "summary.md"));
        Assert.Contains("## Failed", summary);
        Assert.Contains("**linear-mnist-sgd-vs-adam**: ", summary);
        Assert.Contains("| saddle |", summary);   // the experiment after the failure ran and was kept
        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("Failed:", html);
        Assert.True(File.Exists(Path.Combine(outDir, "figures", "saddle-escape.png")));
    }

    [Fact]
    public void Rosenbrock_picks_each_rate_by_the_worst_distance_over_the_last_tenth_of_the_updates()
    {
        var bench = Reproduction.Run(["rosenbrock"], new Workbench(Path.Combine(_dir, "rosen"), Scale.Quick));
        const int steps = 400;
        var f = Descent.Landscapes.Landscape.Get("rosenbrock");
        double[] grid = [.. Enumerable.Range(0, 17).Select(k => Math.Pow(10, -5 + k * 0.25))];
        double Tail(string optimizer, Action<Descent.Optim.OptimizerOptions> set, double lr)
        {
            var o = Descent.Optim.Optimizers.DefaultOptions(optimizer);
            set(o);
            o.LearningRate = lr;
            var path = Descent.Landscapes.Trajectory.Run(f, optimizer, o, (-1.5, 2), steps);
            if (!path.All(p => double.IsFinite(p.Loss) && p.Loss < 1e6)) return double.PositiveInfinity;
            return path.Skip(path.Length - steps / 10).Max(p => Math.Sqrt((p.X - 1) * (p.X - 1) + (p.Y - 1) * (p.Y - 1)));
        }
        foreach (var (label, optimizer, set) in new (string, string, Action<Descent.Optim.OptimizerOptions>)[] { ("SGD", "sgd", _ => { }), ("Lion", "lion", _ => { }), ("Adam", "adam", _ => { }) })
        {
            var expected = grid.Select(lr => Tail(optimizer, set, lr)).Min();
            var row = bench.Measurements.Single(m => m.Measure.StartsWith(label + ":", StringComparison.Ordinal));
            Assert.StartsWith(Numbers.Format(expected) + " (", row.Value);
        }
    }

    [Theory]
    [InlineData(-2, 4, "0.01 0.1 1 10 100 1000 10000")]
    [InlineData(-17, 4, "1e-15 1e-12 1e-9 1e-6 0.001 1 1000")]
    [InlineData(-1.2, 0.2, "0.1 0.2 0.5 1")]
    [InlineData(-0.75, -0.05, "0.2 0.3 0.4 0.5 0.6 0.7 0.8")]
    public void Log_axis_ticks_use_one_format_and_round_values(double lo, double hi, string labels)
    {
        var (positions, text) = Figures.LogTicks(lo, hi);
        Assert.Equal(labels, string.Join(' ', text));
        Assert.All(positions, p => Assert.InRange(p, lo - 1e-9, hi + 1e-9));
    }

    [Theory]
    [InlineData(0.2352, "0.235")]
    [InlineData(1300, "1300")]
    [InlineData(1501.3, "1500")]
    [InlineData(123456, "1.23e5")]
    [InlineData(2.48e-16, "2.48e-16")]
    [InlineData(9.996, "10")]
    [InlineData(-0.000289, "-2.89e-4")]
    [InlineData(0.00123, "0.00123")]
    public void Report_numbers_have_one_format(double value, string expected) => Assert.Equal(expected, Numbers.Format(value));

    [Fact]
    public void Hessian_eigenvalues_of_a_linear_least_squares_model_match_the_closed_form()
    {
        // A linear model with MSE on one-hot targets: L = mean_{b,k} (W x_b + c - t)^2, so H = (2 / (B K)) (X~^T X~) (x) I_K with X~ = [X, 1].
        var rng = new Rng(3);
        var data = Moons.Generate(40, 0.2, 0, 1, 1, rng);
        var model = new Sequential<float>([2, 2], Activation.Identity, Initialization.Torch, rng);
        var curvature = new Curvature(model, data, Loss.MeanSquaredError);
        double a = 0, b = 0, c = 0, d = 0, e = 0, n = data.Count;
        for (int i = 0; i < data.Count; i++)
        {
            double x = data.Row(i)[0], y = data.Row(i)[1];
            a += x * x; b += x * y; c += y * y; d += x; e += y;
        }
        // Eigenvalues of the 3x3 Gram matrix [[a, b, d], [b, c, e], [d, e, n]] by the characteristic cubic.
        var gram = new double[,] { { a, b, d }, { b, c, e }, { d, e, n } };
        var eig = SymmetricEigenvalues3(gram).Select(v => 2 * v / (n * 2)).ToArray();
        var (max, min) = curvature.ExtremeEigenvalues(300, new Rng(1));
        Assert.Equal(eig.Max(), max, 4);
        Assert.Equal(eig.Min(), min, 3);
    }

    private static double[] SymmetricEigenvalues3(double[,] m)
    {
        double p1 = m[0, 1] * m[0, 1] + m[0, 2] * m[0, 2] + m[1, 2] * m[1, 2];
        double q = (m[0, 0] + m[1, 1] + m[2, 2]) / 3;
        double p2 = Math.Pow(m[0, 0] - q, 2) + Math.Pow(m[1, 1] - q, 2) + Math.Pow(m[2, 2] - q, 2) + 2 * p1;
        double p = Math.Sqrt(p2 / 6);
        var bm = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) bm[i, j] = (m[i, j] - (i == j ? q : 0)) / p;
        double det = bm[0, 0] * (bm[1, 1] * bm[2, 2] - bm[1, 2] * bm[2, 1]) - bm[0, 1] * (bm[1, 0] * bm[2, 2] - bm[1, 2] * bm[2, 0]) + bm[0, 2] * (bm[1, 0] * bm[2, 1] - bm[1, 1] * bm[2, 0]);
        double phi = Math.Acos(Math.Clamp(det / 2, -1, 1)) / 3;
        double e1 = q + 2 * p * Math.Cos(phi), e3 = q + 2 * p * Math.Cos(phi + 2 * Math.PI / 3);
        return [e1, 3 * q - e1 - e3, e3];
    }
}
