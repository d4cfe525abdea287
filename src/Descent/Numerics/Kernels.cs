using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Descent.Numerics;

/// <summary>
/// Dense-layer matrix kernels on row-major spans, generic over float and double, vectorized with
/// <see cref="Vector{T}"/>. Shapes follow PyTorch's <c>nn.Linear</c>: inputs <c>X[B, n]</c>, weights
/// <c>W[m, n]</c>, outputs <c>Y[B, m] = X W^T + b</c>.
/// </summary>
public static class Kernels
{
    /// <summary><c>Y = X W^T + bias</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LinearForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y, int batch, int n, int m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
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
        for (int b = 0; b < batch; b++)
        {
            var row = x.Slice(b * n, n);
            var g = dy.Slice(b * m, m);
            for (int o = 0; o < m; o++)
            {
                T go = g[o];
                db[o] += go;
                if (go != T.Zero) AddScaled(dw.Slice(o * n, n), go, row);
            }
        }
        if (dx.IsEmpty) return;
        dx[..(batch * n)].Clear();
        for (int b = 0; b < batch; b++)
        {
            var g = dy.Slice(b * m, m);
            var outRow = dx.Slice(b * n, n);
            for (int o = 0; o < m; o++)
                if (g[o] != T.Zero) AddScaled(outRow, g[o], w.Slice(o * n, n));
        }
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
            for (int k = 0; k < va.Length; k++) acc += va[k] * vb[k];
            sum = Vector.Sum(acc);
            i = va.Length * Vector<T>.Count;
        }
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary><c>y += alpha * x</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled<T>(Span<T> y, T alpha, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && y.Length >= Vector<T>.Count)
        {
            var vy = MemoryMarshal.Cast<T, Vector<T>>(y);
            var vx = MemoryMarshal.Cast<T, Vector<T>>(x[..y.Length]);
            var va = new Vector<T>(alpha);
            for (int k = 0; k < vy.Length; k++) vy[k] += va * vx[k];
            i = vy.Length * Vector<T>.Count;
        }
        for (; i < y.Length; i++) y[i] += alpha * x[i];
    }
}
