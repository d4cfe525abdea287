using System.Text.Json;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// The programs the project builds start counting calls for tier-up at once (<c>Directory.Build.props</c>): with the
/// runtime's default wait, a run on one processor kept its kernels unoptimized for its whole length (BENCHMARKS.md, "2026-12-03, evening").
/// </summary>
public class TieredCompilationTests
{
    private const string Knob = "System.Runtime.TieredCompilation.CallCountingDelayMs";

    [Fact]
    public void The_test_process_runs_without_the_tier_up_delay()
    {
        Assert.Equal("0", AppContext.GetData(Knob)?.ToString());
    }

    [Fact]
    public void The_command_line_tool_runs_without_the_tier_up_delay()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Descent.Cli.runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.True(properties.TryGetProperty(Knob, out var value), $"Descent.Cli.runtimeconfig.json does not set {Knob}.");
        Assert.Equal(0, value.GetInt32());
    }
}
