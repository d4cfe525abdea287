using System.IO.Compression;
using System.Text.RegularExpressions;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// The NuGet package as a user meets it: packed from the library project, installed from a local folder
/// feed into a fresh console project, running the README's first library example.
/// </summary>
public sealed class PackageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-package").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>The repository's root directory (where Descent.slnx is), found above the test assembly.</summary>
    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Descent.slnx"))) return dir.FullName;
        throw new InvalidOperationException("The repository root (Descent.slnx) is not above the test assembly.");
    }

    /// <summary>Runs <c>dotnet</c> with <paramref name="args"/> in <paramref name="directory"/>; fails the test with its output when it fails.</summary>
    private string Dotnet(string directory, params string[] args)
    {
        // A private package cache: a package of the same version from an earlier run must not stand in for this one.
        var (code, text) = DotnetProcess.Run(args, directory, new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_dir, "packages") });
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} failed ({(code == -1 ? "timed out" : $"exit {code}")}):\n{text}");
        return text;
    }

    /// <summary>The first C# block under the README's "## Library" heading.</summary>
    private static string ReadmeLibraryExample(string root)
    {
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        string library = readme[readme.IndexOf("\n## Library\n", StringComparison.Ordinal)..];
        var block = Regex.Match(library, "```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "no C# block under ## Library");
        return block.Groups[1].Value;
    }

    [Fact]
    public void The_package_installs_into_a_new_console_project_and_runs_the_readme_example()
    {
        string root = RepositoryRoot();
        string feed = Path.Combine(_dir, "feed");
        Dotnet(root, "pack", Path.Combine("src", "Descent", "Descent.csproj"), "-c", "Release", "-o", feed, "--nologo");
        string package = Assert.Single(Directory.GetFiles(feed, "*.nupkg"));
        Assert.Matches(@"^Descent\.\d+\.\d+\.\d+\.nupkg$", Path.GetFileName(package));
        using (var zip = ZipFile.OpenRead(package))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("README.md", names);
            Assert.Contains("lib/net10.0/Descent.dll", names);
            Assert.Contains("lib/net10.0/Descent.xml", names);
            // The library alone: no command line, lab, playground or their dependencies.
            Assert.Single(names, n => n.EndsWith(".dll", StringComparison.Ordinal));
            string nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open()).ReadToEnd();
            Assert.Contains("<id>Descent</id>", nuspec);
            Assert.Contains("<readme>README.md</readme>", nuspec);
            Assert.Contains("<description>", nuspec);
            Assert.DoesNotContain("<dependency ", nuspec);
        }

        // The app sees only the local feed: the test needs no network and no other package source.
        string app = Path.Combine(_dir, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(_dir, "nuget.config"),
            $"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n    <clear />\n    <add key=\"local\" value=\"{feed}\" />\n  </packageSources>\n</configuration>\n");
        Dotnet(app, "new", "console", "--framework", "net10.0", "--force");
        Dotnet(app, "add", "package", "Descent", "--source", feed);
        File.WriteAllText(Path.Combine(app, "Program.cs"), ReadmeLibraryExample(root));
        string output = Dotnet(app, "run", "-c", "Release");
        Assert.Matches(@"after 500 steps: largest \|p - target\| = 0\.00\d", output);
        Assert.True(File.Exists(Path.Combine(app, "adamw.state")));
    }
}
