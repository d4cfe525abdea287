using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Rectified Adam (Liu et al. 2020; PyTorch's <c>torch.optim.RAdam</c>).</summary>
/// <remarks>
/// <code>
/// p = p * (1 - lr * weight_decay)  if decoupled_weight_decay, else  g = ±grad + weight_decay * p
/// m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
/// rho_inf = 2 / (1 - beta2) - 1;     rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
/// if rho_t > threshold (5):
///                r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
///                p = p - lr * m / (1 - beta1^t) * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r
///                        [eps_after_bias_correction: p - lr * m / (1 - beta1^t) / (sqrt(v / (1 - beta2^t)) + eps) * r]
///                        [eps_inside_sqrt:           p - lr * m / (1 - beta1^t) / sqrt(v / (1 - beta2^t) + eps) * r]
/// else:          p = p - lr * m / (1 - beta1^t)
/// </code>
/// optax's <c>radam</c> rectifies at <c>rho_t &gt;= threshold</c> and adds eps after the bias correction; the
/// comparisons differ only where <c>rho_t</c> equals the threshold exactly.
/// </remarks>
public sealed class RAdam<T> : Optimizer<T, RAdamOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1;

    /// <summary>Creates RAdam over <paramref name="parameters"/>.</summary>
    public RAdam(IEnumerable<Parameter<T>> parameters, RAdamOptions? options = null) : base(parameters, options ?? new RAdamOptions()) { }

    /// <inheritdoc/>
    protected override bool ElementWise => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, RAdamOptions o)
    {
        long t = state.Step;
        double bc2 = Pointwise.BiasCorrection(o.Beta2, t);
        double rhoInf = 2 / (1 - o.Beta2) - 1;
        double rhoT = rhoInf - 2 * t * Math.Pow(o.Beta2, t) / bc2;
        double? rect = rhoT > o.Threshold ? Math.Sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : null;
        var rule = new Rule(o, Pointwise.BiasCorrection(o.Beta1, t), bc2, rect);
        UpdateLoop.Run(p, grad, rule, state.Slot(ExpAvg), state.Slot(ExpAvgSq));
    }

    /// <summary>The update with the step's coefficients (<c>rect</c> null while the variance is not yet tractable); slots: first and second moments.</summary>
    private readonly struct Rule(RAdamOptions o, double bc1, double bc2, double? rect) : IUpdateRule<T>
    {
        private readonly Vector<T> lr = Pointwise.Broadcast<T>(o.LearningRate), bc1 = Pointwise.Broadcast<T>(bc1), sqrtBc2 = Pointwise.Broadcast<T>(Math.Sqrt(bc2));
        private readonly Vector<T> rect = Pointwise.Broadcast<T>(rect ?? 0);
        private readonly Moments<T> moments = new(o);
        // PyTorch adds eps to sqrt(v) and corrects afterwards; optax (and eps_inside_sqrt) correct v first.
        private readonly bool rectify = rect.HasValue, correctsFirst = o.CorrectsBeforeEps;
        private readonly Denominator<T> denominator = new(o, o.CorrectsBeforeEps ? bc2 : 1);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> v, ref Vector<T> s2)
        {
            var w = moments.Advance(p, grad, ref m, ref v, out _);
            var corrected = m / bc1 * lr;
            if (!rectify) return w - corrected;
            // torch writes sqrt(bc2) / denom, which Tensor.__rtruediv__ computes as denom.reciprocal() * sqrt(bc2).
            var adaptive = correctsFirst ? corrected / denominator.Of(v) : corrected * (Vector<T>.One / denominator.Of(v) * sqrtBc2);
            return w - adaptive * rect;
        }
    }
}
