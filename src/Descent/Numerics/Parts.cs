using System.Numerics;
using System.Runtime.CompilerServices;

namespace Descent.Numerics;

/// <summary>
/// Cuts a vector of elements into consecutive ranges of nearly equal length, one per core, at multiples of a 64-byte
/// cache line and of a whole <see cref="Vector{T}"/>: cores writing neighbouring ranges share at most the line at each
/// cut, and every range but the last runs whole vectors. Whoever sums a gradient range and whoever updates it cut alike.
/// </summary>
internal static class Parts
{
    /// <summary>The first element and the length of range <paramref name="part"/> of <paramref name="parts"/> over <paramref name="length"/> elements (possibly empty).</summary>
    public static (int Start, int Length) Range<T>(int length, int part, int parts) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if ((uint)part >= (uint)parts) throw new ArgumentOutOfRangeException(nameof(part), part, $"Parts are numbered 0 to {parts - 1}.");
        int align = Math.Max(Vector<T>.Count, 64 / Unsafe.SizeOf<T>());
        long blocks = (length + (long)align - 1) / align;
        int start = (int)Math.Min(length, blocks * part / parts * align);
        int end = (int)Math.Min(length, blocks * (part + 1) / parts * align);
        return (start, end - start);
    }
}
