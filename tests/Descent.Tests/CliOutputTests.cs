using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace Descent.Tests;

/// <summary>What the command prints and writes: help, errors, JSON files, and streams whose reader goes away.</summary>
public sealed class CliOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-cli-output").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll");

    [Fact]
    public async Task A_stream_stops_promptly_and_quietly_when_its_reader_goes_away()
    {
        // Two billion updates would take minutes; the reader takes two lines and closes the pipe.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { CliDll, "trajectory", "-f", "rosenbrock", "-o", "adam", "--steps", "2000000000", "--start=1,1" }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.Equal("step,x,y,loss", process.StandardOutput.ReadLine());
        Assert.StartsWith("0,1,1,", process.StandardOutput.ReadLine());
        process.StandardOutput.Close();
        bool exited = process.WaitForExit(TimeSpan.FromSeconds(30));
        if (!exited) process.Kill(entireProcessTree: true);
        Assert.True(exited, "the command kept running after its reader went away");
        // 141 = 128 + SIGPIPE: the shell's code for a writer whose pipe closed (also when the signal itself ends the process).
        Assert.True(process.ExitCode is 0 or 141 or -13 or 128 + 13, $"exit code {process.ExitCode}");
        Assert.Equal("", await stderr);
    }

    [Fact]
    public void Standard_output_redirected_to_a_file_shares_it_with_standard_error()
    {
        // Both descriptors point at one file (2>&1): neither may overwrite what the other wrote.
        string log = Path.Combine(_dir, "log.txt");
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var a in new[] { "-c", $"dotnet '{CliDll}' trajectory -f rosenbrock -o sgd --lr 1 --steps 20 --start=-1.5,2 > '{log}' 2>&1; dotnet '{CliDll}' trajectory -f rosenbrock -o sgd --steps 2 --start=1,1 >> '{log}' 2>&1" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)));
        var lines = File.ReadAllLines(log);
        Assert.Equal(2, lines.Count(l => l == "step,x,y,loss"));
        Assert.Equal(21 + 3, lines.Count(l => l.Length > 0 && char.IsDigit(l[0])));
        Assert.Single(lines, l => l.StartsWith("descent: warning: the path left the finite numbers", StringComparison.Ordinal));
        Assert.Equal("step,x,y,loss", lines[0]);
    }

    [Fact]
    public void An_unknown_command_is_an_error_even_with_help()
    {
        var (code, output, err) = CliRunner.Run("lr-search", "--help");
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("Unknown command 'lr-search'", err);
        (code, output, err) = CliRunner.Run("train", "extra", "--help");
        Assert.Equal(2, code);
        Assert.Contains("'extra'", err);
        (code, output, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--schedule", output);
    }

    [Fact]
    public void A_mistyped_command_is_named_with_the_choices_and_the_help_of_the_command_it_is_under()
    {
        var (code, _, err) = CliRunner.Run("trian", "--out", "x");
        Assert.Equal(2, code);
        Assert.Contains("Unknown command 'trian': choose one of trajectory, train, lr-find", err);
        Assert.Contains("(see 'descent --help')", err);
        (code, _, err) = CliRunner.Run("sweep", "runn", "file.json");
        Assert.Equal(2, code);
        Assert.Contains("Unknown command 'runn': choose one of plan, run", err);
        Assert.Contains("(see 'descent sweep --help')", err);
        (code, _, err) = CliRunner.Run("sweep", "run");
        Assert.Equal(2, code);
        Assert.Contains("descent sweep run --help", err);
    }

    [Fact]
    public async Task The_playground_refuses_an_address_this_machine_does_not_have()
    {
        // 192.0.2.1 is reserved for documentation (RFC 5737): no machine has it. In its own process: the command limits its heap.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { CliDll, "playground", "--no-browser", "--bind", "192.0.2.1", "--port", "0" }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync();
        bool exited = process.WaitForExit(TimeSpan.FromSeconds(60));
        if (!exited) process.Kill(entireProcessTree: true);
        Assert.True(exited, "the playground kept running on an address it cannot have");
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("Cannot listen on 192.0.2.1: this machine has no such address", await err);
    }

    [Fact]
    public void Output_directories_that_cannot_be_used_are_named_with_the_fix()
    {
        string file = Path.Combine(_dir, "afile");
        File.WriteAllText(file, "x");
        string sweep = Path.Combine(_dir, "sweep.json");
        File.WriteAllText(sweep, """{"base": {"steps": 5}, "axes": {"lr": [0.1]}}""");
        foreach (var args in new[] { new[] { "sweep", "run", sweep, "--out", file }, ["reproduce", "saddle", "--quick", "--out", file] })
        {
            var (code, _, err) = CliRunner.Run(args);
            Assert.Equal(2, code);
            Assert.Contains($"--out {file} is a file; give a directory", err);
        }
        var (c, _, e) = CliRunner.Run("train", "--steps", "1", "--out", "");
        Assert.Equal(2, c);
        Assert.Contains("--out needs a directory name; got an empty one.", e);
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void A_model_too_large_for_a_buffer_is_refused_with_its_size()
    {
        var (code, _, err) = CliRunner.Run("train", "--hidden", "100000,100000", "--steps", "1", "--out", Path.Combine(_dir, "huge"));
        Assert.Equal(2, code);
        Assert.Contains("is too large", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void The_top_level_help_shows_optional_arguments_as_optional()
    {
        var (code, output, _) = CliRunner.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("reproduce [EXPERIMENT...]", output);
        Assert.Contains("plot RUN_DIR...", output);
        Assert.DoesNotContain("<experiment>", output);
    }

    [Fact]
    public void Train_help_gives_every_schedule_with_its_parameters()
    {
        var (_, output, _) = CliRunner.Run("train", "--help");
        Assert.DoesNotContain("see README", output);
        foreach (var line in Descent.Schedules.ScheduleSpec.Syntax) Assert.Contains(line, output);
        Assert.Contains("exponential:gamma=0.999", output);
        Assert.Contains("onecycle:pct=0.3,div=25,final-div=10000,steps=run length", output);
        Assert.Contains("multistep:milestones=M1;M2;...,gamma=0.1", output);
    }

    [Fact]
    public void The_readme_lists_every_schedule_as_train_help_does()
    {
        string readme = File.ReadAllText(Path.Combine(PackageTests.RepositoryRoot(), "README.md"));
        foreach (var line in Descent.Schedules.ScheduleSpec.Syntax)
            Assert.Contains($"| `{line[..line.IndexOf("  ", StringComparison.Ordinal)]}` |", readme);
    }

    [Fact]
    public void Schedule_syntax_defaults_are_the_ones_parsing_uses()
    {
        // exponential's documented default gamma 0.999, step's size = run length / 3.
        Assert.Equal(0.1 * 0.999, Descent.Schedules.ScheduleSpec.Parse("exponential", 0.1, 100).At(2), 15);
        Assert.Equal(0.1, Descent.Schedules.ScheduleSpec.Parse("step", 0.1, 9).At(3), 15);
        Assert.Equal(0.1 * 0.1, Descent.Schedules.ScheduleSpec.Parse("step", 0.1, 9).At(4), 15);
        var e = Assert.Throws<ArgumentException>(() => Descent.Schedules.ScheduleSpec.Parse("exponential:gama=0.5", 0.1, 9));
        Assert.Contains("its parameters are gamma", e.Message);
    }

    [Fact]
    public void Error_messages_hold_no_tab_characters()
    {
        // A tab typed into an option value reaches the message; it is shown as a space.
        var (code, _, err) = CliRunner.Run("trajectory", "-f", "x^2\t+ * y", "-o", "adam", "--steps", "1", "--start=1,1");
        Assert.Equal(2, code);
        Assert.DoesNotContain('\t', err);
        (code, _, err) = CliRunner.Run("train", "--hidden", "64,\tx", "--out", Path.Combine(_dir, "t"));
        Assert.Equal(2, code);
        Assert.DoesNotContain('\t', err);
    }

    [Fact]
    public void Json_files_end_with_a_newline_and_keep_plus_and_apostrophe_readable()
    {
        string run = Path.Combine(_dir, "run");
        string csv = Path.Combine(_dir, "it's+more.csv");
        File.WriteAllLines(csv, ["x,label", .. Enumerable.Range(0, 20).Select(i => $"{i},{i % 2}")]);
        var (code, _, err) = CliRunner.Run("train", "--csv", csv, "--steps", "3", "--out", run, "--schedule", "power:tau=1e+3");
        Assert.True(code == 0, err);
        foreach (var name in new[] { "config.json", "summary.json" })
        {
            string text = File.ReadAllText(Path.Combine(run, name));
            Assert.EndsWith("}\n", text);
            JsonDocument.Parse(text).Dispose();
        }
        var (_, printed, _) = CliRunner.Run("train", "--steps", "3", "--out", Path.Combine(_dir, "printed"), "--format", "json");
        Assert.EndsWith("}\n", printed);
        string config = File.ReadAllText(Path.Combine(run, "config.json"));
        Assert.Contains("\"schedule\": \"power:tau=1000,alpha=1\"", config);
        Assert.Contains("it's+more.csv\"", config);
        var (_, output, _) = CliRunner.Run("trajectory", "-f", "x^2 + 10*y^2", "-o", "adam", "--steps", "1", "--start=1,1", "--format", "json");
        Assert.DoesNotContain("\\u002B", output);
        Assert.Contains("\"formula\": \"x^2 + 10*y^2", output.Replace("\":\"", "\": \""));
        Assert.EndsWith("}" + Environment.NewLine, output);
    }

    [Fact]
    public void Train_prints_whole_numbers_one_way()
    {
        var (code, output, err) = CliRunner.Run("train", "--steps", "2000", "--eval-every", "2000", "--out", Path.Combine(_dir, "n"));
        Assert.True(code == 0, err);
        // Steps and steps per second: digits alone, no thousands separators beside ungrouped step counts.
        Assert.Matches(@"steps\s+2000\n", output.ReplaceLineEndings("\n"));
        Assert.Matches(@"\(\d+ steps/s\)", output);
        Assert.DoesNotMatch(@"\d,\d{3}", output + err);
    }
}
