using System.Text.Json;
using Descent.Optim;
using Descent.Schedules;

namespace Descent.Tests;

/// <summary>
/// Reference vectors computed by PyTorch (tools/reference/generate.py, float64) and committed beside the
/// tests, so the suite never needs Python.
/// </summary>
public static class TorchReference
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(AppContext.BaseDirectory, "Reference", "torch_reference.json"))));

    private static readonly Lazy<JsonDocument> BeyondDocument = new(() =>
        JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(AppContext.BaseDirectory, "Reference", "beyond_reference.json"))));

    public static JsonElement Root => Document.Value.RootElement;

    /// <summary>The optimizers beyond torch.optim, transcribed with torch operations (tools/reference/generate_beyond.py).</summary>
    public static JsonElement Beyond => BeyondDocument.Value.RootElement;

    public static JsonElement Trajectory(int index) => Root.GetProperty("trajectories")[index];

    public static IEnumerable<object[]> TrajectoryIndices() =>
        Enumerable.Range(0, Root.GetProperty("trajectories").GetArrayLength()).Select(i => new object[] { i });

    public static IEnumerable<object[]> Indices(string section) =>
        Enumerable.Range(0, Root.GetProperty(section).GetArrayLength()).Select(i => new object[] { i });

    /// <summary>Applies a case's torch-named options to the optimizer's defaults.</summary>
    public static OptimizerOptions Options(JsonElement c)
    {
        var options = Optimizers.DefaultOptions(c.GetProperty("optimizer").GetString()!);
        foreach (var p in c.GetProperty("options").EnumerateObject())
            options.Set(p.Name, p.Value.ValueKind switch
            {
                JsonValueKind.True => 1,
                JsonValueKind.False => 0,
                _ => p.Value.GetDouble(),
            });
        return options;
    }

    public static (double X, double Y) Start(JsonElement c) =>
        (c.GetProperty("start")[0].GetDouble(), c.GetProperty("start")[1].GetDouble());

    public static double[][] Path(JsonElement c) =>
        [.. c.GetProperty("path").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray())];

    public static string Describe(JsonElement c) =>
        $"{c.GetProperty("optimizer").GetString()} {c.GetProperty("options")} on {c.GetProperty("function").GetString()}";

    /// <summary>Builds a schedule from the generator's description of it.</summary>
    public static Schedule Schedule(JsonElement s)
    {
        double D(string name) => s.GetProperty(name).GetDouble();
        long L(string name) => s.GetProperty(name).GetInt64();
        bool Has(string name) => s.TryGetProperty(name, out _);
        return s.GetProperty("kind").GetString() switch
        {
            "step" => new StepDecay(D("initial"), L("step_size"), D("gamma")),
            "multi_step" => new MultiStep(D("initial"), s.GetProperty("milestones").EnumerateArray().Select(m => m.GetInt64()), D("gamma")),
            "exponential" => new Exponential(D("initial"), D("gamma")),
            "polynomial" => new Polynomial(D("initial"), L("total"), D("power")),
            "constant" => new Constant(D("initial")),
            "cosine" => new CosineDecay(D("initial"), L("total"), D("final")),
            "cosine_restarts" => new CosineWarmRestarts(D("initial"), L("period"), L("multiplier"), D("final")),
            "one_cycle" => new OneCycle(D("initial"), D("peak"), D("final"), L("total"), Has("pct_start") ? D("pct_start") : 0.3,
                Has("anneal") && s.GetProperty("anneal").GetString() == "linear" ? Anneal.Linear : Anneal.Cosine,
                Has("three_phase") && s.GetProperty("three_phase").GetBoolean()),
            "warmup" => new Warmup(L("steps"), Schedule(s.GetProperty("then")), D("start_factor")),
            "sequence" => new Sequence([.. s.GetProperty("parts").EnumerateArray().Select(Schedule)],
                [.. s.GetProperty("milestones").EnumerateArray().Select(m => m.GetInt64())]),
            "power_law" => new PowerLaw(D("initial"), D("tau"), D("alpha")),
            "constant_lr" => new ConstantFactor(D("initial"), D("factor"), L("total")),
            "linear_lr" => new LinearFactor(D("initial"), D("start"), D("end"), L("total")),
            "multiplicative" => new Multiplicative(D("initial"), k => k % L("every") == 0 ? D("gamma") : 1.0),
            "lambda" => new Lambda(D("initial"), k => Math.Pow(D("base"), k / L("every"))),
            "plateau" => new ReduceOnPlateau(D("initial"),
                s.GetProperty("mode").GetString() == "max" ? PlateauMode.Max : PlateauMode.Min, D("factor"), L("patience"), D("threshold"),
                s.GetProperty("threshold_mode").GetString() == "abs" ? ThresholdMode.Absolute : ThresholdMode.Relative, L("cooldown"), D("min")),
            var k => throw new InvalidDataException($"unknown schedule kind {k}"),
        };
    }

    /// <summary>|actual - expected| relative to |expected| (absolute where expected is 0).</summary>
    public static double RelativeError(double actual, double expected) =>
        actual == expected ? 0 : Math.Abs(actual - expected) / (expected == 0 ? 1 : Math.Abs(expected));
}
