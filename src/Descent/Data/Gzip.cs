using System.Buffers.Binary;
using System.IO.Compression;

namespace Descent.Data;

/// <summary>Data files read whole, decompressed when gzipped.</summary>
internal static class Gzip
{
    /// <summary>
    /// The bytes of <paramref name="path"/>, decompressed when they start with gzip's magic bytes. A gzip file ends with the
    /// length of its contents (mod 2^32); one cut short ends with other bytes, which .NET's decompressor does not notice, so a
    /// truncated download would otherwise be read as a shorter file without a word.
    /// </summary>
    public static byte[] ReadMaybeGzipped(string path)
    {
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;
        using var output = new MemoryStream();
        try
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            gz.CopyTo(output);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: the gzip stream is damaged ({e.Message}).", e);
        }
        if (raw.Length < 18 || BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4)) != (uint)output.Length)
            throw new InvalidDataException($"{path}: the gzip stream is truncated or damaged: it decompresses to {output.Length} bytes, not the length its last " +
                "bytes record; fetch or compress the file again (a file of several gzip streams one after another is not read: decompress it first).");
        return output.ToArray();
    }
}
