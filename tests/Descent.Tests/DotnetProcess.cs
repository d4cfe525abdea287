using System.Diagnostics;

namespace Descent.Tests;

/// <summary>The <c>dotnet</c> command run as a child process, for tests of what a user or developer runs from a shell.</summary>
internal static class DotnetProcess
{
    /// <summary>
    /// Runs <c>dotnet</c> with <paramref name="args"/> (in <paramref name="directory"/> when given, with
    /// <paramref name="environment"/> added), without build servers left behind; returns its exit code (-1 when it ran
    /// past <paramref name="minutes"/> and was stopped) and its output and error text together.
    /// </summary>
    public static (int Code, string Text) Run(IEnumerable<string> args, string? directory = null, IReadOnlyDictionary<string, string>? environment = null, double minutes = 3)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (directory is not null) start.WorkingDirectory = directory;
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";   // no build servers left running after the test
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        bool exited = process.WaitForExit(TimeSpan.FromMinutes(minutes));
        if (!exited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return (exited ? process.ExitCode : -1, output.GetAwaiter().GetResult() + error.GetAwaiter().GetResult());
    }
}
