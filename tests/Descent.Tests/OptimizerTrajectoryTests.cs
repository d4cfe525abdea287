using System.Globalization;
using Descent.Cli;
using Descent.Landscapes;
using Descent.Optim;
using Xunit;

namespace Descent.Tests;

/// <summary>Every optimizer and option, on every named landscape and on typed expressions, against torch.optim in float64.</summary>
public class OptimizerTrajectoryTests
{
    private const double Tolerance = 1e-6;

    /// <summary>
    /// How far a case may be from torch: not at all (bit for bit) on surfaces of arithmetic, square roots and absolute
    /// values, which both sides round the same; 1e-6 relative where the surface takes a transcendental function, which
    /// torch's vectorized math library and the C library round differently in the last bit; and 1e-10 for the rules
    /// whose reference is a float64 torch-ops transcription (Adafactor, and another library's convention).
    /// </summary>
    private static double ToleranceOf(System.Text.Json.JsonElement c)
    {
        if (c.GetProperty("optimizer").GetString() == "adafactor" || c.TryGetProperty("convention", out _)) return 1e-10;
        string formula = Landscape.Get(c.GetProperty("function").GetString()!).Formula;
        return Transcendental.Any(f => formula.Contains(f + "(", StringComparison.Ordinal)) ? Tolerance : 0;
    }

    private static readonly string[] Transcendental = ["exp", "log", "sin", "cos", "tan", "tanh", "sigmoid"];

    public static IEnumerable<object[]> Cases => TorchReference.TrajectoryIndices();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Trajectory_matches_torch(int index)
    {
        var c = TorchReference.Trajectory(index);
        var path = Trajectory.Run(Landscape.Get(c.GetProperty("function").GetString()!), c.GetProperty("optimizer").GetString()!,
            TorchReference.Options(c), TorchReference.Start(c), c.GetProperty("steps").GetInt32());
        AssertSamePath(c, [.. path.Select(p => new[] { p.X, p.Y, p.Loss })]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cli_trajectory_matches_torch(int index)
    {
        var c = TorchReference.Trajectory(index);
        AssertSamePath(c, RunCli(c));
    }

    /// <summary>Runs a reference case through <c>descent trajectory</c>, options as command-line flags, and returns its rows (x, y, loss).</summary>
    internal static double[][] RunCli(System.Text.Json.JsonElement c)
    {
        var args = new List<string>
        {
            "trajectory", "--function", c.GetProperty("function").GetString()!, "--optimizer", c.GetProperty("optimizer").GetString()!,
            "--steps", c.GetProperty("steps").GetInt32().ToString(CultureInfo.InvariantCulture),
            $"--start={c.GetProperty("start")[0].GetDouble().ToString("R", CultureInfo.InvariantCulture)},{c.GetProperty("start")[1].GetDouble().ToString("R", CultureInfo.InvariantCulture)}",
        };
        var table = Optimizers.DefaultOptions(c.GetProperty("optimizer").GetString()!);
        foreach (var o in c.GetProperty("options").EnumerateObject())
        {
            string flag = table.Find(o.Name).CommandLineFlag;
            if (o.Value.ValueKind == System.Text.Json.JsonValueKind.True) args.Add(flag);
            else if (o.Value.ValueKind == System.Text.Json.JsonValueKind.False) args.Add(flag + "=false");   // switches on by default (adamw, lion)
            else args.AddRange([flag, o.Value.GetDouble().ToString("R", CultureInfo.InvariantCulture)]);
        }
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.True(Cli.Cli.Run([.. args], stdout, stderr) == 0, stderr.ToString());
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("step,x,y,loss", lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToArray();
        for (int k = 0; k < rows.Length; k++) Assert.Equal(k.ToString(CultureInfo.InvariantCulture), rows[k][0]);
        return [.. rows.Select(r => r.Skip(1).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())];
    }

    public static IEnumerable<object[]> AsgdCases => TorchReference.TrajectoryIndices()
        .Where(i => TorchReference.Trajectory((int)i[0]).TryGetProperty("ax", out _));

    [Theory]
    [MemberData(nameof(AsgdCases))]
    public void Asgd_average_of_the_iterates_matches_torch(int index)
    {
        var c = TorchReference.Trajectory(index);
        Asgd<double>? asgd = null;
        Trajectory.Run(Landscape.Get(c.GetProperty("function").GetString()!),
            xy => asgd = (Asgd<double>)Optimizers.Create("asgd", [xy], TorchReference.Options(c)), TorchReference.Start(c), c.GetProperty("steps").GetInt32());
        var expected = c.GetProperty("ax").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var actual = asgd!.Averaged(Trajectory.ParameterName).ToArray();
        for (int j = 0; j < 2; j++)
            Assert.True(TorchReference.RelativeError(actual[j], expected[j]) <= Tolerance, $"{TorchReference.Describe(c)}: ax[{j}] = {actual[j]:R}, torch {expected[j]:R}");
    }

    [Theory]
    [MemberData(nameof(ScheduledCases))]
    public void Scheduled_trajectory_matches_torch(int index)
    {
        var c = TorchReference.Root.GetProperty("scheduled_trajectories")[index];
        var path = Trajectory.Run(Landscape.Get(c.GetProperty("function").GetString()!), xy =>
        {
            var opt = Optimizers.Create(c.GetProperty("optimizer").GetString()!, [xy], TorchReference.Options(c));
            foreach (var s in c.GetProperty("schedules").EnumerateArray())
                opt.Schedule(s.GetProperty("hyperparameter").GetString()!, TorchReference.Schedule(s));
            return opt;
        }, TorchReference.Start(c), c.GetProperty("steps").GetInt32());
        AssertSamePath(c, [.. path.Select(p => new[] { p.X, p.Y, p.Loss })]);
    }

    public static IEnumerable<object[]> ScheduledCases => TorchReference.Indices("scheduled_trajectories");

    private static readonly string[] Columns = ["x", "y", "loss"];

    /// <summary>
    /// Asserts that <paramref name="actual"/> follows the case's path to <paramref name="tolerance"/> relative error at every
    /// step (a torch.optim case's own, <see cref="ToleranceOf"/>, when not given).
    /// </summary>
    internal static void AssertSamePath(System.Text.Json.JsonElement c, double[][] actual, double? tolerance = null)
    {
        var expected = TorchReference.Path(c);
        Assert.Equal(expected.Length, actual.Length);
        for (int k = 0; k < expected.Length; k++)
            for (int j = 0; j < 3; j++)
            {
                double err = TorchReference.RelativeError(actual[k][j], expected[k][j]);
                Assert.True(err <= (tolerance ?? ToleranceOf(c)),
                    $"{TorchReference.Describe(c)}: step {k}, {Columns[j]} = {actual[k][j]:R}, torch {expected[k][j]:R} (relative error {err:E2})");
            }
    }
}
