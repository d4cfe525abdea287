using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>RMSProp (Tieleman and Hinton 2012; PyTorch's <c>torch.optim.RMSprop</c>), optionally centered and with momentum.</summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p              [decoupled_weight_decay: p = p * (1 - lr * weight_decay), g = ±grad]
/// v = alpha * v + (1 - alpha) * g * g          (v starts at initial_square_avg)
/// s = v - gbar^2  with  gbar = alpha * gbar + (1 - alpha) * g    if centered, else s = v
/// d = sqrt(s) + eps                                                [or sqrt(s + eps)]
/// buf = momentum * buf + g / d;  p = p - lr * buf                  if momentum > 0
/// p = p - lr * g / d                                               otherwise
/// </code>
/// </remarks>
public sealed class RmsProp<T> : Optimizer<T, RmsPropOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int SquareAvg = 0, MomentumBuffer = 1, GradAvg = 2;

    /// <summary>Creates RMSProp over <paramref name="parameters"/>.</summary>
    public RmsProp(IEnumerable<Parameter<T>> parameters, RmsPropOptions? options = null) : base(parameters, options ?? new RmsPropOptions()) { }

    /// <inheritdoc/>
    protected override bool ElementWise => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["square_avg", "momentum_buffer", "grad_avg"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, RmsPropOptions o) =>
        UpdateLoop.Run(p, grad, new Rule(o), state.Slot(SquareAvg, Pointwise.Of<T>(o.InitialSquareAvg), out _), o.Momentum > 0 ? state.Slot(MomentumBuffer) : [],
            o.Centered ? state.Slot(GradAvg) : []);

    /// <summary>The update; slots: the average of squares, the momentum buffer, the average gradient (centered).</summary>
    private readonly struct Rule(RmsPropOptions o) : IUpdateRule<T>
    {
        private readonly Vector<T> a = Pointwise.Broadcast<T>(o.Alpha), c = Pointwise.Broadcast<T>(1 - o.Alpha), mu = Pointwise.Broadcast<T>(o.Momentum);
        private readonly Vector<T> lr = Pointwise.Broadcast<T>(-o.LearningRate);
        private readonly Decay<T> decay = new(o);
        private readonly Denominator<T> denominator = new(o);
        private readonly bool centered = o.Centered, withMomentum = o.Momentum > 0;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> square, ref Vector<T> buf, ref Vector<T> mean)
        {
            var w = decay.Apply(p, grad, out var g);
            var v = square = Pointwise.EmaOfSquare(square, g, a, c);
            if (centered)
            {
                mean = Pointwise.Ema(mean, g, a, c);
                v = Pointwise.AddCMul(v, -Vector<T>.One, mean, mean);
            }
            var d = denominator.Of(v);
            if (!withMomentum) return Pointwise.AddCDiv(w, lr, g, d);
            buf = Pointwise.AddCDiv(buf * mu, Vector<T>.One, g, d);
            return Pointwise.AddScaled(w, lr, buf);
        }
    }
}
