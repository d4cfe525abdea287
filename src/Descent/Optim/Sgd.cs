using System.Numerics;
using Descent.Nn;

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
        T lr = Pointwise.Of<T>(-o.LearningRate), l2 = Pointwise.Of<T>(o.WeightDecay);
        bool max = o.Maximize;
        if (o.Momentum == 0)
        {
            for (int i = 0; i < p.Length; i++)
                p[i] = Pointwise.AddScaled(p[i], lr, Pointwise.Incoming(grad[i], p[i], max, l2));
            return;
        }
        T mu = Pointwise.Of<T>(o.Momentum), keep = Pointwise.Of<T>(1 - o.Dampening);
        bool nesterov = o.Nesterov;
        var buf = state.Slot(MomentumBuffer, T.Zero, out bool fresh);
        for (int i = 0; i < p.Length; i++)
        {
            T g = Pointwise.Incoming(grad[i], p[i], max, l2);
            T b = buf[i] = fresh ? g : Pointwise.AddScaled(buf[i] * mu, keep, g);
            p[i] = Pointwise.AddScaled(p[i], lr, nesterov ? Pointwise.AddScaled(g, mu, b) : b);
        }
    }
}
