using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace Descent.Tests;

/// <summary>bench/ab's tool, built once for the tests that run it.</summary>
public sealed class AbTool : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-bench-ab").FullName;

    public AbTool()
    {
        var (code, text) = DotnetProcess.Run(["build", Path.Combine(PackageTests.RepositoryRoot(), "bench", "ab", "ab.csproj"), "-c", "Release", "-o", _dir, "--nologo", "-v", "quiet"]);
        if (code == 0) return;
        Dispose();   // xunit does not dispose a fixture whose constructor failed
        Assert.Fail(text);
    }

    /// <summary>The built tool.</summary>
    public string Dll => Path.Combine(_dir, "ab.dll");

    public void Dispose() => Directory.Delete(_dir, true);
}

/// <summary>bench/ab, which times two builds' benchmark alternately in one process, run on this build against itself.</summary>
public sealed class BenchAbTests(AbTool ab) : IClassFixture<AbTool>
{
    // This test's own directory holds a whole build (Descent.Lab and what it loads): the same build on both sides.
    private static readonly string Build = AppContext.BaseDirectory;

    private (int Code, string Text) Ab(params string[] args) => DotnetProcess.Run([ab.Dll, .. args]);

    [Fact]
    public void The_alternating_comparison_loads_two_builds_and_reports_each_rounds_ratio_and_their_median()
    {
        var (code, text) = Ab(Build, Build, "moons-mlp", "0.05", "4");
        Assert.True(code == 0, text);
        var rounds = Regex.Matches(text, @"^round (\d): A ([\d.]+) B ([\d.]+) steps/s, B/A ([\d.]+)$", RegexOptions.Multiline);
        Assert.Equal(["1", "2", "3", "4"], rounds.Select(m => m.Groups[1].Value));
        foreach (Match m in rounds)
        {
            double a = Parse(m.Groups[2].Value), b = Parse(m.Groups[3].Value);
            Assert.True(a > 0 && b > 0, m.Value);
            Assert.Equal(b / a, Parse(m.Groups[4].Value), 0.002 + 0.001 * b / a);
        }
        // An even number of rounds: the median is the mean of the middle two.
        var median = Regex.Match(text, @"^B/A median ([\d.]+) \(min ([\d.]+), max ([\d.]+)\) over 4 rounds of moons-mlp$", RegexOptions.Multiline);
        Assert.True(median.Success, text);
        double[] sorted = [.. rounds.Select(m => Parse(m.Groups[4].Value)).Order()];
        Assert.Equal((sorted[1] + sorted[2]) / 2, Parse(median.Groups[1].Value), 0.0015);
        Assert.Equal(sorted[0], Parse(median.Groups[2].Value));
        Assert.Equal(sorted[3], Parse(median.Groups[3].Value));
        // Wrong arguments: a message that names the problem, not a stack trace.
        void Refused(string message, params string[] arguments)
        {
            var (code, text) = Ab(arguments);
            Assert.Equal(2, code);
            Assert.Contains(message, text);
            Assert.DoesNotContain("   at ", text);
        }
        Refused("usage: ab DIR_A DIR_B WORKLOAD SECONDS ROUNDS [SIZE [TRAIN_THREADS]]", Build);
        Refused("ab: Unknown workload 'moons-mlpp': choose from moons-mlp,", Build, Build, "moons-mlpp", "0.05", "3");
        Refused("ab: give at least one round", Build, Build, "moons-mlp", "0.05", "0");
        Refused("ab: SECONDS is a number, not 'two'", Build, Build, "moons-mlp", "two", "3");
        Refused("ab: ROUNDS is a whole number, not '3.5'", Build, Build, "moons-mlp", "0.05", "3.5");
        Refused("ab: SIZE is a whole number, 0 for the workload's usual size, not '-1'", Build, Build, "moons-mlp", "0.05", "3", "-1");
        Refused("ab: TRAIN_THREADS is a whole number of at least 1, not '0'", Build, Build, "moons-mlp", "0.05", "3", "0", "0");
    }

    [Fact]
    public void The_comparison_runs_each_build_on_two_cores_for_one_run_when_asked()
    {
        // Size 0: the workload's usual batch (64 for cnn-mnist), shared by the two cores.
        var (code, text) = Ab(Build, Build, "cnn-mnist", "0.2", "2", "0", "2");
        Assert.True(code == 0, text);
        Assert.Matches(@"(?m)^B/A median [\d.]+ \(min [\d.]+, max [\d.]+\) over 2 rounds of cnn-mnist on 2 cores$", text);
        // A workload without a trainer's step takes one core, as `descent bench` says.
        (code, text) = Ab(Build, Build, "moons-mlp", "0.05", "2", "0", "2");
        Assert.Equal(2, code);
        Assert.Contains("ab: More than one core for the one run applies to cnn-mnist and transformer-char only, not moons-mlp.", text);
        Assert.DoesNotContain("   at ", text);
    }

    private static double Parse(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
