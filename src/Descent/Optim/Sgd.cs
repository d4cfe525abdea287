using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, dampening and Nesterov momentum (PyTorch's <c>torch.optim.SGD</c>).
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p                  [decoupled_weight_decay: p = p * (1 - lr * weight_decay), g = ±grad]
/// if momentum != 0:
///     buf = g                                        (first step)
///     buf = momentum * buf + (1 - dampening) * g     (later steps)
///     g = g + momentum * buf  if nesterov  else  buf
/// p = p - lr * g
/// </code>
/// The heavy-ball form <c>v = b v + g</c> is <c>momentum = b</c>; the moving-average form
/// <c>v = b v + (1 - b) g</c> is <c>momentum = dampening = b</c>.
/// </remarks>
public sealed class Sgd<T> : Optimizer<T, SgdOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int MomentumBuffer = 0;

    /// <summary>Creates SGD over <paramref name="parameters"/>.</summary>
    public Sgd(IEnumerable<Parameter<T>> parameters, SgdOptions? options = null) : base(parameters, options ?? new SgdOptions()) { }

    /// <inheritdoc/>
    protected override bool ElementWise => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["momentum_buffer"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, SgdOptions o)
    {
        if (o.Momentum == 0)
        {
            UpdateLoop.Run(p, grad, new Plain(o));
            return;
        }
        var buf = state.Slot(MomentumBuffer, T.Zero, out bool fresh);
        UpdateLoop.Run(p, grad, new WithMomentum(o, fresh), buf);
    }

    /// <summary><c>p - lr * g</c>, a loop of its own so the common case carries no momentum branches.</summary>
    private readonly struct Plain(SgdOptions o) : IUpdateRule<T>
    {
        private readonly Vector<T> lr = Pointwise.Broadcast<T>(-o.LearningRate);
        private readonly Decay<T> decay = new(o);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> s0, ref Vector<T> s1, ref Vector<T> s2)
        {
            var w = decay.Apply(p, grad, out var g);
            return Pointwise.AddScaled(w, lr, g);
        }
    }

    /// <summary>The momentum buffer in slot 0.</summary>
    private readonly struct WithMomentum(SgdOptions o, bool fresh) : IUpdateRule<T>
    {
        private readonly Vector<T> lr = Pointwise.Broadcast<T>(-o.LearningRate);
        private readonly Vector<T> mu = Pointwise.Broadcast<T>(o.Momentum), keep = Pointwise.Broadcast<T>(1 - o.Dampening);
        private readonly Decay<T> decay = new(o);
        private readonly bool fresh = fresh, nesterov = o.Nesterov;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> buf, ref Vector<T> s1, ref Vector<T> s2)
        {
            var w = decay.Apply(p, grad, out var g);
            buf = fresh ? g : Pointwise.Ema(buf, g, mu, keep);                     // buf * momentum + (1 - dampening) g
            g = nesterov ? Pointwise.AddScaled(g, mu, buf) : buf;                   // g + momentum * buf, or buf
            return Pointwise.AddScaled(w, lr, g);                                   // p - lr * g
        }
    }
}
