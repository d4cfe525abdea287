using System.Numerics;
using System.Runtime.CompilerServices;
using Descent.Numerics;

namespace Descent.Optim;

/// <summary>
/// The element-wise operations update rules are built from, lane by lane over <see cref="Vector{T}"/>,
/// rounded exactly as PyTorch's CPU kernels round them (its AVX2 kernels fuse <c>add(alpha=)</c> and
/// <c>addcmul</c> into one fused multiply-add, while <c>addcdiv</c> rounds the quotient first), so float64
/// trajectories agree with <c>torch.optim</c> to the last bits and chaotic paths do not drift apart.
/// Scalars arrive converted to the parameter type after being computed in double precision, as PyTorch
/// computes its Python-float coefficients.
/// </summary>
internal static class Pointwise
{
    /// <summary><c>self + alpha * other</c> as one fused multiply-add (<c>torch.add(other, alpha=)</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> AddScaled<T>(Vector<T> self, Vector<T> alpha, Vector<T> other) where T : unmanaged, IFloatingPointIeee754<T> =>
        Lanes.Fma(alpha, other, self);

    /// <summary><c>self + value * t1 * t2</c>, the last product fused with the sum (<c>torch.addcmul</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> AddCMul<T>(Vector<T> self, Vector<T> value, Vector<T> t1, Vector<T> t2) where T : unmanaged, IFloatingPointIeee754<T> =>
        Lanes.Fma(value * t1, t2, self);

    /// <summary><c>self + value * t1 / t2</c> (<c>torch.addcdiv</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> AddCDiv<T>(Vector<T> self, Vector<T> value, Vector<T> t1, Vector<T> t2) where T : unmanaged, IFloatingPointIeee754<T> =>
        self + value * t1 / t2;

    /// <summary>Exponential moving average <c>avg * beta + (1 - beta) * x</c>; <paramref name="oneMinusBeta"/> is <c>1 - beta</c> (SGD passes <c>1 - dampening</c> with <c>beta = momentum</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Ema<T>(Vector<T> avg, Vector<T> x, Vector<T> beta, Vector<T> oneMinusBeta) where T : unmanaged, IFloatingPointIeee754<T> =>
        AddScaled(avg * beta, oneMinusBeta, x);

    /// <summary>Moving average of squares <c>avg * beta + (1 - beta) * x * x</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> EmaOfSquare<T>(Vector<T> avg, Vector<T> x, Vector<T> beta, Vector<T> oneMinusBeta) where T : unmanaged, IFloatingPointIeee754<T> =>
        AddCMul(avg * beta, oneMinusBeta, x, x);

    /// <summary>-1, 0 or +1 (0 at 0, as <c>torch.sign</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Sign<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), Vector<T>.One,
            Vector.ConditionalSelect(Vector.LessThan(x, Vector<T>.Zero), -Vector<T>.One, x));

    /// <summary>
    /// PyTorch's <c>torch.lerp(a, b, w)</c> on one number: <c>a + w (b - a)</c> for weights below 0.5, <c>b + (w - 1)(b - a)</c>
    /// otherwise (so <c>w = 1</c> gives <c>b</c> exactly), each one fused multiply-add as PyTorch's CPU kernel computes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Lerp<T>(T a, T b, T w) where T : IFloatingPointIeee754<T> =>
        T.Abs(w) < T.CreateTruncating(0.5) ? T.FusedMultiplyAdd(w, b - a, a) : T.FusedMultiplyAdd(w - T.One, b - a, b);

    /// <summary>Bias correction <c>1 - beta^t</c> of a moving average started at zero.</summary>
    public static double BiasCorrection(double beta, long step) => 1 - Math.Pow(beta, step);

    /// <summary>Converts a double-precision coefficient to the parameter type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Of<T>(double value) where T : IFloatingPointIeee754<T> => T.CreateTruncating(value);

    /// <summary>A double-precision coefficient converted to the parameter type and broadcast to every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Broadcast<T>(double value) where T : unmanaged, IFloatingPointIeee754<T> => new(T.CreateTruncating(value));

    /// <summary>
    /// <paramref name="value"/> rounded to the parameter type: the value of a scalar PyTorch keeps in a 0-dim tensor of
    /// the default dtype (ASGD's <c>eta</c> and <c>mu</c>, NAdam's <c>mu_product</c>), float32 when training in float.
    /// </summary>
    public static double Stored<T>(double value) where T : unmanaged, IFloatingPointIeee754<T> => double.CreateTruncating(T.CreateTruncating(value));
}
