using Xunit;
using Xunit.Abstractions;

namespace Descent.Tests;

/// <summary>
/// The container of <c>docs/cluster/Dockerfile</c> without a container engine (none runs on the test machines, and no image
/// registry is reachable): its build stage's <c>COPY</c> and <c>RUN</c> lines are carried out as written, in a scratch directory
/// standing for the stage's <c>WORKDIR</c>, and the self-contained <c>descent</c> they publish runs a sweep with no .NET on the
/// path, as the runtime stage would. What is not tested here: the base images and the runtime stage's Debian packages.
/// </summary>
public sealed class ContainerBuildTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-container").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [SkippableFact]
    public void The_dockerfile_build_stage_publishes_a_self_contained_descent_that_runs_a_sweep()
    {
        string repo = SlurmSweepTests.Repository();
        var lines = File.ReadAllLines(Path.Combine(repo, "docs", "cluster", "Dockerfile"));
        // Instructions, with continued lines joined; the build stage is everything before the second FROM.
        var instructions = string.Join('\n', lines.Where(l => !l.TrimStart().StartsWith('#'))).Replace("\\\n", " ")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int runtime = Array.FindIndex(instructions, 1, i => i.StartsWith("FROM ", StringComparison.Ordinal));
        Assert.True(runtime > 0, "the Dockerfile has a build stage and a runtime stage");
        var build = instructions[..runtime];
        Assert.Contains(build, i => i == "WORKDIR /src");
        string work = Path.Combine(_dir, "src"), published = Path.Combine(_dir, "out");
        Directory.CreateDirectory(work);
        foreach (var copy in build.Where(i => i.StartsWith("COPY ", StringComparison.Ordinal)))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            string target = Path.GetFullPath(Path.Combine(work, parts[^1]));
            foreach (var source in parts[..^1]) Copy(Path.Combine(repo, source.TrimEnd('/')), parts.Length == 2 && parts[^1] != "./" ? target : Path.Combine(target, Path.GetFileName(source.TrimEnd('/'))));
        }
        var run = Assert.Single(build, i => i.StartsWith("RUN ", StringComparison.Ordinal));
        Assert.Contains("dotnet publish", run);
        Assert.Contains("--self-contained", run);
        var (code, text) = Shell("bash", ["-c", run[4..].Replace(" /out", " " + published)], work, 600);
        Skip.If(code != 0 && text.Contains("error NU1", StringComparison.Ordinal), $"the .NET runtime pack cannot be restored here: {text.Trim()}");
        Assert.True(code == 0, text);

        // The runtime stage runs that directory's descent: here with no .NET on the path and no DOTNET_ROOT.
        Assert.Contains(instructions[runtime..], i => i == "COPY --from=build /out /opt/descent");
        string descent = Path.Combine(published, "Descent.Cli");
        string sweep = Path.Combine(_dir, "sweep.json");
        File.WriteAllText(sweep, """{ "base": { "data": "moons", "hidden": [8], "steps": 100 }, "axes": { "optimizer": ["sgd", "adam"] } }""");
        var clean = new Dictionary<string, string?> { ["PATH"] = "/bin", ["DOTNET_ROOT"] = null, ["HOME"] = _dir };
        (code, text) = Shell(descent, ["sweep", "run", sweep, "--out", Path.Combine(_dir, "trials")], _dir, 120, clean);
        Assert.True(code == 0, text);
        Assert.Contains("2 trial(s) run", text);
    }

    /// <summary>Copies a file or a directory tree (as <c>COPY</c> does), leaving out build output as the stage's <c>RUN</c> would remove it.</summary>
    private static void Copy(string from, string to)
    {
        if (File.Exists(from))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(from, to, overwrite: true);
            return;
        }
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj")) continue;
            string target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private (int Code, string Output) Shell(string file, IEnumerable<string> args, string workingDirectory, int seconds, IDictionary<string, string?>? env = null) =>
        SweepTests.Shell(output, file, args, seconds, workingDirectory, env);
}
