using System.Numerics;
using System.Runtime.Intrinsics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Descent.State;
using Descent.Sweeps;

namespace Descent.Lab;

/// <summary>
/// The experiments' training runs kept on disk, as a sweep keeps its trials: run <c>id</c> of a family lives in
/// <c>OUT/runs/FAMILY/ID/</c> with its setting (<c>setting.json</c>) and, once it ended, its result (<c>result.json</c>, written
/// atomically). The id hashes the family, the bench's scale and MNIST directory, the <see cref="Machine"/> and the setting, so a run asked for again (by
/// another experiment, by <c>reproduce --seeds</c>, by a later <c>reproduce</c> into the same directory) is read back rather
/// than trained again; a result written by another build of Descent is not trusted and the run is trained again. Runs go through
/// the sweep machinery: each is claimed before it starts (<see cref="Descent.Sweeps.Claim"/>: no two processes sharing the
/// directory run it at once, and a dead process's claim is taken over), and with a <see cref="Shard"/> of N a process trains only
/// the runs at positions <c>I mod N</c> of each list, leaving the others to the other shards.
/// </summary>
public sealed class RunStore
{
    private static readonly JsonSerializerOptions Json = new()
    {
        IncludeFields = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
        Converters = { new StateDictConverter() },
    };

    private int _trained, _read;

    /// <summary>A store under <paramref name="root"/> for the runs of this build at <paramref name="scale"/>.</summary>
    public RunStore(string root, Scale scale, string? mnistDir, Shard shard)
    {
        Root = root;
        Shard = shard;
        _context = $"scale={scale}\nmnist={(mnistDir is null ? "" : Path.GetFullPath(mnistDir))}\n{Machine}";
    }

    /// <summary>
    /// What a run's numbers depend on besides its setting: the vector widths the kernels use, the instruction sets the runtime's
    /// vector paths take (AVX-512 switched off changes them) and the runtime itself. A run trained at another width is another run.
    /// </summary>
    public static string Machine { get; } =
        $"vectors={Vector<float>.Count}x{Vector<double>.Count}, avx512={Vector512.IsHardwareAccelerated}, avx2={Vector256.IsHardwareAccelerated}, " +
        $"fma={System.Runtime.Intrinsics.X86.Fma.IsSupported}, runtime={System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}";

    private readonly string _context;

    /// <summary>The directory holding one directory per family.</summary>
    public string Root { get; }

    /// <summary>The runs this process trains: every run, or shard I of N.</summary>
    public Shard Shard { get; }

    /// <summary>Runs trained by this process so far.</summary>
    public int Trained => _trained;

    /// <summary>Runs read back from the directory so far (ended earlier, or by another process).</summary>
    public int Read => _read;

    /// <summary>
    /// The build's fingerprint: the module version ids of the library and the lab, which deterministic builds derive from their
    /// content (with source paths mapped to one fixed path by Directory.Build.props), so the same sources give the same fingerprint
    /// wherever they are built and any change gives another.
    /// </summary>
    public static string Build { get; } = $"{typeof(Descent.Training.Trainer).Assembly.ManifestModule.ModuleVersionId}/{typeof(RunStore).Assembly.ManifestModule.ModuleVersionId}";

    /// <summary>The id of <paramref name="setting"/> in <paramref name="family"/>: 12 hexadecimal digits of a SHA-256.</summary>
    public string Id<TSetting>(string family, TSetting setting) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{family}\n{_context}\n{JsonSerializer.Serialize(setting, Json)}")))[..12];

    /// <summary>The directory of run <paramref name="id"/> of <paramref name="family"/>.</summary>
    public string RunDir(string family, string id) => Path.Combine(Root, family, id);

    /// <summary>
    /// The results of <paramref name="settings"/>, in order: each read back when it ended before, else trained by
    /// <paramref name="work"/> on the bench's cores if it is in this process's shard and no other process holds it. Throws
    /// <see cref="RunsPendingException"/> when some are left to other shards or held elsewhere (after training this shard's).
    /// </summary>
    public TResult[] RunAll<TSetting, TResult>(Workbench bench, string family, IReadOnlyList<TSetting> settings, Func<TSetting, TResult> work,
        Func<TSetting, double>? cost = null)
    {
        var dirs = settings.Select(s => RunDir(family, Id(family, s))).ToArray();
        var results = new TResult[settings.Count];
        var ended = new bool[settings.Count];
        for (int i = 0; i < settings.Count; i++) ended[i] = TryRead(dirs[i], out results[i]);
        // A setting listed twice is trained once, by the shard of its first place.
        int[] mine = [.. Enumerable.Range(0, settings.Count).Where(i => !ended[i] && Array.IndexOf(dirs, dirs[i]) == i && Shard.Contains(i))];
        var outcomes = bench.RunAll(mine, i => Train(dirs[i], settings[i], work), cost is null ? null : i => cost(settings[i]));
        for (int k = 0; k < mine.Length; k++)
            if (outcomes[k].Ended)
                for (int i = 0; i < settings.Count; i++)
                    if (dirs[i] == dirs[mine[k]])
                    {
                        results[i] = outcomes[k].Result;
                        ended[i] = true;
                    }
        int pending = ended.Count(e => !e);
        if (pending > 0)
            throw new RunsPendingException($"{pending} of {settings.Count} {family} run(s) are not done: they belong to other shards or another process is training them " +
                $"(under {Path.Combine(Root, family)}); run reproduce again once those have ended.");
        return results;
    }

    /// <summary>Claims and trains one run; not ended when another live process holds it.</summary>
    private (bool Ended, TResult Result) Train<TSetting, TResult>(string dir, TSetting setting, Func<TSetting, TResult> work)
    {
        Directory.CreateDirectory(dir);
        using var claim = Descent.Sweeps.Claim.TryAcquire(dir);
        if (claim is null) return (false, default!);
        // Another process may have ended it between the first look and the claim.
        if (TryRead(dir, out TResult earlier)) return (true, earlier);
        Atomic.WriteJson(Path.Combine(dir, "setting.json"), new { Context = _context, Build, Setting = setting }, Json);
        var result = work(setting);
        Atomic.WriteJson(Path.Combine(dir, "result.json"), new Record<TResult>(Build, result), Json);
        Interlocked.Increment(ref _trained);
        return (true, result);
    }

    /// <summary>
    /// Reads the result in <paramref name="dir"/> if there is one from this build. The build is read first, so a result from another
    /// build is never decoded; one that cannot be read (damaged, or of a shape this build does not know) is reported through
    /// <see cref="Unreadable"/> and trained again.
    /// </summary>
    private bool TryRead<TResult>(string dir, out TResult result)
    {
        result = default!;
        string path = Path.Combine(dir, "result.json");
        if (!File.Exists(path)) return false;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (!document.RootElement.TryGetProperty(nameof(Record<TResult>.Build), out var build) || build.GetString() != Build) return false;
            result = document.RootElement.GetProperty(nameof(Record<TResult>.Result)).Deserialize<TResult>(Json)!;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Unreadable?.Invoke($"{path} cannot be read ({e.Message.ReplaceLineEndings(" ")}); training that run again");
            return false;
        }
        Interlocked.Increment(ref _read);
        return true;
    }

    /// <summary>Told about each kept result that cannot be read (and is therefore trained again).</summary>
    public Action<string>? Unreadable { get; set; }

    /// <summary>What <c>result.json</c> holds: the build that trained the run, and its result.</summary>
    private sealed record Record<TResult>(string Build, TResult Result);
}

/// <summary>Some runs an experiment needs are left to other shards or held by another process; the experiment is not done yet.</summary>
public sealed class RunsPendingException(string message) : Exception(message);

/// <summary>A kept training state inside a run's result: its binary form (<see cref="StateDict.Write"/>) in base64, read back bit for bit.</summary>
internal sealed class StateDictConverter : JsonConverter<StateDict>
{
    public override StateDict Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var stream = new MemoryStream(reader.GetBytesFromBase64());
        return StateDict.Read(stream);
    }

    public override void Write(Utf8JsonWriter writer, StateDict value, JsonSerializerOptions options)
    {
        using var stream = new MemoryStream();
        value.Write(stream);
        writer.WriteBase64StringValue(stream.ToArray());
    }
}
