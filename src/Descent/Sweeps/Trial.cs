using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Descent.Training;

namespace Descent.Sweeps;

/// <summary>One trial of a sweep: its place in the plan, its id, its axis values and its resolved config.</summary>
/// <param name="Index">Position in the plan (shards are taken by position).</param>
/// <param name="Id">The hash of the resolved config (<see cref="TrialId"/>).</param>
/// <param name="Axes">The axis values that define it, in axis order.</param>
/// <param name="Config">The training config it runs.</param>
public sealed record Trial(int Index, string Id, IReadOnlyList<KeyValuePair<string, string>> Axes, TrainingConfig Config)
{
    /// <summary>The axis values as <c>name=value</c> pairs.</summary>
    public string Describe() => Axes.Count == 0 ? "(base)" : string.Join(", ", Axes.Select(a => $"{a.Key}={a.Value}"));
}

/// <summary>
/// Trial ids: the first 12 hexadecimal digits of the SHA-256 of the config's canonical JSON (snake-case keys in sorted order,
/// settings at their default left out, numbers in shortest round-trip form). The id depends on nothing but the resolved
/// config: adding values to an axis, reordering axes, or a new setting that keeps its default leaves every old id as it was.
/// </summary>
public static class TrialId
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private static readonly JsonObject Defaults = (JsonObject)JsonSerializer.SerializeToNode(new TrainingConfig(), Json)!;

    /// <summary>The id of <paramref name="config"/>.</summary>
    public static string Of(TrainingConfig config) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(config))))[..12];

    /// <summary>
    /// The canonical JSON the id hashes. A setting renamed since (<see cref="TrainingConfig.EarlierKeys"/>) is hashed under
    /// its earlier name, so a trial keeps its id, and an unfinished sweep its finished trials.
    /// </summary>
    public static string Canonical(TrainingConfig config)
    {
        var node = (JsonObject)JsonSerializer.SerializeToNode(config, Json)!;
        var kept = new JsonObject();
        foreach (var (key, value) in node.OrderBy(p => HashedName(p.Key), StringComparer.Ordinal))
            if (!JsonNode.DeepEquals(value, Defaults[key])) kept[HashedName(key)] = Sorted(value);
        return kept.ToJsonString();
    }

    /// <summary>Each renamed setting's earlier name, by its name now.</summary>
    private static readonly Dictionary<string, string> Earlier = TrainingConfig.EarlierKeys.ToDictionary(p => p.Value, p => p.Key);

    private static string HashedName(string key) => Earlier.GetValueOrDefault(key, key);

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Sorted)]),
        _ => node?.DeepClone(),
    };
}
