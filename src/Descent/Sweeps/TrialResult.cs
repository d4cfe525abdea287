using Descent.Numerics;
using System.Text.Json;
using Descent.State;

namespace Descent.Sweeps;

/// <summary>How a trial ended.</summary>
public static class TrialStatus
{
    /// <summary>Ran to its last step.</summary>
    public const string Done = "done";

    /// <summary>Its loss stopped being finite (kept and reported as such: a learning rate too high is a result).</summary>
    public const string Diverged = "diverged";

    /// <summary>It could not run (missing data, an unreadable file); <see cref="TrialResult.Reason"/> says why.</summary>
    public const string Failed = "failed";
}

/// <summary>
/// The outcome of one trial, written atomically as <c>result.json</c> in its directory once the trial has ended; its
/// presence is what marks the trial as finished.
/// </summary>
/// <param name="Id">The trial id.</param>
/// <param name="Status">One of <see cref="TrialStatus"/>.</param>
/// <param name="Reason">Why it diverged or failed (one line), else null.</param>
/// <param name="Axes">The trial's axis values.</param>
/// <param name="Steps">Steps taken (null when it did not finish).</param>
/// <param name="TrainLoss">Final training loss.</param>
/// <param name="TrainAccuracy">Final training accuracy.</param>
/// <param name="TestLoss">Final test loss.</param>
/// <param name="TestAccuracy">Final test accuracy.</param>
/// <param name="Seconds">Training time summed over its attempts.</param>
public sealed record TrialResult(string Id, string Status, string? Reason, Dictionary<string, string> Axes,
    long? Steps, double? TrainLoss, double? TrainAccuracy, double? TestLoss, double? TestAccuracy, double? Seconds)
{
    /// <summary>The result file's name inside a trial directory.</summary>
    public const string FileName = "result.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true, Converters = { new RoundTrip.JsonConverter() } };

    /// <summary>The final value of a metric by its name (<c>test_loss</c>, ...), null when the trial has none.</summary>
    public double? Metric(string name) => name switch
    {
        "test_loss" => TestLoss,
        "test_accuracy" => TestAccuracy,
        "train_loss" => TrainLoss,
        "train_accuracy" => TrainAccuracy,
        _ => throw new ArgumentException($"Unknown metric '{name}'."),
    };

    /// <summary>Writes <c>result.json</c> into <paramref name="trialDir"/> atomically.</summary>
    public void Save(string trialDir) => Atomic.WriteJson(Path.Combine(trialDir, FileName), this, Json);

    /// <summary>The result in <paramref name="trialDir"/>, or null while the trial has not ended.</summary>
    public static TrialResult? Load(string trialDir)
    {
        string path = Path.Combine(trialDir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<TrialResult>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a trial result ({e.Message}); delete it to run the trial again.");
        }
    }
}
