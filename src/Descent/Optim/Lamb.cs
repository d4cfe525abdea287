using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// LAMB (You et al. 2020, "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes";
/// <c>optax.lamb</c>): Adam's direction plus weight decay, rescaled per parameter tensor by the trust ratio.
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad;   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
/// u = m / (1 - beta1^t) / (sqrt(v / (1 - beta2^t) + eps_root) + eps) + weight_decay * p
/// p = p - lr * r * u,   r = ||p|| / ||u||  (1 when either is 0)
/// </code>
/// </remarks>
public sealed class Lamb<T> : Optimizer<T, LambOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1;
    private readonly T[] _update;

    /// <summary>Creates LAMB over <paramref name="parameters"/>.</summary>
    public Lamb(IEnumerable<Parameter<T>> parameters, LambOptions? options = null) : base(parameters, options ?? new LambOptions()) =>
        _update = TrustRatio.Scratch(AllParameters());

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, LambOptions o)
    {
        var u = _update.AsSpan(0, p.Length);
        UpdateLoop.Run(u, grad, new Direction(o, state.Step), state.Slot(ExpAvg), state.Slot(ExpAvgSq), p);
        double ratio = TrustRatio.Of<T>(p, u, 1, 0);
        UpdateLoop.Run(p, u, new Scaled(-o.LearningRate * ratio));
    }

    /// <summary>Adam's direction plus weight decay, written over the scratch; slots: the moments and the parameter (read only).</summary>
    private readonly struct Direction(LambOptions o, long t) : IUpdateRule<T>
    {
        private readonly Vector<T> b1 = Pointwise.Broadcast<T>(o.Beta1), c1 = Pointwise.Broadcast<T>(1 - o.Beta1);
        private readonly Vector<T> b2 = Pointwise.Broadcast<T>(o.Beta2), c2 = Pointwise.Broadcast<T>(1 - o.Beta2);
        private readonly Vector<T> bc1 = Pointwise.Broadcast<T>(Pointwise.BiasCorrection(o.Beta1, t)), bc2 = Pointwise.Broadcast<T>(Pointwise.BiasCorrection(o.Beta2, t));
        private readonly Vector<T> eps = Pointwise.Broadcast<T>(o.Eps), epsRoot = Pointwise.Broadcast<T>(o.EpsRoot), wd = Pointwise.Broadcast<T>(o.WeightDecay);
        private readonly bool maximize = o.Maximize;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> scratch, Vector<T> grad, ref Vector<T> m, ref Vector<T> v, ref Vector<T> p)
        {
            var g = maximize ? -grad : grad;
            m = Pointwise.Ema(m, g, b1, c1);
            v = Pointwise.EmaOfSquare(v, g, b2, c2);
            return Pointwise.AddScaled(m / bc1 / (Vector.SquareRoot(v / bc2 + epsRoot) + eps), wd, p);
        }
    }

    /// <summary><c>p + coefficient * u</c>, with the scaled-down update in the gradient's place.</summary>
    private readonly struct Scaled(double coefficient) : IUpdateRule<T>
    {
        private readonly Vector<T> c = Pointwise.Broadcast<T>(coefficient);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> u, ref Vector<T> s0, ref Vector<T> s1, ref Vector<T> s2) => Pointwise.AddScaled(p, c, u);
    }
}
