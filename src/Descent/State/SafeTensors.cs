using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Descent.State;

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping
/// each tensor name to its dtype, shape and byte range, then the raw little-endian data. Descent writes
/// float32 tensors (<c>F32</c>) in the order given, with the header padded by spaces to a multiple of 8.
/// </summary>
public static class SafeTensors
{
    /// <summary>Writes the tensors to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void Save(string path, IEnumerable<(string Name, IReadOnlyList<int> Shape, ReadOnlyMemory<float> Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        using var headerStream = new MemoryStream();
        using (var w = new Utf8JsonWriter(headerStream))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, shape, data) in list)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += 4L * data.Length;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        var header = headerStream.ToArray().ToList();
        while (header.Count % 8 != 0) header.Add((byte)' ');
        Atomic.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Count);
            stream.Write(length);
            stream.Write(header.ToArray());
            Span<byte> word = stackalloc byte[4];
            foreach (var (_, _, data) in list)
                foreach (float v in data.Span)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(word, v);
                    stream.Write(word);
                }
        });
    }

    /// <summary>Reads every tensor of a safetensors file: F32, and I64 (converted to float) for counts such as batch norm's <c>num_batches_tracked</c>.</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> Load(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: truncated: too short for a safetensors header.");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8))
            throw new InvalidDataException($"{path}: truncated, or not a safetensors file: the header announces {n} bytes, the file holds {bytes.Length - 8}.");
        try
        {
            return Read(path, bytes, (int)n);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"{path}: not a safetensors file this version can read: its header is not the JSON of names, dtypes, shapes and data offsets ({e.Message}).");
        }
    }

    private static Dictionary<string, (int[] Shape, float[] Data)> Read(string path, byte[] bytes, int n)
    {
        var result = new Dictionary<string, (int[], float[])>(StringComparer.Ordinal);
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, n));
        int dataStart = 8 + n;
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            string dtype = p.Value.GetProperty("dtype").GetString()!;
            // I64 is what PyTorch stores batch norm's num_batches_tracked as; a count fits a float exactly up to 2^24.
            if (dtype is not ("F32" or "I64"))
                throw new InvalidDataException($"{path}: tensor '{p.Name}' has dtype {dtype}; Descent reads F32 (and I64 counts): save float32 weights (in PyTorch, model.float() before saving).");
            int width = dtype == "I64" ? 8 : 4;
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            long start = p.Value.GetProperty("data_offsets")[0].GetInt64(), end = p.Value.GetProperty("data_offsets")[1].GetInt64();
            if (dataStart + end > bytes.Length || end < start || (end - start) != width * shape.Aggregate(1L, (a, b) => a * b))
                throw new InvalidDataException($"{path}: tensor '{p.Name}' has inconsistent data offsets [{start}, {end}].");
            var data = new float[(end - start) / width];
            for (int i = 0; i < data.Length; i++)
                data[i] = width == 4 ? BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + (int)start + 4 * i))
                    : BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(dataStart + (int)start + 8 * i));
            result[p.Name] = (shape, data);
        }
        return result;
    }
}
