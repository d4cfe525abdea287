using System.Numerics;
using System.Runtime.CompilerServices;

namespace Descent.Optim;

/// <summary>
/// The first piece of every update rule: the gradient negated when maximizing, the parameter shrunk by a
/// decoupled weight decay, or an L2 term added to the gradient. Written once; each rule struct holds one
/// and calls it inside its fused pass.
/// </summary>
internal readonly struct Decay<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector<T> l2, shrink;
    private readonly bool hasL2, maximize;

    /// <summary>Maximize and weight decay as <paramref name="o"/> sets them.</summary>
    public Decay(WeightDecayOptions o)
    {
        l2 = Pointwise.Broadcast<T>(o.L2);
        shrink = Pointwise.Broadcast<T>(o.DecoupledFactor);
        hasL2 = o.L2 != 0;
        maximize = o.Maximize;
    }

    /// <summary>Maximize only, for the rules without weight decay.</summary>
    public Decay(OptimizerOptions o)
    {
        shrink = Vector<T>.One;
        maximize = o.Maximize;
    }

    /// <summary>
    /// Returns the parameter after decoupled decay, <c>p * (1 - lr * weight_decay)</c> (or <c>p</c>), and in
    /// <paramref name="g"/> the gradient the rule sees: <c>±grad</c>, plus <c>l2 * p</c> with an L2 penalty
    /// (PyTorch's <c>grad.add(param, alpha=weight_decay)</c>, one fused multiply-add).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector<T> Apply(Vector<T> p, Vector<T> grad, out Vector<T> g)
    {
        var w = p * shrink;
        g = maximize ? -grad : grad;
        if (hasL2) g = Pointwise.AddScaled(g, l2, w);
        return w;
    }
}
