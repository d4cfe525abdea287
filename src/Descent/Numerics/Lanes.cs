using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary><c>e^x</c> lane by lane (in float by <see cref="ExpFloat"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector.As<float, T>(ExpFloat(Vector.As<T, float>(x)));
        if (typeof(T) == typeof(double)) return Vector.As<double, T>(Vector.Exp(Vector.As<T, double>(x)));
        throw new NotSupportedException($"Vector exponential is for float and double, not {typeof(T).Name}.");
    }

    /// <summary>
    /// <c>e^x</c> in float, lane by lane, within one unit in the last place of the exact value (measured against double
    /// over 4 million arguments, subnormal results included: below 1 ulp; see tools/reference/exp_fit.py). <c>x = k ln 2 + r</c>
    /// with <c>k</c> the nearest integer to <c>x / ln 2</c> and <c>|r| &lt;= ln 2 / 2</c> (ln 2 in two parts, the first with
    /// enough trailing zeros that <c>k</c> times it is exact), <c>e^r = 1 + r + r^2 q(r)</c> with <c>q</c> a degree-4 fit of
    /// relative error 3e-9, and <c>2^k</c> applied as two powers of two, so results between the smallest normal float and
    /// zero come out subnormal, and past the largest float infinite. .NET's own vector exponential computes in double (two
    /// conversions and twice the vectors); this one takes about half the time, which matters where GELU and softmax run
    /// over every activation of a transformer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> ExpFloat(Vector<float> x)
    {
        // The clamp keeps k in [-150, 128]; NaN lanes come out of it as whatever the processor's minimum gives, and are put
        // back at the end. The native minimum, maximum and conversion are one instruction each, where the IEEE ones take a
        // compare and a blend, and the saturating conversion three more (GELU's forward pass 0.72 to 0.62 ns an element at
        // 512 bits, its gradient 0.40 to 0.29-0.33).
        var c = Vector.MaxNative(Vector.MinNative(x, new Vector<float>(89f)), new Vector<float>(-104f));
        var k = Vector.Round(c * new Vector<float>(1.442695f));
        var r = Vector.FusedMultiplyAdd(k, new Vector<float>(-0.69314575f), c);
        r = Vector.FusedMultiplyAdd(k, new Vector<float>(-1.4286068e-06f), r);
        var q = Vector.FusedMultiplyAdd(new Vector<float>(0.0013814613f), r, new Vector<float>(0.00836871f));
        q = Vector.FusedMultiplyAdd(q, r, new Vector<float>(0.04166839f));
        q = Vector.FusedMultiplyAdd(q, r, new Vector<float>(0.16666521f));
        q = Vector.FusedMultiplyAdd(q, r, new Vector<float>(0.49999994f));
        var p = Vector.FusedMultiplyAdd(r * r, q, r) + Vector<float>.One;
        var n = Vector.ConvertToInt32Native(k);
        var half = Vector.ShiftRightArithmetic(n, 1);
        var bias = new Vector<int>(127);
        var e = p * Vector.AsVectorSingle(Vector.ShiftLeft(half + bias, 23)) * Vector.AsVectorSingle(Vector.ShiftLeft(n - half + bias, 23));
        return Vector.ConditionalSelect(Vector.Equals(x, x), e, x);
    }

    /// <summary>
    /// The largest lane of <paramref name="v"/> (NaN when any lane is, as <see cref="Vector.Max{T}"/>): the vector's halves
    /// compared lane by lane down to 128 bits, then its last lanes one by one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxAcross<T>(Vector<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int bytes = Vector<T>.Count * Unsafe.SizeOf<T>();
        if (bytes < 32)
        {
            T max = v[0];
            for (int k = 1; k < Vector<T>.Count; k++) max = T.Max(max, v[k]);
            return max;
        }
        var half = bytes == 64 ? Vector256.Max(v.AsVector512().GetLower(), v.AsVector512().GetUpper()) : v.AsVector256();
        var quarter = Vector128.Max(half.GetLower(), half.GetUpper());
        T m = T.Max(quarter.GetElement(0), quarter.GetElement(1));
        for (int k = 2; k < Vector128<T>.Count; k++) m = T.Max(m, quarter.GetElement(k));
        return m;
    }

    /// <summary>All-ones in the first <paramref name="count"/> lanes, zeros after them: a mask for the part of a vector that lies inside a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> FirstLanes<T>(int count) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector.LessThan(Vector<T>.Indices, new Vector<T>(T.CreateTruncating(count)));

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
