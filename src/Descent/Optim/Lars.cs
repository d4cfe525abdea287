using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// LARS (You et al. 2017, "Large Batch Training of Convolutional Networks"; <c>optax.lars</c>): the gradient
/// plus weight decay, rescaled per parameter tensor by the trust ratio and the learning rate, then
/// accumulated with momentum.
/// </summary>
/// <remarks>
/// <code>
/// u = ±grad + weight_decay * p;   s = lr * r * u,   r = trust_coefficient ||p|| / (||u|| + eps)  (1 when either norm is 0)
/// buf = momentum buf + s;   p = p - buf     [nesterov: p - (s + momentum buf)]
/// </code>
/// As in optax, the learning rate is applied before the momentum, so the buffer carries earlier rates.
/// </remarks>
public sealed class Lars<T> : Optimizer<T, LarsOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int MomentumBuffer = 0;
    private readonly T[] _update;

    /// <summary>Creates LARS over <paramref name="parameters"/>.</summary>
    public Lars(IEnumerable<Parameter<T>> parameters, LarsOptions? options = null) : base(parameters, options ?? new LarsOptions()) =>
        _update = TrustRatio.Scratch(AllParameters());

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["momentum_buffer"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, LarsOptions o)
    {
        var u = _update.AsSpan(0, p.Length);
        UpdateLoop.Run(u, grad, new Direction(o), p);
        double scale = o.LearningRate * TrustRatio.Of<T>(p, u, o.TrustCoefficient, o.Eps);
        UpdateLoop.Run(p, u, new Trace(o, scale), state.Slot(MomentumBuffer));
    }

    /// <summary><c>±grad + weight_decay * p</c>, written over the scratch; slot: the parameter (read only).</summary>
    private readonly struct Direction(LarsOptions o) : IUpdateRule<T>
    {
        private readonly Vector<T> wd = Pointwise.Broadcast<T>(o.WeightDecay);
        private readonly bool maximize = o.Maximize;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> scratch, Vector<T> grad, ref Vector<T> p, ref Vector<T> s1, ref Vector<T> s2) =>
            Pointwise.AddScaled(maximize ? -grad : grad, wd, p);
    }

    /// <summary>The momentum step with the scaled update <c>s = scale * u</c>; slot: the buffer.</summary>
    private readonly struct Trace(LarsOptions o, double scale) : IUpdateRule<T>
    {
        private readonly Vector<T> c = Pointwise.Broadcast<T>(scale), mu = Pointwise.Broadcast<T>(o.Momentum);
        private readonly bool nesterov = o.Nesterov;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> u, ref Vector<T> buf, ref Vector<T> s1, ref Vector<T> s2)
        {
            var s = c * u;
            buf = Pointwise.AddScaled(s, mu, buf);
            return p - (nesterov ? Pointwise.AddScaled(s, mu, buf) : buf);
        }
    }
}
