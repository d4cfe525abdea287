using System.Diagnostics;
using System.Text.Json;
using Descent.State;
using Descent.Sweeps;
using Xunit;

namespace Descent.Tests;

/// <summary>Sweeps: the file and its plan, trial ids, shards, claims, running and resuming, failures, status and report.</summary>
public sealed class SweepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-sweep").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Path_(string name) => Path.Combine(_dir, name);

    private string File_(string name, string json)
    {
        string path = Path_(name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Eight moons trials of 300 steps (two optimizers, two learning rates, two seeds) with checkpoints every 50 steps.</summary>
    internal const string Small = """
        {
          "base": { "data": "moons", "n": 200, "hidden": [8, 8], "steps": 300, "batch": 16, "eval_every": 50, "checkpoint_every": 50 },
          "axes": { "optimizer": ["sgd", "adam"], "lr": [0.01, 0.1] },
          "seeds": 2
        }
        """;

    private static Sweep Parse(string json) => Sweep.Parse(json, "test.json");

    [Fact]
    public void The_plan_is_every_combination_with_the_first_axis_slowest_and_seeds_innermost()
    {
        var plan = Parse(Small).Plan();
        Assert.Equal(8, plan.Count);
        Assert.Equal("optimizer=sgd, lr=0.01, seed=0", plan[0].Describe());
        Assert.Equal("optimizer=sgd, lr=0.01, seed=1", plan[1].Describe());
        Assert.Equal("optimizer=adam, lr=0.1, seed=1", plan[7].Describe());
        Assert.Equal(0.1, plan[7].Config.Hyperparameters["lr"]);
        Assert.Equal("adam", plan[7].Config.Optimizer);
        Assert.Equal(1UL, plan[7].Config.Seed);
        Assert.Equal([8, 8], plan[7].Config.Hidden);
        Assert.Equal(Enumerable.Range(0, 8), plan.Select(t => t.Index));
        Assert.All(plan, t => Assert.Matches("^[0-9a-f]{12}$", t.Id));
        Assert.Equal(8, plan.Select(t => t.Id).Distinct().Count());
    }

    [Fact]
    public void Adding_values_to_an_axis_keeps_the_old_trial_ids()
    {
        var before = Parse(Small).Plan();
        var after = Parse(Small.Replace("[0.01, 0.1]", "[0.003, 0.01, 0.1, 1]").Replace("[\"sgd\", \"adam\"]", "[\"sgd\", \"adam\", \"rmsprop\"]")).Plan();
        Assert.Equal(24, after.Count);
        foreach (var t in before)
            Assert.Equal(t.Id, Assert.Single(after, a => a.Describe() == t.Describe()).Id);
    }

    [Fact]
    public void The_id_is_the_hash_of_the_resolved_config_alone()
    {
        // A log grid that lands on round values gives the same trials as the list of those values, in either axis order.
        var grid = Parse("""{"axes": {"lr": {"log_uniform": [1e-4, 1e-1], "count": 4}, "batch": [8, 32]}}""").Plan();
        var list = Parse("""{"axes": {"batch": [8, 32], "lr": [0.0001, 0.001, 0.01, 0.1]}}""").Plan();
        Assert.Equal(["0.0001", "0.001", "0.01", "0.1"], grid.Where(t => t.Config.Batch == 8).Select(t => t.Axes[0].Value));
        Assert.Equal(list.Select(t => t.Id).Order(), grid.Select(t => t.Id).Order());
        // A setting given at its default changes nothing; a different value changes the id.
        Assert.Equal(TrialId.Of(new Descent.Training.TrainingConfig()), TrialId.Of(new Descent.Training.TrainingConfig { Batch = 32 }));
        Assert.NotEqual(TrialId.Of(new Descent.Training.TrainingConfig()), TrialId.Of(new Descent.Training.TrainingConfig { Batch = 33 }));
    }

    [Fact]
    public void Ranges_give_evenly_spaced_grids_and_whole_numbers_for_whole_settings()
    {
        var plan = Parse("""{"axes": {"batch": {"log_uniform": [1, 512], "count": 10}, "momentum": {"uniform": [0, 0.9], "count": 4}}, "base": {"optimizer": "sgd", "n": 512}}""").Plan();
        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 128, 256, 512], plan.Select(t => t.Config.Batch).Distinct());
        Assert.Equal([0, 0.3, 0.6, 0.9], plan.Select(t => t.Config.Hyperparameters["momentum"]).Distinct());
        // A count among the hyperparameters (L-BFGS's max_iter) draws whole numbers too: a fraction would refuse the plan.
        var counts = Parse("""{"axes": {"max_iter": {"log_uniform": [2, 50], "count": 4}}, "base": {"optimizer": "lbfgs", "n": 64}}""").Plan();
        Assert.Equal([2, 6, 17, 50], counts.Select(t => t.Config.Hyperparameters["max_iter"]));
    }

    [Fact]
    public void Random_sampling_is_reproducible_from_its_own_seed_and_more_points_keep_the_first()
    {
        const string json = """{"axes": {"optimizer": ["sgd", "adam"], "lr": {"log_uniform": [1e-4, 1]}}, "sample": {"count": COUNT, "seed": SEED}, "seeds": 2}""";
        var a = Parse(json.Replace("COUNT", "5").Replace("SEED", "3")).Plan();
        var b = Parse(json.Replace("COUNT", "5").Replace("SEED", "3")).Plan();
        var c = Parse(json.Replace("COUNT", "8").Replace("SEED", "3")).Plan();
        var d = Parse(json.Replace("COUNT", "5").Replace("SEED", "4")).Plan();
        Assert.Equal(10, a.Count);
        Assert.Equal(a.Select(t => t.Id), b.Select(t => t.Id));
        Assert.Equal(a.Select(t => t.Id), c.Take(10).Select(t => t.Id));
        Assert.NotEqual(a.Select(t => t.Id), d.Select(t => t.Id));
        Assert.All(a, t => Assert.InRange(t.Config.Hyperparameters["lr"], 1e-4, 1));
        Assert.True(a.Select(t => t.Config.Hyperparameters["lr"]).Distinct().Count() == 5, "five distinct points, each with two seeds");
    }

    [Theory]
    [InlineData("""{"base": {"lerning_rate": 0.1}}""", "unknown setting \"lerning_rate\" in \"base\"")]
    [InlineData("""{"axes": {"lerning_rate": [0.1]}}""", "unknown setting \"lerning_rate\" on an axis")]
    [InlineData("""{"axes": {"lr": []}}""", "axis \"lr\" is empty")]
    [InlineData("""{"axes": {"lr": {"log_uniform": [0.001, 0.1], "count": 0}}}""", "axis \"lr\" is empty (count 0)")]
    [InlineData("""{"axes": {"lr": {"log_uniform": [0, 0.1], "count": 3}}}""", "a log-uniform range needs low > 0")]
    [InlineData("""{"axes": {"lr": {"log_uniform": [0.001, 0.1]}}}""", "needs a \"count\" of grid points")]
    [InlineData("""{"axes": {"optimizer": ["adam"], "momentum": [0.9]}}""", "Unknown hyperparameter 'momentum' for adam")]
    [InlineData("""{"axes": {"lr": [-1]}}""", "trial lr=-1: Invalid lr: -1")]
    [InlineData("""{"axes": {"batch": ["big"]}}""", "setting \"batch\" has a value of the wrong type")]
    [InlineData("""{"base": {"activation": "relu6"}}""", "Unknown activation")]
    [InlineData("""{"seeds": 0}""", "\"seeds\" must be a whole number >= 1")]
    [InlineData("""{"metric": "f1"}""", "unknown metric \"f1\"")]
    [InlineData("""{"axis": {}}""", "unknown key \"axis\"")]
    [InlineData("""{"base": {"steps": 10},""", "test.json: not valid JSON")]
    [InlineData("""{"base": {"data": "moons", "model": "transfomer"}, "axes": {"lr": [0.1]}}""", "'transfomer'")]
    [InlineData("""{"base": {"data": "mnist", "model": "cnn"}, "axes": {"model": ["cnn", "conv:8,k=3,q=1-flatten-linear"]}}""", "trial model=conv:8,k=3,q=1-flatten-linear: ")]
    [InlineData("""{"base": {"steps": 20, "swa_start": 20}}""", "SWA averages the updates after update 20, but the run has 20: nothing would be averaged")]
    [InlineData("""{"base": {"n": 10, "batch": 5}, "axes": {"batch": [5, 50]}}""", "trial batch=50: batch 50 is larger than the training set (10 moons examples)")]
    [InlineData("""{"base": {"eval_every": 0}}""", "Invalid evaluation interval 0")]
    [InlineData("""{"base": {"schedule": "onecycle"}, "axes": {"optimizer": ["sgd", "adagrad"]}}""", "trial optimizer=adagrad: onecycle moves momentum against the rate")]
    [InlineData("""{"axes": {"lr": {"log_uniform": [1e-5, 1], "count": 100000}, "eps": {"log_uniform": [1e-10, 1e-6], "count": 100000}}}""", "the sweep has 10,000,000,000 trials, more than the 1,000,000 one plan may hold")]
    public void A_mistake_in_the_sweep_file_is_one_clear_message(string json, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => Parse(json).Plan());
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("test.json", e.Message);
    }

    [Fact]
    public void The_command_line_reports_a_bad_sweep_file_with_exit_code_2()
    {
        var (code, _, err) = CliRunner.Run("sweep", "plan", File_("bad.json", """{"axes": {"lr": []}}"""));
        Assert.Equal(2, code);
        Assert.Equal($"descent: error: {Path_("bad.json")}: axis \"lr\" is empty; give at least one value.", err.Trim());
    }

    [Fact]
    public void Plan_prints_each_trial_with_its_id_shard_and_axes()
    {
        string file = File_("small.json", Small);
        var (code, output, err) = CliRunner.Run("sweep", "plan", file, "--shards", "3");
        Assert.True(code == 0, err);
        var lines = output.Trim().Split('\n');
        Assert.Equal(["index", "id", "shard", "optimizer", "lr", "seed"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var plan = Sweep.Load(file).Plan();
        Assert.Equal(["7", plan[7].Id, "1", "adam", "0.1", "1"], lines[8].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("8 trial(s)", lines[^1]);
        (code, output, _) = CliRunner.Run("sweep", "plan", file, "--format", "json");
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(8, json.GetArrayLength());
        Assert.Equal(plan[3].Id, json[3].GetProperty("id").GetString());
        Assert.Equal(0.1, json[3].GetProperty("config").GetProperty("hyperparameters").GetProperty("lr").GetDouble());
    }

    [Fact]
    public void Shards_partition_the_plan()
    {
        var plan = Parse(Small.Replace("\"seeds\": 2", "\"seeds\": 5")).Plan();
        for (int n = 1; n <= 7; n++)
        {
            var parts = Enumerable.Range(0, n).Select(i => new Shard(i, n, "test").Of(plan)).ToList();
            Assert.Equal(plan.Select(t => t.Id).Order(), parts.SelectMany(p => p.Select(t => t.Id)).Order());
            Assert.True(parts.Max(p => p.Count) - parts.Min(p => p.Count) <= 1, "balanced");
        }
    }

    [Fact]
    public void The_shard_comes_from_the_flag_or_the_schedulers_environment()
    {
        static Func<string, string?> Env(params (string, string)[] vars) => name => vars.FirstOrDefault(v => v.Item1 == name).Item2;
        Assert.Equal((2, 4), Pair(Shard.Resolve("2/4", null, Env())));
        var slurm = Shard.Resolve(null, null, Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "0")));
        Assert.Equal((3, 4), Pair(slurm));
        Assert.Contains("SLURM_ARRAY_TASK_ID=3", slurm.ToString());
        Assert.Equal((0, 4), Pair(Shard.Resolve(null, null, Env(("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "1")))));
        var k8s = Shard.Resolve(null, 5, Env(("JOB_COMPLETION_INDEX", "4")));
        Assert.Equal((4, 5), Pair(k8s));
        Assert.Contains("JOB_COMPLETION_INDEX=4", k8s.ToString());
        Assert.Equal((1, 3), Pair(Shard.Resolve("1/3", null, Env(("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")))));   // the flag wins
        Assert.Same(Shard.All, Shard.Resolve(null, null, Env()));
    }

    private static (int, int) Pair(Shard s) => (s.Index, s.Count);

    [Theory]
    [InlineData("4/4", null, "", "Shard index 4 is out of range for 4 shards (shard 4/4): it must be from 0 to 3.")]
    [InlineData("1-4", null, "", "Invalid shard '1-4': expected I/N")]
    [InlineData(null, null, "JOB_COMPLETION_INDEX=2", "JOB_COMPLETION_INDEX=2 names this shard but not how many there are: give the shard count")]
    [InlineData(null, 2, "JOB_COMPLETION_INDEX=2", "Shard index 2 is out of range for 2 shards (JOB_COMPLETION_INDEX=2, shards=2)")]
    [InlineData(null, null, "SLURM_ARRAY_TASK_ID=7,SLURM_ARRAY_TASK_COUNT=4", "Shard index 7 is out of range for 4 shards")]
    public void A_shard_out_of_range_is_a_clear_error(string? flag, int? count, string env, string expected)
    {
        var vars = env.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=')).ToDictionary(v => v[0], v => v[1]);
        var e = Assert.Throws<ArgumentException>(() => Shard.Resolve(flag, count, n => vars.GetValueOrDefault(n)));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void The_command_line_names_its_flags_where_the_sweep_library_names_none()
    {
        var e = Assert.Throws<ArgumentException>(() => Shard.Resolve("1-4", null, _ => null));
        Assert.DoesNotContain("--", e.Message);
        string file = File_("flags.json", Small);
        var (code, _, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("flags"), "--shard", "1-4");
        Assert.Equal(2, code);
        Assert.Contains("Invalid shard '1-4': expected I/N with 0 <= I < N, e.g. 0/4 (--shard I/N, --shards N).", err);
        (code, _, err) = CliRunner.Run("sweep", "status", Path_("nowhere"));
        Assert.Equal(2, code);
        Assert.Contains($"is not a sweep directory (no sweep.json); run a sweep into it first (descent sweep run FILE --out {Path_("nowhere")}).", err);
    }

    [Fact]
    public void A_live_claim_is_refused_and_a_dead_owners_claim_is_taken_over()
    {
        string trial = Path_("trial");
        using (var mine = Claim.TryAcquire(trial))
        {
            Assert.NotNull(mine);
            Assert.Null(Claim.TryAcquire(trial));   // held by this live process
        }
        Assert.False(File.Exists(Path.Combine(trial, Claim.FileName)));   // released

        // A claim by a process that has exited (same host): stale, taken over, and the dead owner's claim kept aside.
        using var exited = Process.Start(new ProcessStartInfo("true"))!;
        exited.WaitForExit();
        File.WriteAllText(Path.Combine(trial, Claim.FileName), JsonSerializer.Serialize(new { host = Environment.MachineName, pid = exited.Id, start = 12345L, claimed = DateTime.UtcNow }));
        using (var taken = Claim.TryAcquire(trial)) Assert.NotNull(taken);
        Assert.Single(Directory.GetFiles(trial, "claim.stale-*"));

        // A claim with this process's pid but another start time is a reused pid, not this process: stale.
        File.WriteAllText(Path.Combine(trial, Claim.FileName), JsonSerializer.Serialize(new { host = Environment.MachineName, pid = Environment.ProcessId, start = 1L, claimed = DateTime.UtcNow }));
        using (var taken = Claim.TryAcquire(trial)) Assert.NotNull(taken);

        // Another host's claim: alive while its heartbeat is fresh, stale once it is older than StaleAfter.
        string path = Path.Combine(trial, Claim.FileName);
        File.WriteAllText(path, JsonSerializer.Serialize(new { host = "other-node", pid = 1, start = 1L, claimed = DateTime.UtcNow }));
        Assert.Null(Claim.TryAcquire(trial));
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - Claim.StaleAfter - TimeSpan.FromSeconds(1));
        using (var taken = Claim.TryAcquire(trial)) Assert.NotNull(taken);
    }

    [Fact]
    public void Threads_racing_for_a_stale_claim_give_it_to_exactly_one()
    {
        for (int round = 0; round < 20; round++)
        {
            string trial = Path_($"race{round}");
            Directory.CreateDirectory(trial);
            File.WriteAllText(Path.Combine(trial, Claim.FileName), JsonSerializer.Serialize(new { host = "gone", pid = 1, start = 1L, claimed = DateTime.UtcNow }));
            File.SetLastWriteTimeUtc(Path.Combine(trial, Claim.FileName), DateTime.UtcNow.AddHours(-1));
            using var go = new Barrier(8);
            var won = new Claim?[8];
            var threads = Enumerable.Range(0, 8).Select(i => new Thread(() => { go.SignalAndWait(); won[i] = Claim.TryAcquire(trial); })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.Single(won, c => c is not null);
            foreach (var c in won) c?.Dispose();
        }
    }

    internal static Process StartCli(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) start.Environment[k] = v;
        foreach (var k in new[] { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX" })
            if (env is null || !env.ContainsKey(k)) start.Environment.Remove(k);
        return Process.Start(start)!;
    }

    /// <summary>
    /// Runs <paramref name="file"/> to its end (within <paramref name="seconds"/>), with variables of <paramref name="env"/> set
    /// (or removed where null), and logs the command and what it printed to <paramref name="log"/>.
    /// </summary>
    internal static (int Code, string Output) Shell(Xunit.Abstractions.ITestOutputHelper log, string file, IEnumerable<string> args, int seconds,
        string? workingDirectory = null, IDictionary<string, string?>? env = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            if (v is null) start.Environment.Remove(k);
            else start.Environment[k] = v;
        }
        using var p = Process.Start(start)!;
        var (code, text) = Finish(p, seconds);
        log.WriteLine($"$ {file} {string.Join(' ', args)} -> {code}\n{text}");
        return (code, text);
    }

    internal static (int Code, string Err) Finish(Process p, int seconds = 120)
    {
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(seconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{p.StartInfo.FileName} {string.Join(' ', p.StartInfo.ArgumentList)} did not finish within {seconds} s.");
        }
        p.WaitForExit();
        return (p.ExitCode, output.Result + err.Result);
    }

    /// <summary>Asserts that two sweep directories hold the same trials with byte-identical metrics and weights, each run once to its end.</summary>
    internal static void AssertSameTrials(string expected, string actual)
    {
        var ids = Directory.GetDirectories(Path.Combine(expected, "trials")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(ids, Directory.GetDirectories(Path.Combine(actual, "trials")).Select(Path.GetFileName).Order());
        foreach (var id in ids)
        {
            string a = Path.Combine(expected, "trials", id!), b = Path.Combine(actual, "trials", id!);
            Assert.True(File.Exists(Path.Combine(b, TrialResult.FileName)), $"trial {id} has no result");
            foreach (var file in new[] { "metrics.csv", "metrics.jsonl", "model.safetensors", "config.json" })
                Assert.True(File.ReadAllBytes(Path.Combine(a, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(b, file))), $"trial {id}: {file} differs");
            Assert.False(File.Exists(Path.Combine(b, Claim.FileName)), $"trial {id} still claimed");
            Assert.Empty(Directory.GetFiles(b, "*.tmp"));
        }
    }

    private static int Attempts(string dir, string id) => File.ReadAllLines(Path.Combine(dir, "trials", id, "attempts.jsonl")).Length;

    [Theory]
    [InlineData("adamw_lr")]
    [InlineData("adam_w_lr")]   // as earlier versions named it
    public void Muons_adamw_lr_reads_under_its_name_and_its_earlier_one(string name)
    {
        var sweep = Sweep.Parse($$$"""{"base": {"optimizer": "muon", "{{{name}}}": 0.003}, "axes": {"{{{name}}}": [0.001, 0.002]}}""", "test");
        Assert.Equal(0.003, sweep.BaseConfig.AdamWLr);
        Assert.Equal(["adamw_lr"], sweep.AxisNames);
        Assert.Equal([0.001, 0.002], sweep.Plan().Select(t => t.Config.AdamWLr!.Value));
        string dir = Path_("run-" + name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), $$"""{"optimizer": "muon", "{{name}}": 0.003}""");
        Assert.Equal(0.003, Descent.Training.Trainer.LoadConfig(dir).AdamWLr);
        // A trial's id hashes the setting under its earlier name, so a sweep started before the rename keeps its finished trials.
        Assert.Equal("{\"adam_w_lr\":0.001,\"optimizer\":\"muon\"}", TrialId.Canonical(sweep.Plan().First().Config));
    }

    [Fact]
    public void A_sweep_runs_every_trial_once_and_a_second_run_has_nothing_to_do()
    {
        string file = File_("small.json", Small);
        var (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("out"), "--jobs", "2");
        Assert.True(code == 0, err);
        Assert.Contains("8 trial(s) run (0 resumed)", output);
        var plan = Sweep.Load(file).Plan();
        foreach (var t in plan)
        {
            var result = TrialResult.Load(Path.Combine(Path_("out"), "trials", t.Id))!;
            Assert.Equal(TrialStatus.Done, result.Status);
            Assert.Equal(300, result.Steps);
            var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(Path_("out"), "trials", t.Id, "summary.json"))).RootElement;
            Assert.Equal(summary.GetProperty("test_loss").GetDouble(), result.TestLoss);
            Assert.Equal(1, Attempts(Path_("out"), t.Id));
            Assert.EndsWith("}\n", File.ReadAllText(Path.Combine(Path_("out"), "trials", t.Id, TrialResult.FileName)));   // as every JSON file written
        }
        Assert.EndsWith("}\n", File.ReadAllText(Path.Combine(Path_("out"), SweepDirectory.SweepFile)));
        (code, output, _) = CliRunner.Run("sweep", "run", file, "--out", Path_("out"));
        Assert.Equal(0, code);
        Assert.Contains("0 trial(s) run (0 resumed), 8 ended before", output);

        // Serial and parallel runs are the same trials to the bit.
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("serial"), "--jobs", "1").Code);
        AssertSameTrials(Path_("serial"), Path_("out"));
    }

    [Fact]
    public void Two_processes_on_one_directory_never_run_the_same_trial()
    {
        string file = File_("small.json", Small.Replace("\"seeds\": 2", "\"seeds\": 4"));
        var processes = Enumerable.Range(0, 2).Select(_ => StartCli(["sweep", "run", file, "--out", Path_("shared"), "--jobs", "2"])).ToList();
        foreach (var p in processes) Assert.Equal(0, Finish(p).Code);
        var plan = Sweep.Load(file).Plan();
        Assert.All(plan, t => Assert.Equal(1, Attempts(Path_("shared"), t.Id)));
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("single"), "--jobs", "2").Code);
        AssertSameTrials(Path_("single"), Path_("shared"));
    }

    [Fact]
    public void A_claim_left_beside_an_ended_trials_result_by_a_stopped_process_is_removed()
    {
        // A process stopped between writing a trial's result and releasing its claim; a live owner's claim stays.
        string file = File_("small.json", Small);
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("left"), "--jobs", "2").Code);
        var plan = Sweep.Load(file).Plan();
        using var exited = Process.Start(new ProcessStartInfo("true"))!;
        exited.WaitForExit();
        string dead = Path.Combine(Path_("left"), "trials", plan[1].Id, Claim.FileName), live = Path.Combine(Path_("left"), "trials", plan[2].Id, Claim.FileName);
        File.WriteAllText(dead, JsonSerializer.Serialize(new { host = Environment.MachineName, pid = exited.Id, start = 12345L, claimed = DateTime.UtcNow }));
        File.WriteAllText(live, JsonSerializer.Serialize(ClaimOwner.Current(), new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
        var (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("left"));
        Assert.True(code == 0, err);
        Assert.Contains("0 trial(s) run (0 resumed), 8 ended before", output);
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(live));
    }

    [Fact]
    public void A_claim_that_cannot_be_read_is_taken_over_once_it_is_stale()
    {
        string file = File_("small.json", Small);
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("claimed"), "--jobs", "2").Code);
        var trial = Sweep.Load(file).Plan()[2];
        string dir = Path.Combine(Path_("claimed"), "trials", trial.Id), claim = Path.Combine(dir, Claim.FileName);
        foreach (var f in new[] { TrialResult.FileName, "summary.json", "checkpoint.state" }) File.Delete(Path.Combine(dir, f));
        File.WriteAllText(claim, "");
        // Fresh, it might be a claim being written: the trial is left to its holder.
        var (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("claimed"));
        Assert.True(code == 0, err);
        Assert.Contains("1 held by other processes", output);
        File.SetLastWriteTimeUtc(claim, DateTime.UtcNow - Claim.StaleAfter - TimeSpan.FromMinutes(1));
        (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("claimed"));
        Assert.True(code == 0, err);
        Assert.Contains("1 trial(s) run (0 resumed), 7 ended before", output);
        Assert.Equal(TrialStatus.Done, TrialResult.Load(dir)!.Status);
    }

    [Fact]
    public void A_trial_whose_checkpoint_is_damaged_trains_again_and_the_sweep_goes_on()
    {
        // The state a disk error could leave: a trial cut off after a checkpoint, that checkpoint truncated.
        string file = File_("small.json", Small);
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("whole"), "--jobs", "2").Code);
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("damaged"), "--jobs", "2").Code);
        var trial = Sweep.Load(file).Plan()[3];
        string dir = Path.Combine(Path_("damaged"), "trials", trial.Id);
        File.Delete(Path.Combine(dir, TrialResult.FileName));
        File.Delete(Path.Combine(dir, "summary.json"));
        string checkpoint = Path.Combine(dir, "checkpoint.state");
        File.WriteAllBytes(checkpoint, File.ReadAllBytes(checkpoint)[..100]);
        // Another whose checkpoint reads but whose metrics were rewritten with CRLF line endings: refused on resume, so trained again too.
        var other = Sweep.Load(file).Plan()[5];
        string otherDir = Path.Combine(Path_("damaged"), "trials", other.Id);
        File.Delete(Path.Combine(otherDir, TrialResult.FileName));
        File.Delete(Path.Combine(otherDir, "summary.json"));
        string csv = Path.Combine(otherDir, "metrics.csv");
        File.WriteAllText(csv, File.ReadAllText(csv).Replace("\n", "\r\n", StringComparison.Ordinal));
        var (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("damaged"), "--jobs", "2");
        Assert.True(code == 0, err);
        Assert.Contains($"trial {trial.Id} ({trial.Describe()}): its checkpoint cannot be read", output + err);
        Assert.Contains($"trial {other.Id} ({other.Describe()}): its run cannot be resumed", output + err);
        Assert.Contains("2 trial(s) run (1 resumed), 6 ended before", output);
        AssertSameTrials(Path_("whole"), Path_("damaged"));
    }

    [Fact]
    public void A_sweep_killed_mid_trial_resumes_from_its_checkpoints_to_the_same_bits()
    {
        // Longer trials so the kill lands inside one: 15,000 steps (about a second), a checkpoint every 500; at 3,000 steps
        // a trial could end between the check below and the kill. A cosine schedule, whose length the trainer writes out
        // in config.json, must not stop a trial from resuming.
        string file = File_("long.json", Small.Replace("\"steps\": 300", "\"steps\": 15000").Replace("\"checkpoint_every\": 50", "\"checkpoint_every\": 500, \"schedule\": \"cosine\""));
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("whole"), "--jobs", "2").Code);
        var plan = Sweep.Load(file).Plan();

        var process = StartCli(["sweep", "run", file, "--out", Path_("killed"), "--jobs", "2"]);
        var clock = Stopwatch.StartNew();
        // Kill once some trial has ended and another has a checkpoint short of its last step (the last one is written just
        // before the result, so seeing it is no proof of a trial still under way): mid-trial.
        bool MidTrial() => plan.Any(t => File.Exists(Path.Combine(Path_("killed"), "trials", t.Id, TrialResult.FileName))) &&
            plan.Any(t => Path.Combine(Path_("killed"), "trials", t.Id, "checkpoint.state") is var c && File.Exists(c) &&
                !File.Exists(Path.Combine(Path_("killed"), "trials", t.Id, TrialResult.FileName)) && StateDict.Load(c).GetLong("trainer.step") < 14_000);
        while (!MidTrial() && !process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(2);
        Assert.False(process.HasExited, "the sweep ended before it could be killed mid-trial");
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        var status = CliRunner.Run("sweep", "status", Path_("killed"));
        Assert.Matches(@"[1-9]\d* interrupted", status.Out);
        Assert.Contains("resumes from step", status.Out);

        var (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("killed"), "--jobs", "2");
        Assert.True(code == 0, err);
        Assert.Matches(@"\([1-9]\d* resumed\)", output);
        AssertSameTrials(Path_("whole"), Path_("killed"));
        Assert.Contains(plan, t => File.ReadAllLines(Path.Combine(Path_("killed"), "trials", t.Id, "attempts.jsonl")).Any(l => !l.Contains("\"from_step\":0")));
    }

    [Fact]
    public void A_trial_stopped_after_its_last_checkpoint_but_before_its_result_is_finished_on_the_next_run()
    {
        // The last checkpoint is written at the last step, then the summary, then the result: a kill between them leaves a
        // trial trained to its end with nothing recorded. The next run must finish it, not fail it for having no steps left.
        string file = File_("small.json", Small);
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("whole"), "--jobs", "2").Code);
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("stopped"), "--jobs", "2").Code);
        // One stopped before its summary, one after its summary but before its result.
        var plan = Sweep.Load(file).Plan();
        string[] dirs = [.. new[] { plan[3], plan[6] }.Select(t => Path.Combine(Path_("stopped"), "trials", t.Id))];
        byte[] summary = File.ReadAllBytes(Path.Combine(dirs[1], "summary.json"));
        foreach (var dir in dirs)
        {
            Assert.Equal(300, StateDict.Load(Path.Combine(dir, "checkpoint.state")).GetLong("trainer.step"));
            File.Delete(Path.Combine(dir, TrialResult.FileName));
        }
        File.Delete(Path.Combine(dirs[0], "summary.json"));

        var (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("stopped"), "--jobs", "2");
        Assert.True(code == 0, err);
        Assert.Contains("2 trial(s) run (2 resumed), 6 ended before", output);
        AssertSameTrials(Path_("whole"), Path_("stopped"));
        foreach (var dir in dirs)
        {
            var result = TrialResult.Load(dir)!;
            Assert.Equal(TrialStatus.Done, result.Status);
            Assert.Equal(TrialResult.Load(Path.Combine(Path_("whole"), "trials", Path.GetFileName(dir)))!.TestLoss, result.TestLoss);
            Assert.Contains("\"from_step\":300", File.ReadAllLines(Path.Combine(dir, "attempts.jsonl"))[^1]);
        }
        Assert.Equal(summary, File.ReadAllBytes(Path.Combine(dirs[1], "summary.json")));   // read, not written again
    }

    [Fact]
    public void Kubernetes_indexed_job_processes_each_run_their_shard_and_together_run_the_whole_sweep()
    {
        // No Kubernetes cluster here: three local processes play the Indexed Job's pods, each with its JOB_COMPLETION_INDEX.
        string file = File_("small.json", Small);
        var pods = Enumerable.Range(0, 3).Select(i => StartCli(["sweep", "run", file, "--out", Path_("k8s"), "--shards", "3", "--jobs", "1"],
            new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) })).ToList();
        var outputs = pods.Select(p => Finish(p)).ToList();
        for (int i = 0; i < 3; i++)
        {
            Assert.True(outputs[i].Code == 0, outputs[i].Err);
            Assert.Contains($"shard {i}/3 (JOB_COMPLETION_INDEX={i}, shards=3)", outputs[i].Err);
        }
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("one"), "--jobs", "2").Code);
        AssertSameTrials(Path_("one"), Path_("k8s"));
    }

    [Fact]
    public void Diverged_and_failed_trials_are_recorded_and_the_others_go_on()
    {
        string csv = Path_("data.csv");
        string file = File_("mixed.json", $$"""
            {
              "base": { "hidden": [8], "steps": 200, "eval_every": 50, "checkpoint_every": 50, "optimizer": "sgd" },
              "axes": { "data": ["moons", "csv"], "lr": [0.1, 1e6] },
              "seeds": 1
            }
            """.Replace("\"hidden\"", $"\"csv\": {JsonSerializer.Serialize(csv)}, \"hidden\""));
        var (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("mixed"), "--jobs", "2");
        Assert.Equal(1, code);
        Assert.Contains("descent: error: 2 trial(s) failed (the others' results are kept)", err);
        var states = SweepDirectory.Open(Path_("mixed")).States();
        Assert.Equal(["done", "diverged", "failed", "failed"], states.Select(s => s.State));
        Assert.Contains("loss became", states[1].Detail);
        Assert.Contains("data.csv", states[2].Detail);
        Assert.DoesNotContain('\n', states[2].Detail!);

        var status = CliRunner.Run("sweep", "status", Path_("mixed")).Out;
        Assert.Contains("4 trial(s): 1 done, 1 diverged, 2 failed, 0 running, 0 interrupted, 0 pending", status);
        Assert.Contains("failed       ", status);

        // The data appears: --retry-failed runs the failed trials again; the diverged one is a result and stays.
        File.WriteAllLines(csv, Enumerable.Range(0, 40).Select(i => $"{i % 7 * 0.1},{i % 5 * 0.2},{i % 2}"));
        (code, output, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("mixed"), "--retry-failed");
        Assert.True(code == 0, err);
        states = SweepDirectory.Open(Path_("mixed")).States();
        Assert.Equal("done", states[0].State);
        Assert.Equal("diverged", states[1].State);
        Assert.Equal("done", states[2].State);
        Assert.NotEqual("failed", states[3].State);
        Assert.Equal(1, Attempts(Path_("mixed"), states[0].Trial.Id));

        var report = CliRunner.Run("sweep", "report", Path_("mixed"));
        Assert.Equal(0, report.Code);
        string results = File.ReadAllText(Path.Combine(Path_("mixed"), "results.csv"));
        Assert.StartsWith("id,state,data,lr,seed,steps,train_loss,train_accuracy,test_loss,test_accuracy,seconds,reason", results);
        Assert.Contains(",diverged,moons,1e6,0,", results);
        Assert.Contains("diverged", File.ReadAllText(Path.Combine(Path_("mixed"), "report.md")));
    }

    [Fact]
    public void An_output_directory_of_another_sweep_is_refused()
    {
        string file = File_("small.json", Small.Replace("\"seeds\": 2", "\"seeds\": 1").Replace("\"steps\": 300", "\"steps\": 50"));
        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("out")).Code);
        string other = File_("other.json", Small.Replace("\"steps\": 300", "\"steps\": 400"));
        var (code, _, err) = CliRunner.Run("sweep", "run", other, "--out", Path_("out"));
        Assert.Equal(2, code);
        Assert.Contains("holds the trials of another sweep (its base config differs: \"steps\" is 50 there and 400 here)", err);
        Assert.Contains("choose another output directory, or use the same base (--out).", err);   // the library's message, worded with the flag
        // A run directory of descent train is no sweep directory either.
        Assert.Equal(0, CliRunner.Run("train", "--steps", "10", "--out", Path_("run")).Code);
        (code, _, err) = CliRunner.Run("sweep", "run", file, "--out", Path_("run"));
        Assert.Equal(2, code);
        Assert.Contains("holds other runs but no sweep.json", err);
        // The same base with more values on an axis is the same sweep grown.
        string grown = File_("grown.json", File.ReadAllText(file).Replace("[0.01, 0.1]", "[0.01, 0.1, 0.3]"));
        var (c2, output, e2) = CliRunner.Run("sweep", "run", grown, "--out", Path_("out"));
        Assert.True(c2 == 0, e2);
        Assert.Contains("2 trial(s) run (0 resumed), 4 ended before", output);
    }

    [Fact]
    public void The_report_has_a_row_per_trial_the_best_setting_per_optimizer_and_its_figures()
    {
        string file = File_("small.json", Small);
        // Before any trial has ended: every row pending, no figures.
        SweepDirectory.Create(Path_("out"), Sweep.Load(file));
        var (code, output, err) = CliRunner.Run("sweep", "report", Path_("out"));
        Assert.True(code == 0, err);
        Assert.Contains("(8 trial(s), 0 ended)", output);
        Assert.Contains("(0 PNG + SVG)", output);

        Assert.Equal(0, CliRunner.Run("sweep", "run", file, "--out", Path_("out"), "--shard", "0/2").Code);
        (code, output, err) = CliRunner.Run("sweep", "report", Path_("out"));
        Assert.True(code == 0, err);
        Assert.Contains("(8 trial(s), 4 ended)", output);
        var rows = File.ReadAllLines(Path.Combine(Path_("out"), "results.csv"));
        Assert.Equal(9, rows.Length);
        Assert.Equal(4, rows.Count(r => r.Contains(",done,")));
        Assert.Equal(4, rows.Count(r => r.Contains(",pending,")));
        string md = File.ReadAllText(Path.Combine(Path_("out"), "report.md"));
        Assert.Contains("## Best setting per optimizer", md);
        Assert.Matches(@"\| sgd \| optimizer=sgd, lr=0\.\d+ \| [\d.]+ \| [\d.]+% \| 2 \| 0 \|", md);
        foreach (var figure in new[] { "lr-sensitivity", "heatmap-0" })
        {
            var png = File.ReadAllBytes(Path.Combine(Path_("out"), "figures", figure + ".png"));
            Assert.True(png.Length > 5000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', figure);
        }
        string html = File.ReadAllText(Path.Combine(Path_("out"), "report.html"));
        Assert.Contains("data:image/png;base64,", html);
        Assert.Contains("<h2>Best setting per optimizer</h2>\n<table><tr><th>optimizer</th><th>setting</th>", html);
        Assert.Equal(System.Text.RegularExpressions.Regex.Count(html, "<table>"), System.Text.RegularExpressions.Regex.Count(html, "</table>"));
    }
}
