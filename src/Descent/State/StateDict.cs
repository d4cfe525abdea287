using System.Text;

namespace Descent.State;

/// <summary>
/// A flat, ordered map from dotted names to values (float or double arrays, integers, reals, strings):
/// what optimizers, schedules and training loops save so a run can resume bit for bit. Values are
/// stored exactly (raw IEEE bits), and files are written atomically: a temporary file, flushed, then
/// renamed over the target, so a crash never leaves a half-written state behind.
/// </summary>
public sealed class StateDict
{
    private const string Magic = "DESCENT-STATE";
    private const int Version = 1;
    private readonly SortedDictionary<string, object> _entries = new(StringComparer.Ordinal);

    /// <summary>Names of all entries, sorted.</summary>
    public IEnumerable<string> Keys => _entries.Keys;

    /// <summary>Number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>Whether an entry called <paramref name="key"/> exists.</summary>
    public bool Contains(string key) => _entries.ContainsKey(key);

    /// <summary>Stores a copy of a float array.</summary>
    public void Set(string key, ReadOnlySpan<float> values) => _entries[key] = values.ToArray();

    /// <summary>Stores a copy of a double array.</summary>
    public void Set(string key, ReadOnlySpan<double> values) => _entries[key] = values.ToArray();

    /// <summary>Stores an integer.</summary>
    public void Set(string key, long value) => _entries[key] = value;

    /// <summary>Stores a real.</summary>
    public void Set(string key, double value) => _entries[key] = value;

    /// <summary>Stores a string.</summary>
    public void Set(string key, string value) => _entries[key] = value;

    /// <summary>Reads an integer.</summary>
    public long GetLong(string key) => Get<long>(key, "an integer");

    /// <summary>Reads a real.</summary>
    public double GetDouble(string key) => Get<double>(key, "a real number");

    /// <summary>Reads a string.</summary>
    public string GetString(string key) => Get<string>(key, "a string");

    /// <summary>Copies a stored array into <paramref name="destination"/>, whose length must match.</summary>
    public void CopyTo<T>(string key, Span<T> destination) where T : unmanaged
    {
        var stored = Get<T[]>(key, $"an array of {typeof(T).Name}");
        if (stored.Length != destination.Length)
            throw new InvalidDataException($"State entry '{key}' holds {stored.Length} values but {destination.Length} are expected: the state was saved for a differently shaped model.");
        stored.CopyTo(destination);
    }

    private T Get<T>(string key, string what)
    {
        if (!_entries.TryGetValue(key, out var value))
            throw new KeyNotFoundException($"State entry '{key}' is missing: the state was saved by a different setup (another optimizer, schedule or model).");
        if (value is not T typed)
            throw new InvalidDataException($"State entry '{key}' is {Describe(value)}, not {what}.");
        return typed;
    }

    private static string Describe(object value) => value switch
    {
        float[] => "an array of Single",
        double[] => "an array of Double",
        long => "an integer",
        double => "a real number",
        string => "a string",
        _ => value.GetType().Name,
    };

    /// <summary>Writes the state to <paramref name="path"/> atomically (temporary file, flush, rename).</summary>
    public void Save(string path) => Atomic.Write(path, Write);

    /// <summary>Reads a state written by <see cref="Save"/>; a damaged file gets an error naming it and the problem.</summary>
    public static StateDict Load(string path)
    {
        using var stream = File.OpenRead(path);
        try
        {
            return Read(stream);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: the state file is truncated (it ends in the middle of an entry); resume from an earlier checkpoint.");
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Serializes the state to a stream.</summary>
    public void Write(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Encoding.ASCII.GetBytes(Magic));
        w.Write(Version);
        w.Write(_entries.Count);
        foreach (var (key, value) in _entries)
        {
            w.Write(key);
            switch (value)
            {
                case float[] f:
                    w.Write((byte)Tag.Float32Array);
                    w.Write(f.Length);
                    foreach (float x in f) w.Write(x);
                    break;
                case double[] d:
                    w.Write((byte)Tag.Float64Array);
                    w.Write(d.Length);
                    foreach (double x in d) w.Write(x);
                    break;
                case long l:
                    w.Write((byte)Tag.Int64);
                    w.Write(l);
                    break;
                case double r:
                    w.Write((byte)Tag.Float64);
                    w.Write(r);
                    break;
                case string s:
                    w.Write((byte)Tag.String);
                    w.Write(s);
                    break;
            }
        }
    }

    /// <summary>Deserializes a state from a stream.</summary>
    public static StateDict Read(Stream stream)
    {
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var magic = r.ReadBytes(Magic.Length);
        if (Encoding.ASCII.GetString(magic) != Magic)
            throw new InvalidDataException("not a Descent state file (bad magic number).");
        int version = r.ReadInt32();
        if (version != Version)
            throw new InvalidDataException($"state file version {version} is not supported (this build reads version {Version}).");
        int count = r.ReadInt32();
        if (count < 0) throw new InvalidDataException($"negative entry count {count}.");
        var dict = new StateDict();
        for (int i = 0; i < count; i++)
        {
            string key = r.ReadString();
            var tag = (Tag)r.ReadByte();
            object value = tag switch
            {
                Tag.Float32Array => ReadArray(r, r.ReadSingle),
                Tag.Float64Array => ReadArray(r, r.ReadDouble),
                Tag.Int64 => r.ReadInt64(),
                Tag.Float64 => r.ReadDouble(),
                Tag.String => r.ReadString(),
                _ => throw new InvalidDataException($"entry '{key}' has unknown type tag {(byte)tag}."),
            };
            dict._entries[key] = value;
        }
        if (stream.CanSeek && stream.Position != stream.Length)
            throw new InvalidDataException($"{stream.Length - stream.Position} unexpected bytes after the last entry.");
        return dict;
    }

    private static T[] ReadArray<T>(BinaryReader r, Func<T> read)
    {
        int n = r.ReadInt32();
        if (n < 0 || (r.BaseStream.CanSeek && n > r.BaseStream.Length - r.BaseStream.Position))
            throw new EndOfStreamException();
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = read();
        return a;
    }

    private enum Tag : byte
    {
        Float32Array = 1,
        Float64Array = 2,
        Int64 = 3,
        Float64 = 4,
        String = 5,
    }
}
