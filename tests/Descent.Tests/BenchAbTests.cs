using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace Descent.Tests;

/// <summary>bench/ab, which times two builds' benchmark alternately in one process, run on this build against itself.</summary>
public sealed class BenchAbTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-bench-ab").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static (int Code, string Text) Dotnet(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        bool exited = process.WaitForExit(TimeSpan.FromMinutes(3));
        if (!exited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return (exited ? process.ExitCode : -1, output.GetAwaiter().GetResult() + error.GetAwaiter().GetResult());
    }

    [Fact]
    public void The_alternating_comparison_loads_two_builds_and_reports_each_rounds_ratio_and_their_median()
    {
        string root = PackageTests.RepositoryRoot(), tool = Path.Combine(_dir, "ab");
        var (code, text) = Dotnet("build", Path.Combine(root, "bench", "ab", "ab.csproj"), "-c", "Release", "-o", tool, "--nologo", "-v", "quiet");
        Assert.True(code == 0, text);
        // This test's own directory holds a whole build (Descent.Lab and what it loads): the same build on both sides.
        string build = AppContext.BaseDirectory;
        (code, text) = Dotnet(Path.Combine(tool, "ab.dll"), build, build, "moons-mlp", "0.05", "3");
        Assert.True(code == 0, text);
        var rounds = Regex.Matches(text, @"^round (\d): A ([\d.]+) B ([\d.]+) steps/s, B/A ([\d.]+)$", RegexOptions.Multiline);
        Assert.Equal(["1", "2", "3"], rounds.Select(m => m.Groups[1].Value));
        foreach (Match m in rounds)
        {
            double a = Parse(m.Groups[2].Value), b = Parse(m.Groups[3].Value);
            Assert.True(a > 0 && b > 0, m.Value);
            Assert.Equal(b / a, Parse(m.Groups[4].Value), 0.002 + 0.001 * b / a);
        }
        var median = Regex.Match(text, @"^B/A median ([\d.]+) \(min ([\d.]+), max ([\d.]+)\) over 3 rounds of moons-mlp$", RegexOptions.Multiline);
        Assert.True(median.Success, text);
        var sorted = rounds.Select(m => m.Groups[4].Value).OrderBy(Parse).ToArray();
        Assert.Equal([sorted[1], sorted[0], sorted[2]], [median.Groups[1].Value, median.Groups[2].Value, median.Groups[3].Value]);
        // Wrong arguments: the usage, not a stack trace.
        (code, text) = Dotnet(Path.Combine(tool, "ab.dll"), build);
        Assert.Equal(2, code);
        Assert.Contains("usage: ab DIR_A DIR_B WORKLOAD SECONDS ROUNDS [SIZE]", text);
    }

    private static double Parse(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
