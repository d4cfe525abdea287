using System.Numerics;
using System.Runtime.CompilerServices;

namespace Descent.Optim;

/// <summary>
/// The element-wise operations update rules are built from, rounded exactly as PyTorch's CPU kernels
/// round them (its AVX2 kernels fuse <c>add(alpha=)</c> and <c>addcmul</c> into one fused multiply-add,
/// while <c>addcdiv</c> rounds the quotient first), so float64 trajectories agree with <c>torch.optim</c>
/// to the last bits and chaotic paths do not drift apart.
/// Scalars arrive converted to the parameter type after being computed in double precision, as PyTorch
/// computes its Python-float coefficients.
/// </summary>
internal static class Pointwise
{
    /// <summary><c>self + alpha * other</c> as one fused multiply-add (<c>torch.add(other, alpha=)</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T AddScaled<T>(T self, T alpha, T other) where T : IFloatingPointIeee754<T> => T.FusedMultiplyAdd(alpha, other, self);

    /// <summary><c>self + value * t1 * t2</c>, the last product fused with the sum (<c>torch.addcmul</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T AddCMul<T>(T self, T value, T t1, T t2) where T : IFloatingPointIeee754<T> => T.FusedMultiplyAdd(value * t1, t2, self);

    /// <summary><c>self + value * t1 / t2</c> (<c>torch.addcdiv</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T AddCDiv<T>(T self, T value, T t1, T t2) where T : IFloatingPointIeee754<T> => self + value * t1 / t2;

    /// <summary>Exponential moving average <c>avg * beta + (1 - beta) * x</c>; <paramref name="oneMinusBeta"/> is <c>1 - beta</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Ema<T>(T avg, T x, T beta, T oneMinusBeta) where T : IFloatingPointIeee754<T> => AddScaled(avg * beta, oneMinusBeta, x);

    /// <summary>Moving average of squares <c>avg * beta + (1 - beta) * x * x</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T EmaOfSquare<T>(T avg, T x, T beta, T oneMinusBeta) where T : IFloatingPointIeee754<T> =>
        AddCMul(avg * beta, oneMinusBeta, x, x);

    /// <summary>-1, 0 or +1 (0 at 0, as <c>torch.sign</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sign<T>(T x) where T : IFloatingPointIeee754<T> =>
        x > T.Zero ? T.One : x < T.Zero ? -T.One : x;

    /// <summary>
    /// The gradient an update rule sees: negated when maximizing, plus the L2 penalty's gradient
    /// <c>l2 * p</c> when <paramref name="l2"/> is not zero (PyTorch's <c>grad.add(param, alpha=weight_decay)</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Incoming<T>(T grad, T param, bool maximize, T l2) where T : IFloatingPointIeee754<T>
    {
        T g = maximize ? -grad : grad;
        return l2 == T.Zero ? g : AddScaled(g, l2, param);
    }

    /// <summary>Bias correction <c>1 - beta^t</c> of a moving average started at zero.</summary>
    public static double BiasCorrection(double beta, long step) => 1 - Math.Pow(beta, step);

    /// <summary>Converts a double-precision coefficient to the parameter type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Of<T>(double value) where T : IFloatingPointIeee754<T> => T.CreateTruncating(value);
}
