using System.Numerics;
using System.Runtime.CompilerServices;

namespace Descent.Optim;

/// <summary>
/// The divisor of every rule that scales by the root of a running square (AdaGrad, RMSProp, Adam, NAdam, RAdam), with
/// its eps placement written once: <c>sqrt(v) / sqrt(c) + eps</c> as PyTorch computes it, or <c>sqrt(v / c + eps)</c>
/// with <c>eps_inside_sqrt</c> (TensorFlow's RMSProp, optax's <c>eps_root</c>). <c>c</c> is the bias correction
/// <c>1 - beta2^t</c> of the average, or 1 for the sums and averages that are not corrected and for the rules that
/// correct elsewhere (Keras's epsilon-hat, optax's AMSGrad). Each rule struct holds one, as it holds a <see cref="Decay{T}"/>.
/// </summary>
internal readonly struct Denominator<T>(AdaptiveOptions o, double correction = 1) where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector<T> corr = Pointwise.Broadcast<T>(correction), sqrtCorr = Pointwise.Broadcast<T>(Math.Sqrt(correction));
    private readonly Vector<T> eps = Pointwise.Broadcast<T>(o.Eps);
    private readonly bool inside = o.EpsInsideSqrt;

    /// <summary>The divisor for the running square <paramref name="v"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Of(Vector<T> v) => inside ? Vector.SquareRoot(v / corr + eps) : Vector.SquareRoot(v) / sqrtCorr + eps;
}
