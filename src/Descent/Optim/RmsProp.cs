using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>RMSProp (Tieleman and Hinton 2012; PyTorch's <c>torch.optim.RMSprop</c>), optionally centered and with momentum.</summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p
/// v = alpha * v + (1 - alpha) * g * g
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
    public override string Name => "rmsprop";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["square_avg", "momentum_buffer", "grad_avg"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, RmsPropOptions o)
    {
        var sq = state.Slot(SquareAvg);
        bool centered = o.Centered, withMomentum = o.Momentum > 0, max = o.Maximize, inside = o.EpsInsideSqrt;
        var gAvg = centered ? state.Slot(GradAvg) : default;
        var buf = withMomentum ? state.Slot(MomentumBuffer) : default;
        T a = Pointwise.Of<T>(o.Alpha), c = Pointwise.Of<T>(1 - o.Alpha), mu = Pointwise.Of<T>(o.Momentum);
        T lr = Pointwise.Of<T>(-o.LearningRate), l2 = Pointwise.Of<T>(o.WeightDecay), eps = Pointwise.Of<T>(o.Eps);
        for (int i = 0; i < p.Length; i++)
        {
            T g = Pointwise.Incoming(grad[i], p[i], max, l2);
            T v = sq[i] = Pointwise.EmaOfSquare(sq[i], g, a, c);
            if (centered)
            {
                T m = gAvg[i] = Pointwise.Ema(gAvg[i], g, a, c);
                v = Pointwise.AddCMul(v, -T.One, m, m);
            }
            T d = AdaptiveOptions.Denominator(v, T.One, T.One, eps, inside);
            if (withMomentum)
            {
                buf[i] = Pointwise.AddCDiv(buf[i] * mu, T.One, g, d);
                p[i] = Pointwise.AddScaled(p[i], lr, buf[i]);
            }
            else
            {
                p[i] = Pointwise.AddCDiv(p[i], lr, g, d);
            }
        }
    }
}
