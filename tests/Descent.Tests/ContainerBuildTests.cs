using Xunit;
using Xunit.Abstractions;

namespace Descent.Tests;

/// <summary>
/// The image of <c>docs/cluster/Dockerfile</c>, built without a container engine (none runs on the test machines, and no image
/// registry is reachable): the build stage's <c>COPY</c> and <c>RUN</c> lines are carried out as written in a scratch directory
/// standing for its <c>WORKDIR</c>; the runtime stage's base, <c>debian:12-slim</c>, is stood in for by a minimal Debian 12
/// made with <c>debootstrap</c>, in which its <c>RUN</c>, <c>COPY</c> and <c>ENV</c> lines are carried out with <c>chroot</c>,
/// and its entry point then runs a sweep and draws the sweep's report (which needs the fonts). Not tested: the registry's
/// images themselves, which may hold a little more than a minimal Debian.
/// </summary>
public sealed class ContainerBuildTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-container").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly string Sweep = """{ "base": { "data": "moons", "hidden": [8], "steps": 100 }, "axes": { "optimizer": ["sgd", "adam"], "lr": [0.01, 0.1] } }""";

    /// <summary>The Dockerfile's instructions, continued lines joined and comments left out, split into its two stages.</summary>
    private static (string[] Build, string[] Runtime) Stages()
    {
        var lines = File.ReadAllLines(Path.Combine(SlurmSweepTests.Repository(), "docs", "cluster", "Dockerfile"));
        var instructions = string.Join('\n', lines.Where(l => !l.TrimStart().StartsWith('#'))).Replace("\\\n", " ")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int runtime = Array.FindIndex(instructions, 1, i => i.StartsWith("FROM ", StringComparison.Ordinal));
        Assert.True(runtime > 0, "the Dockerfile has a build stage and a runtime stage");
        return (instructions[..runtime], instructions[runtime..]);
    }

    /// <summary>Carries out the build stage in a scratch directory and returns the directory it publishes to (its <c>/out</c>).</summary>
    private string Publish()
    {
        string repo = SlurmSweepTests.Repository();
        var build = Stages().Build;
        Assert.Contains(build, i => i == "WORKDIR /src");
        string work = Path.Combine(_dir, "src"), published = Path.Combine(_dir, "out");
        Directory.CreateDirectory(work);
        foreach (var copy in build.Where(i => i.StartsWith("COPY ", StringComparison.Ordinal)))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            string target = Path.GetFullPath(Path.Combine(work, parts[^1]));
            foreach (var source in parts[..^1])
                Copy(Path.Combine(repo, source.TrimEnd('/')), parts.Length == 2 && parts[^1] != "./" ? target : Path.Combine(target, Path.GetFileName(source.TrimEnd('/'))));
        }
        var run = Assert.Single(build, i => i.StartsWith("RUN ", StringComparison.Ordinal));
        Assert.Contains("dotnet publish", run);
        Assert.Matches(@"--self-contained(?!\s+false)", run);
        var (code, text) = Shell("bash", ["-c", run[4..].Replace(" /out", " " + published)], work, 600);
        Skip.If(code != 0 && text.Contains("error NU1", StringComparison.Ordinal), $"the .NET runtime pack cannot be restored here: {text.Trim()}");
        Assert.True(code == 0, text);
        return published;
    }

    [SkippableFact]
    public void The_dockerfile_build_stage_publishes_a_self_contained_descent_that_runs_a_sweep()
    {
        string published = Publish();
        // Self-contained: the runtime is in the directory, and the app names its frameworks as included rather than to be found.
        Assert.True(File.Exists(Path.Combine(published, "libcoreclr.so")), "the published directory holds the .NET runtime");
        Assert.Contains("includedFrameworks", File.ReadAllText(Path.Combine(published, "Descent.Cli.runtimeconfig.json")));
        // Run with an empty PATH and no DOTNET_ROOT.
        File.WriteAllText(Path.Combine(_dir, "sweep.json"), Sweep);
        string empty = Directory.CreateDirectory(Path.Combine(_dir, "empty-path")).FullName;
        var clean = new Dictionary<string, string?> { ["PATH"] = empty, ["DOTNET_ROOT"] = null, ["HOME"] = _dir };
        var (code, text) = Shell(Path.Combine(published, "Descent.Cli"), ["sweep", "run", Path.Combine(_dir, "sweep.json"), "--out", Path.Combine(_dir, "trials")], _dir, 120, clean);
        Assert.True(code == 0, text);
        Assert.Contains("4 trial(s) run", text);
    }

    [SkippableFact]
    public void The_dockerfile_runtime_stage_on_a_minimal_debian_12_runs_a_sweep_and_draws_its_report()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.UserName == "root", "a root file system is built with debootstrap and entered with chroot, which needs root (as CI runs ./test).");
        var runtime = Stages().Runtime;
        Assert.Equal("FROM debian:12-slim", runtime[0]);
        if (Shell("bash", ["-c", "command -v debootstrap"], _dir, 30).Code != 0)
        {
            var install = Shell("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap"], _dir, 300);
            Skip.If(install.Code != 0, $"debootstrap cannot be installed here: {install.Output.Trim()}");
        }
        string published = Publish();
        string root = Path.Combine(_dir, "rootfs");
        var strap = Shell("debootstrap", ["--variant=minbase", "bookworm", root, "http://deb.debian.org/debian"], _dir, 600);
        Skip.If(strap.Code != 0, $"a Debian 12 root file system cannot be fetched here: {strap.Output.Trim()}");
        File.Copy("/etc/resolv.conf", Path.Combine(root, "etc", "resolv.conf"), overwrite: true);
        string proc = Path.Combine(root, "proc");
        Assert.Equal(0, Shell("mount", ["-t", "proc", "proc", proc], _dir, 30).Code);
        try
        {
            var env = new List<string> { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root" };
            string? entry = null;
            foreach (var instruction in runtime.Skip(1))
            {
                var (verb, rest) = (instruction[..instruction.IndexOf(' ')], instruction[(instruction.IndexOf(' ') + 1)..]);
                switch (verb)
                {
                    case "RUN":
                        var run = Shell("chroot", [root, "/usr/bin/env", .. env, "/bin/sh", "-c", rest], _dir, 600);
                        Assert.True(run.Code == 0, $"{instruction}: {run.Output}");
                        break;
                    case "COPY":
                        Assert.Equal("--from=build /out /opt/descent", rest);
                        Directory.CreateDirectory(Path.Combine(root, "opt", "descent"));
                        Assert.Equal(0, Shell("cp", ["-a", published + "/.", Path.Combine(root, "opt", "descent")], _dir, 60).Code);
                        break;
                    case "ENV":
                        env.Add(rest);
                        break;
                    case "ENTRYPOINT":
                        entry = System.Text.Json.JsonSerializer.Deserialize<string[]>(rest)!.Single();
                        break;
                    default:
                        Assert.Fail($"The emulation does not know the instruction '{instruction}'.");
                        break;
                }
            }
            Assert.Equal("descent", entry);
            Directory.CreateDirectory(Path.Combine(root, "shared"));
            File.WriteAllText(Path.Combine(root, "shared", "sweep.json"), Sweep);
            (int, string) Descent(params string[] args) => Shell("chroot", [root, "/usr/bin/env", "-i", .. env, entry!, .. args], _dir, 300);
            var (code, text) = Descent("sweep", "run", "/shared/sweep.json", "--out", "/shared/out");
            Assert.True(code == 0, text);
            Assert.Contains("4 trial(s) run", text);
            (code, text) = Descent("sweep", "report", "/shared/out");
            Assert.True(code == 0, text);
            var figure = new FileInfo(Path.Combine(root, "shared", "out", "figures", "lr-sensitivity.png"));
            Assert.True(figure.Exists && figure.Length > 10_000, "the report's learning-rate figure is drawn inside the image");
        }
        finally
        {
            Shell("umount", ["-l", proc], _dir, 30);
        }
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
            File.Copy(file, target, overwrite: true);
        }
    }

    private (int Code, string Output) Shell(string file, IEnumerable<string> args, string workingDirectory, int seconds, IDictionary<string, string?>? env = null) =>
        SweepTests.Shell(output, file, args, seconds, workingDirectory, env);
}
