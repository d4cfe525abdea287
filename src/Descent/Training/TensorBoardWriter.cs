using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Descent.Training;

/// <summary>
/// Writes scalars as a TensorBoard event file (<c>events.out.tfevents.*</c>): TFRecord framing (length,
/// masked CRC-32C of the length, an <c>Event</c> protocol buffer, masked CRC-32C of it), beginning with
/// the <c>brain.Event:2</c> version record. Each scalar is an <c>Event{wall_time, step, summary{value{tag,
/// simple_value}}}</c>. Protocol buffers are encoded by hand: the four message fields involved are all
/// it needs.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream _stream;

    /// <summary>Creates (or, when resuming, appends to) the event file in <paramref name="directory"/>.</summary>
    public TensorBoardWriter(string directory, bool append = false)
    {
        var existing = append ? Directory.GetFiles(directory, "events.out.tfevents.*").OrderBy(f => f, StringComparer.Ordinal).LastOrDefault() : null;
        Path = existing ?? System.IO.Path.Combine(directory, $"events.out.tfevents.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.descent");
        _stream = new FileStream(Path, existing is null ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read);
        if (existing is null) WriteEvent(Event(Now(), 0, Field(3, Encoding.UTF8.GetBytes("brain.Event:2"))));
    }

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Adds a scalar <paramref name="tag"/> = <paramref name="value"/> at <paramref name="step"/>.</summary>
    public void Scalar(string tag, long step, double value)
    {
        var summaryValue = Concat(Field(1, Encoding.UTF8.GetBytes(tag)), Fixed32(2, (float)value));
        var summary = Field(1, summaryValue);
        WriteEvent(Event(Now(), step, Field(5, summary)));
    }

    /// <summary>Flushes to disk.</summary>
    public void Flush() => _stream.Flush(flushToDisk: true);

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();

    private static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    private static byte[] Event(double wallTime, long step, byte[] what)
    {
        var wall = new byte[9];
        wall[0] = (1 << 3) | 1; // field 1, 64-bit
        BinaryPrimitives.WriteDoubleLittleEndian(wall.AsSpan(1), wallTime);
        return Concat(wall, Varint((2 << 3) | 0, (ulong)step), what);
    }

    private void WriteEvent(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc(data));
        _stream.Write(header);
        _stream.Write(data);
        _stream.Write(footer);
    }

    /// <summary>CRC-32C (Castagnoli) masked as TFRecord requires: <c>((c &gt;&gt; 15) | (c &lt;&lt; 17)) + 0xa282ead8</c>.</summary>
    internal static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        crc ^= 0xFFFFFFFF;
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8;
    }

    private static byte[] Field(int number, byte[] payload) => Concat(Varint((ulong)((number << 3) | 2), (ulong)payload.Length), payload);

    private static byte[] Fixed32(int number, float value)
    {
        var b = new byte[5];
        b[0] = (byte)((number << 3) | 5);
        BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(1), value);
        return b;
    }

    private static byte[] Varint(ulong key, ulong value) => Concat(EncodeVarint(key), EncodeVarint(value));

    private static byte[] Varint(int key, ulong value) => Varint((ulong)key, value);

    private static byte[] EncodeVarint(ulong v)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(v & 0x7F);
            v >>= 7;
            bytes.Add(v != 0 ? (byte)(b | 0x80) : b);
        } while (v != 0);
        return [.. bytes];
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
