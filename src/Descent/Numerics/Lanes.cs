using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Descent.Numerics;

/// <summary>
/// Helpers for code written once over <see cref="Vector{T}"/> lanes (update rules, matrix kernels): the
/// fused multiply-add for either float or double, and views that apply a vector body to whole spans,
/// padding the tail into one vector so the same body (and so the same rounding) serves every element.
/// </summary>
internal static class Lanes
{
    /// <summary><c>a * b + c</c> rounded once, lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Fma<T>(Vector<T> a, Vector<T> b, Vector<T> c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            return Vector.As<float, T>(Vector.FusedMultiplyAdd(Vector.As<T, float>(a), Vector.As<T, float>(b), Vector.As<T, float>(c)));
        if (typeof(T) == typeof(double))
            return Vector.As<double, T>(Vector.FusedMultiplyAdd(Vector.As<T, double>(a), Vector.As<T, double>(b), Vector.As<T, double>(c)));
        throw new NotSupportedException($"Vector fused multiply-add is for float and double, not {typeof(T).Name}.");
    }

    /// <summary>Replaces every element of <paramref name="span"/> by its exponential, a vector at a time (the tail padded).</summary>
    public static void ExpInPlace<T>(Span<T> span) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var whole = Whole(span, out int tail);
        for (int i = 0; i < whole.Length; i++) whole[i] = Exp(whole[i]);
        if (tail != 0) StoreTail(span, tail, Exp(LoadTail<T>(span, tail)));
    }

    /// <summary><c>e^x</c> lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector.As<float, T>(Vector.Exp(Vector.As<T, float>(x)));
        if (typeof(T) == typeof(double)) return Vector.As<double, T>(Vector.Exp(Vector.As<T, double>(x)));
        throw new NotSupportedException($"Vector exponential is for float and double, not {typeof(T).Name}.");
    }

    /// <summary>
    /// Views <paramref name="span"/> as whole vectors; when its length is not a multiple of the vector width,
    /// the last <paramref name="tail"/> elements are left for a padded pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<Vector<T>> Whole<T>(Span<T> span, out int tail) where T : unmanaged
    {
        int whole = span.Length / Vector<T>.Count;
        tail = span.Length - whole * Vector<T>.Count;
        return MemoryMarshal.Cast<T, Vector<T>>(span[..(whole * Vector<T>.Count)]);
    }

    /// <summary>The last <paramref name="count"/> elements of <paramref name="span"/> copied into a zero-padded vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> LoadTail<T>(ReadOnlySpan<T> span, int count) where T : unmanaged
    {
        Span<T> buffer = stackalloc T[Vector<T>.Count];
        buffer.Clear();
        span[^count..].CopyTo(buffer);
        return new Vector<T>(buffer);
    }

    /// <summary>Writes the first <paramref name="count"/> lanes of <paramref name="v"/> over the last elements of <paramref name="span"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreTail<T>(Span<T> span, int count, Vector<T> v) where T : unmanaged
    {
        Span<T> buffer = stackalloc T[Vector<T>.Count];
        v.CopyTo(buffer);
        buffer[..count].CopyTo(span[^count..]);
    }
}
