using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Gradient clipping, applied between backpropagation and the optimizer step (PyTorch's <c>torch.nn.utils.clip_grad_*</c>).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Rescales all gradients together so their global norm is at most <paramref name="maxNorm"/>: with <c>n</c> the
    /// norm of the gradients' norms (the norm of all gradients as one vector), each is multiplied by
    /// <c>min(1, maxNorm / (n + 1e-6))</c>. Returns <c>n</c> (before clipping).
    /// </summary>
    /// <remarks>
    /// Computed in the parameters' precision in PyTorch 1.13's order, so the clipped gradients and the norm equal
    /// <c>torch.nn.utils.clip_grad_norm_</c>'s to the last bit (<see cref="SumOfSquares{T}"/>; other norms sum
    /// <c>|x|^p</c> in order), as torch computes them on one thread: a double tensor's 2-norm and other norms of
    /// tensors past 32,768 entries are split between threads by torch, a float tensor's 2-norm never; the coefficient is
    /// <c>maxNorm * (1 / (n + 1e-6))</c>, clamped to 1, and multiplies every gradient (a non-finite norm makes the
    /// gradients zero or NaN, as in PyTorch).
    /// </remarks>
    /// <param name="parameters">The parameters whose gradients are clipped.</param>
    /// <param name="maxNorm">Largest allowed norm.</param>
    /// <param name="normType">The p of the p-norm; <see cref="double.PositiveInfinity"/> for the maximum norm.</param>
    public static double ClipByGlobalNorm<T>(IReadOnlyList<Parameter<T>> parameters, double maxNorm, double normType = 2)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(maxNorm >= 0) || double.IsNaN(maxNorm))
            throw new ArgumentException($"Invalid max_norm: {maxNorm} (must be >= 0).");
        if (!(normType > 0))
            throw new ArgumentException($"Invalid norm_type: {normType} (must be > 0, or infinity).");
        if (parameters.Count == 0) return 0;
        var norms = Norms<T>.For(parameters.Count);
        T p = T.CreateTruncating(normType);
        for (int k = 0; k < parameters.Count; k++) norms[k] = Norm<T>(parameters[k].Grad.Span, p);
        T norm = Norm<T>(norms, p);
        T coefficient = T.CreateTruncating(maxNorm) * (T.One / (norm + T.CreateTruncating(1e-6)));
        if (coefficient >= T.One) return double.CreateTruncating(norm);   // torch multiplies by exactly 1
        for (int k = 0; k < parameters.Count; k++)
        {
            var g = parameters[k].Grad.Span;
            for (int i = 0; i < g.Length; i++) g[i] *= coefficient;
        }
        return double.CreateTruncating(norm);
    }

    /// <summary>The p-norm of <paramref name="x"/> as <c>torch.norm</c> computes it on a CPU (see <see cref="ClipByGlobalNorm{T}"/>).</summary>
    private static T Norm<T>(ReadOnlySpan<T> x, T p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (T.IsPositiveInfinity(p))
        {
            T largest = T.Zero;
            foreach (T v in x)
            {
                if (T.IsNaN(v)) return v;   // torch's max propagates NaN
                largest = T.Max(largest, T.Abs(v));
            }
            return largest;
        }
        if (p == T.CreateTruncating(2)) return T.Sqrt(SumOfSquares(x));
        T sum = T.Zero;
        foreach (T v in x) sum += T.Pow(T.Abs(v), p);
        return T.Pow(sum, T.One / p);
    }

    /// <summary>
    /// <c>sum x^2</c> in the order of torch's 2-norm (its CPU kernel at the default AVX2 width): for float, 8 lanes
    /// accumulate by fused multiply-adds over whole groups of 8 and are added in order, then, when 4 or more
    /// elements remain, the next 4 squares are rounded and added one by one (the compiler's 4-wide pass over the
    /// remainder), and the last ones by fused multiply-adds; for double, one running sum of fused multiply-adds.
    /// </summary>
    private static T SumOfSquares<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        int whole = 0;
        if (typeof(T) == typeof(float))
        {
            var f = MemoryMarshal.Cast<T, float>(x);
            whole = f.Length - f.Length % 8;
            var acc = Vector256<float>.Zero;
            for (int d = 0; d < whole; d += 8)
            {
                var v = Vector256.Create(f.Slice(d, 8));
                acc = Vector256.FusedMultiplyAdd(v, v, acc);
            }
            float lanes = acc[0];
            for (int l = 1; l < 8; l++) lanes += acc[l];
            sum = T.CreateTruncating(lanes);
        }
        int i = whole;
        if (typeof(T) == typeof(float) && x.Length - i >= 4)
            for (int end = i + 4; i < end; i++)
            {
                T square = x[i] * x[i];
                sum += square;
            }
        for (; i < x.Length; i++) sum = T.FusedMultiplyAdd(x[i], x[i], sum);
        return sum;
    }

    /// <summary>A buffer per thread for the tensors' norms, so clipping allocates only when a longer list first meets it.</summary>
    private static class Norms<T>
    {
        [ThreadStatic]
        private static T[]? _buffer;

        public static Span<T> For(int count)
        {
            if (_buffer is null || _buffer.Length < count) _buffer = new T[Math.Max(count, 64)];
            return _buffer.AsSpan(0, count);
        }
    }

    /// <summary>
    /// What <c>--clip-value</c> and <c>--clip-norm</c> do together: every entry clamped to <paramref name="clipValue"/>, then
    /// the global 2-norm clipped to <paramref name="maxNorm"/> (0 turns either off).
    /// </summary>
    public static void Clip<T>(IReadOnlyList<Parameter<T>> parameters, double clipValue, double maxNorm)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (clipValue > 0) ClipByValue(parameters, clipValue);
        if (maxNorm > 0) ClipByGlobalNorm(parameters, maxNorm);
    }

    /// <summary>Clamps every gradient entry to <c>[-clipValue, clipValue]</c>.</summary>
    public static void ClipByValue<T>(IReadOnlyList<Parameter<T>> parameters, double clipValue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(clipValue >= 0) || !double.IsFinite(clipValue))
            throw new ArgumentException($"Invalid clip_value: {clipValue} (must be a finite number >= 0).");
        T hi = T.CreateTruncating(clipValue), lo = -hi;
        for (int k = 0; k < parameters.Count; k++)
        {
            var g = parameters[k].Grad.Span;
            for (int i = 0; i < g.Length; i++) g[i] = T.Clamp(g[i], lo, hi);
        }
    }
}
