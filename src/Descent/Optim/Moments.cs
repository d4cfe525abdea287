using System.Numerics;
using System.Runtime.CompilerServices;

namespace Descent.Optim;

/// <summary>
/// What every Adam-family update starts with: the weight decay (<see cref="Decay{T}"/>), then the
/// moving averages of the gradient (<c>m</c>) and of its square (<c>v</c>).
/// </summary>
internal readonly struct Moments<T>(AdamFamilyOptions o) where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector<T> b1 = Pointwise.Broadcast<T>(o.Beta1), c1 = Pointwise.Broadcast<T>(1 - o.Beta1);
    private readonly Vector<T> b2 = Pointwise.Broadcast<T>(o.Beta2), c2 = Pointwise.Broadcast<T>(1 - o.Beta2);
    private readonly Decay<T> decay = new(o);

    /// <summary>
    /// Updates <paramref name="m"/> and <paramref name="v"/> with the incoming gradient <paramref name="g"/>;
    /// returns the parameters after decoupled decay (<c>p * (1 - lr * weight_decay)</c>, or <c>p</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Advance(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> v, out Vector<T> g)
    {
        var w = decay.Apply(p, grad, out g);
        m = Pointwise.Ema(m, g, b1, c1);
        v = Pointwise.EmaOfSquare(v, g, b2, c2);
        return w;
    }
}
