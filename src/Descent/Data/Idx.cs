using System.Buffers.Binary;
using System.IO.Compression;

namespace Descent.Data;

/// <summary>
/// Reader of the IDX format MNIST and Fashion-MNIST are distributed in, raw or gzipped: a big-endian
/// magic number <c>0x0000TTDD</c> (type TT = 0x08 for unsigned bytes, DD dimensions), DD big-endian
/// 32-bit sizes, then the data. Damaged files are rejected with the file's name and the problem.
/// </summary>
public static class Idx
{
    /// <summary>Reads an unsigned-byte IDX file; returns the sizes and the data.</summary>
    public static (int[] Shape, byte[] Data) Read(string path)
    {
        byte[] bytes = Gzip.ReadMaybeGzipped(path);
        if (bytes.Length < 4) throw new InvalidDataException($"{path}: truncated: {bytes.Length} bytes is too short for an IDX header.");
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        if ((magic >> 16) != 0 || ((magic >> 8) & 0xFF) != 0x08 || (magic & 0xFF) is 0 or > 4)
            throw new InvalidDataException($"{path}: bad magic number 0x{magic:X8}: not an unsigned-byte IDX file (expected 0x00000801 for labels or 0x00000803 for images).");
        int dims = (int)(magic & 0xFF);
        if (bytes.Length < 4 + 4 * dims) throw new InvalidDataException($"{path}: truncated: the header announces {dims} dimensions but the file ends before their sizes.");
        var shape = new int[dims];
        long count = 1;
        for (int d = 0; d < dims; d++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (size > int.MaxValue) throw new InvalidDataException($"{path}: dimension {d} has an impossible size {size}.");
            shape[d] = (int)size;
            count *= size;
        }
        long have = bytes.Length - 4 - 4 * dims;
        if (have < count)
            throw new InvalidDataException($"{path}: truncated: the header announces {string.Join(" x ", shape)} = {count} bytes of data but the file holds {have}.");
        if (have > count)
            throw new InvalidDataException($"{path}: {have - count} unexpected bytes after the {string.Join(" x ", shape)} data.");
        return (shape, bytes.AsSpan(4 + 4 * dims).ToArray());
    }

    /// <summary>Writes an unsigned-byte IDX file (gzipped when the name ends in <c>.gz</c>).</summary>
    public static void Write(string path, int[] shape, ReadOnlySpan<byte> data)
    {
        using var file = File.Create(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Optimal) : file;
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, 0x0800u | (uint)shape.Length);
        stream.Write(word);
        foreach (int s in shape)
        {
            BinaryPrimitives.WriteUInt32BigEndian(word, (uint)s);
            stream.Write(word);
        }
        stream.Write(data);
    }
}
