using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Descent.Numerics;

/// <summary>
/// Dense-layer matrix kernels on row-major spans, generic over float and double, vectorized with
/// <see cref="Vector{T}"/>. Shapes follow PyTorch's <c>nn.Linear</c>: inputs <c>X[B, n]</c>, weights
/// <c>W[m, n]</c>, outputs <c>Y[B, m] = X W^T + b</c>.
/// </summary>
/// <remarks>
/// The workhorse is <see cref="Combine"/>: a row of the result as a weighted sum of rows of a matrix,
/// held in up to eight vector accumulators across the whole reduction (register blocking), so each
/// partial sum is loaded and stored once and the fused multiply-adds run in eight independent chains.
/// The forward pass uses it on a transposed copy of the weights when the batch is large enough to repay
/// the transposition and the layer is wide enough to fill the accumulators; otherwise it takes dot
/// products on the weights as stored.
/// </remarks>
public static class Kernels
{
    /// <summary><c>Y = X W^T + bias</c>; <paramref name="scratch"/> (at least <c>n * m</c>) holds <c>W^T</c> for large batches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LinearForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y, int batch, int n, int m, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Wide outputs: rows of W^T combined in registers. Narrow outputs (such as 10 classes): dot products.
        if (batch >= 8 && m >= 4 * Vector<T>.Count && scratch.Length >= n * m)
        {
            var wt = scratch[..(n * m)];
            Transpose(w, wt, m, n);
            for (int b = 0; b < batch; b++)
            {
                var row = y.Slice(b * m, m);
                bias.CopyTo(row);
                Combine(row, x.Slice(b * n, n), 1, wt, m, n, accumulate: true);
            }
            return;
        }
        for (int b = 0; b < batch; b++)
        {
            var row = x.Slice(b * n, n);
            var outRow = y.Slice(b * m, m);
            for (int o = 0; o < m; o++) outRow[o] = Dot(row, w.Slice(o * n, n)) + bias[o];
        }
    }

    /// <summary>
    /// Gradients of <see cref="LinearForward"/>: <c>dW += dY^T X</c>, <c>db += sum_b dY</c>, and, when
    /// <paramref name="dx"/> is not empty, <c>dX = dY W</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LinearBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy, Span<T> dw, Span<T> db, Span<T> dx, int batch, int n, int m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int b = 0; b < batch; b++) Add(db, dy.Slice(b * m, m));
        // dW[o, :] += sum_b dY[b, o] X[b, :]: coefficients down column o of dY, rows of X.
        for (int o = 0; o < m; o++) Combine(dw.Slice(o * n, n), dy[o..], m, x, n, batch, accumulate: true);
        if (dx.IsEmpty) return;
        // dX[b, :] = sum_o dY[b, o] W[o, :].
        for (int b = 0; b < batch; b++) Combine(dx.Slice(b * n, n), dy.Slice(b * m, m), 1, w, n, m, accumulate: false);
    }

    /// <summary>
    /// <c>dest[j] (+)= sum_k coef[k * coefStride] * rows[k * width + j]</c> for <c>j &lt; width = dest.Length</c>,
    /// <c>k &lt; count</c>: a weighted sum of <paramref name="count"/> rows, accumulated in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Combine<T>(Span<T> dest, ReadOnlySpan<T> coef, int coefStride, ReadOnlySpan<T> rows, int width, int count, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector<T>.Count, j = 0;
        ref T r0 = ref MemoryMarshal.GetReference(rows);
        ref T c0 = ref MemoryMarshal.GetReference(coef);
        for (; j + 8 * lanes <= width; j += 8 * lanes)
        {
            var d = MemoryMarshal.Cast<T, Vector<T>>(dest.Slice(j, 8 * lanes));
            Vector<T> a0 = accumulate ? d[0] : default, a1 = accumulate ? d[1] : default, a2 = accumulate ? d[2] : default, a3 = accumulate ? d[3] : default;
            Vector<T> a4 = accumulate ? d[4] : default, a5 = accumulate ? d[5] : default, a6 = accumulate ? d[6] : default, a7 = accumulate ? d[7] : default;
            for (int k = 0; k < count; k++)
            {
                var c = new Vector<T>(Unsafe.Add(ref c0, k * coefStride));
                ref T row = ref Unsafe.Add(ref r0, k * width + j);
                a0 = Fma(c, Load(ref row, 0), a0);
                a1 = Fma(c, Load(ref row, lanes), a1);
                a2 = Fma(c, Load(ref row, 2 * lanes), a2);
                a3 = Fma(c, Load(ref row, 3 * lanes), a3);
                a4 = Fma(c, Load(ref row, 4 * lanes), a4);
                a5 = Fma(c, Load(ref row, 5 * lanes), a5);
                a6 = Fma(c, Load(ref row, 6 * lanes), a6);
                a7 = Fma(c, Load(ref row, 7 * lanes), a7);
            }
            d[0] = a0; d[1] = a1; d[2] = a2; d[3] = a3; d[4] = a4; d[5] = a5; d[6] = a6; d[7] = a7;
        }
        for (; j + lanes <= width; j += lanes)
        {
            ref Vector<T> d = ref Unsafe.As<T, Vector<T>>(ref dest[j]);
            Vector<T> a = accumulate ? d : default;
            for (int k = 0; k < count; k++) a = Fma(new Vector<T>(Unsafe.Add(ref c0, k * coefStride)), Load(ref Unsafe.Add(ref r0, k * width + j), 0), a);
            d = a;
        }
        for (; j < width; j++)
        {
            T a = accumulate ? dest[j] : T.Zero;
            for (int k = 0; k < count; k++) a = T.FusedMultiplyAdd(Unsafe.Add(ref c0, k * coefStride), Unsafe.Add(ref r0, k * width + j), a);
            dest[j] = a;
        }
    }

    /// <summary><c>to[j, i] = from[i, j]</c> for a <paramref name="rows"/> x <paramref name="columns"/> matrix.</summary>
    public static void Transpose<T>(ReadOnlySpan<T> from, Span<T> to, int rows, int columns) where T : unmanaged
    {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++) to[j * rows + i] = from[i * columns + j];
    }

    /// <summary>Dot product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<T>.Count)
        {
            var va = MemoryMarshal.Cast<T, Vector<T>>(a);
            var vb = MemoryMarshal.Cast<T, Vector<T>>(b[..a.Length]);
            var acc = Vector<T>.Zero;
            for (int k = 0; k < va.Length; k++) acc = Fma(va[k], vb[k], acc);
            sum = Vector.Sum(acc);
            i = va.Length * Vector<T>.Count;
        }
        for (; i < a.Length; i++) sum = T.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    /// <summary><c>y += x</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add<T>(Span<T> y, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        var vy = MemoryMarshal.Cast<T, Vector<T>>(y);
        var vx = MemoryMarshal.Cast<T, Vector<T>>(x[..y.Length]);
        for (int k = 0; k < vy.Length; k++) vy[k] += vx[k];
        i = vy.Length * Vector<T>.Count;
        for (; i < y.Length; i++) y[i] += x[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Load<T>(ref T at, int offset) where T : unmanaged => Unsafe.ReadUnaligned<Vector<T>>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref at, offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Fma<T>(Vector<T> a, Vector<T> b, Vector<T> c) where T : unmanaged, IFloatingPointIeee754<T> => Lanes.Fma(a, b, c);
}
