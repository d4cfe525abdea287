using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Descent.Numerics;

/// <summary>
/// <see cref="Length"/> elements whose first one starts a 64-byte cache line, for the buffers the matrix kernel reads
/// and writes in place. A .NET array's elements start on an 8- or 16-byte boundary, anywhere within a cache line, so
/// at 512 bits (a vector as long as a line) every vector load from a row of whole lines straddles two of them, and at
/// 256 bits every other one does when the row starts 16 or 48 bytes past a line; the kernel's tiles load two vectors
/// of B per step, and a product whose B started on a line ran faster (64 x 3,136 x 128 in float at 512 bits, AMD EPYC:
/// 209-213 GFLOP/s against 176-180 with B 16 or 32 bytes off one). The elements live in an array a line longer, from
/// its first element on a line on. Where they stay: an array of 85,000 bytes or more lives on the large object heap,
/// which the collector compacts only when a program asks it to (the playground does, once quiet after a burst), so it
/// is an ordinary array; a smaller one is pinned (on the pinned object heap, never moved), as the collector would
/// otherwise move it while it ages. Pinning the large ones too kept memory: the pinned heap gave back less of it after
/// a burst of the playground's large sessions (149 MB resident after, against 94 MB). Were an array moved, only the
/// alignment would be lost, never an element. Elements are expected to divide a line (float, double, int).
/// </summary>
internal sealed class AlignedArray<T> where T : unmanaged
{
    /// <summary>Bytes of a cache line, where every buffer starts.</summary>
    public const int Alignment = 64;

    /// <summary>Bytes from which an array lives on the large object heap, which the collector does not compact by default.</summary>
    private const int LargeObjectBytes = 85_000;

    private readonly T[] _array;
    private readonly int _offset;

    /// <summary>No elements.</summary>
    public static AlignedArray<T> Empty { get; } = new(0);

    /// <summary><paramref name="length"/> zeros, the first on a cache line.</summary>
    public AlignedArray(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int size = Unsafe.SizeOf<T>();
        int padded = length + Alignment / size;
        _array = (long)padded * size < LargeObjectBytes ? GC.AllocateArray<T>(padded, pinned: true) : new T[padded];
        _offset = ElementsBeforeBoundary(ref MemoryMarshal.GetArrayDataReference(_array), Alignment);
        Length = length;
    }

    /// <summary>How many elements there are.</summary>
    public int Length { get; }

    /// <summary>Whether <paramref name="span"/> starts a cache line.</summary>
    public static bool StartsLine(ReadOnlySpan<T> span) => Address(ref MemoryMarshal.GetReference(span)) % Alignment == 0;

    /// <summary>Element <paramref name="index"/>.</summary>
    public ref T this[int index] => ref AsSpan()[index];

    /// <summary>The first element, for kernels that walk references.</summary>
    public ref T Reference => ref MemoryMarshal.GetReference(AsSpan());

    public Span<T> AsSpan() => new(_array, _offset, Length);

    public Span<T> AsSpan(int start) => AsSpan()[start..];

    public Span<T> AsSpan(int start, int length) => AsSpan().Slice(start, length);

    public Memory<T> AsMemory() => new(_array, _offset, Length);

    public static implicit operator Span<T>(AlignedArray<T> array) => array.AsSpan();

    public static implicit operator ReadOnlySpan<T>(AlignedArray<T> array) => array.AsSpan();

    /// <summary>
    /// How many elements from <paramref name="element"/> on come before the first on a multiple of <paramref name="bytes"/>
    /// (a power of two that the element's size divides); the caller keeps the memory from moving while it uses the answer.
    /// </summary>
    public static int ElementsBeforeBoundary(ref T element, int bytes) => (int)((bytes - Address(ref element) % bytes) % bytes / Unsafe.SizeOf<T>());

    private static unsafe nint Address(ref T element) => (nint)Unsafe.AsPointer(ref element);
}
