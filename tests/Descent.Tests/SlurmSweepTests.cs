using System.Diagnostics;
using System.Text.Json;
using Descent.Sweeps;
using Xunit;
using Xunit.Abstractions;

namespace Descent.Tests;

/// <summary>
/// The Slurm path for real: a one-node Slurm cluster (Debian's slurm-wlm and munge, started by
/// <c>docs/cluster/slurm-one-node.sh</c>) runs the documented array script <c>docs/cluster/sweep.sbatch</c>. Needs root (the
/// daemons run as root, as ./test does in CI); skipped with the reason where the packages cannot be installed. Every wait is
/// bounded and the cluster is stopped whatever happens.
/// </summary>
public sealed class SlurmSweepTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-slurm").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    internal static string Repository()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Descent.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("The repository root (Descent.slnx) is not above the test's directory.");
    }

    private (int Code, string Output) Shell(string file, IEnumerable<string> args, int seconds, IDictionary<string, string?>? env = null) =>
        SweepTests.Shell(output, file, args, seconds, env: env);

    [SkippableFact]
    public void A_job_array_with_a_task_cancelled_mid_trial_and_resubmitted_equals_a_single_process_run()
    {
        string repo = Repository();
        string oneNode = Path.Combine(repo, "docs", "cluster", "slurm-one-node.sh");
        Skip.IfNot(Environment.UserName == "root", "the one-node Slurm cluster runs its daemons as root; run ./test as root (as CI does).");
        var install = Shell(oneNode, ["install"], 300);
        Skip.If(install.Code != 0, $"slurm-wlm and munge cannot be installed here (apt-get failed): {install.Output.Trim()}");

        string state = Path.Combine(_dir, "slurm");
        var env = new Dictionary<string, string?>
        {
            ["SLURM_CONF"] = Path.Combine(state, "slurm.conf"),
            ["DESCENT"] = $"dotnet {Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll")}",
        };
        try
        {
            Assert.Equal(0, Shell(oneNode, ["start", state], 90).Code);
            // Eight moons trials long enough (a few seconds each) to cancel one mid-run; a checkpoint every 500 steps.
            string sweep = Path.Combine(_dir, "sweep.json");
            File.WriteAllText(sweep, SweepTests.Small.Replace("\"steps\": 300", "\"steps\": 12000").Replace("\"checkpoint_every\": 50", "\"checkpoint_every\": 500")
                .Replace("\"eval_every\": 50", "\"eval_every\": 500"));
            string outDir = Path.Combine(_dir, "out");
            var plan = Sweep.Load(sweep).Plan();
            string[] submit = ["--parsable", "--array=0-3", $"--chdir={_dir}", Path.Combine(repo, "docs", "cluster", "sweep.sbatch"), sweep, outDir];

            var first = Shell("sbatch", submit, 30, env);
            Assert.Equal(0, first.Code);
            string job = first.Output.Trim().Split('\n')[0].Split(';')[0];

            // Cancel task 1 once one of its trials has a checkpoint and no result: mid-trial.
            var shard1 = new Shard(1, 4, "test").Of(plan);
            var clock = Stopwatch.StartNew();
            bool MidTrial() => shard1.Any(t => File.Exists(Path.Combine(outDir, "trials", t.Id, "checkpoint.state")) && !File.Exists(Path.Combine(outDir, "trials", t.Id, TrialResult.FileName)));
            while (!MidTrial() && clock.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(20);
            Assert.True(MidTrial(), "task 1 never reached a checkpoint");
            Assert.Equal(0, Shell("scancel", [$"{job}_1"], 30, env).Code);
            WaitForJob(job, env);
            var states = SweepDirectory.Open(outDir).States();
            Assert.Contains(states, s => s.State == "interrupted");
            Assert.Contains(states, s => s.State == "done");

            // Submitted again: the ended trials are skipped, the cut-off one resumes, the rest of task 1's shard runs.
            var second = Shell("sbatch", submit, 30, env);
            Assert.Equal(0, second.Code);
            WaitForJob(second.Output.Trim().Split('\n')[0].Split(';')[0], env);
            string log = string.Concat(Directory.GetFiles(_dir, "descent-sweep-*.out").Order().Select(f => $"{Path.GetFileName(f)}:\n{File.ReadAllText(f)}"));
            output.WriteLine(log);
            Assert.Contains("(1 resumed)", log);

            // The merged results equal a single-process run: every trial once, none missing, the same bits.
            Assert.Equal(0, CliRunner.Run("sweep", "run", sweep, "--out", Path.Combine(_dir, "single"), "--jobs", "2").Code);
            SweepTests.AssertSameTrials(Path.Combine(_dir, "single"), outDir);
            Assert.All(SweepDirectory.Open(outDir).States(), s => Assert.Equal("done", s.State));
            var attempts = plan.ToDictionary(t => t.Id, t => File.ReadAllLines(Path.Combine(outDir, "trials", t.Id, "attempts.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList());
            var repeated = attempts.Where(a => a.Value.Count > 1).ToList();
            var again = Assert.Single(repeated);   // only the trial that was cut off ran a second time ...
            Assert.Equal(2, again.Value.Count);
            Assert.True(again.Value[1].GetProperty("from_step").GetInt64() > 0, "... and it resumed from its checkpoint");
            Assert.Contains(shard1, t => t.Id == again.Key);
        }
        finally
        {
            Shell(oneNode, ["stop", state], 150);
        }
    }

    private void WaitForJob(string job, IDictionary<string, string?> env)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(180))
        {
            var (code, text) = Shell("squeue", ["-h", "-j", job], 30, env);
            if (code == 0 && text.Trim().Length == 0) return;
            if (code != 0 && text.Contains("Invalid job id", StringComparison.Ordinal)) return;
            Thread.Sleep(500);
        }
        throw new TimeoutException($"Slurm job {job} did not end within 180 s.");
    }
}
