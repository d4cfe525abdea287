using System.Numerics;
using Descent.Nn;
using Descent.Numerics;

namespace Descent.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, dampening and Nesterov momentum (PyTorch's <c>torch.optim.SGD</c>).
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p
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
    public override string Name => "sgd";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["momentum_buffer"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, SgdOptions o)
    {
        bool withMomentum = o.Momentum != 0;
        bool fresh = false;
        var buf = withMomentum ? state.Slot(MomentumBuffer, T.Zero, out fresh) : [];
        var k = new Constants(o, fresh);
        // One vector body for every element: whole vectors in place, the tail through one padded vector.
        var vp = Lanes.Whole(p, out int tail);
        var vg = System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<T>>(grad[..(vp.Length * Vector<T>.Count)]);
        var vb = withMomentum ? Lanes.Whole(buf, out _) : [];
        if (withMomentum)
        {
            for (int i = 0; i < vp.Length; i++) vp[i] = Body(vp[i], vg[i], ref vb[i], k);
        }
        else
        {
            var none = Vector<T>.Zero;
            for (int i = 0; i < vp.Length; i++) vp[i] = Body(vp[i], vg[i], ref none, k);
        }
        if (tail == 0) return;
        var tb = withMomentum ? Lanes.LoadTail<T>(buf, tail) : default;
        Lanes.StoreTail(p, tail, Body(Lanes.LoadTail<T>(p, tail), Lanes.LoadTail(grad, tail), ref tb, k));
        if (withMomentum) Lanes.StoreTail(buf, tail, tb);
    }

    /// <summary>The update of one vector of elements; returns the new parameters.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Body(Vector<T> p, Vector<T> grad, ref Vector<T> buf, in Constants k)
    {
        var g = k.Maximize ? -grad : grad;
        if (k.HasL2) g = Lanes.Fma(k.L2, p, g);                                   // g + wd * p
        if (k.HasMomentum)
        {
            buf = k.Fresh ? g : Lanes.Fma(k.Keep, g, buf * k.Mu);                 // buf * momentum + (1 - dampening) g
            g = k.Nesterov ? Lanes.Fma(k.Mu, buf, g) : buf;                      // g + momentum * buf, or buf
        }
        return Lanes.Fma(k.Lr, g, p);                                              // p - lr * g
    }

    /// <summary>The step's coefficients, broadcast to vectors once.</summary>
    private readonly struct Constants(SgdOptions o, bool fresh)
    {
        public readonly Vector<T> Lr = new(Pointwise.Of<T>(-o.LearningRate));
        public readonly Vector<T> L2 = new(Pointwise.Of<T>(o.WeightDecay));
        public readonly Vector<T> Mu = new(Pointwise.Of<T>(o.Momentum));
        public readonly Vector<T> Keep = new(Pointwise.Of<T>(1 - o.Dampening));
        public readonly bool HasL2 = o.WeightDecay != 0;
        public readonly bool HasMomentum = o.Momentum != 0;
        public readonly bool Fresh = fresh;
        public readonly bool Nesterov = o.Nesterov;
        public readonly bool Maximize = o.Maximize;
    }
}
