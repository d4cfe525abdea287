using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Adam (Kingma and Ba 2015) and AMSGrad (PyTorch's <c>torch.optim.Adam</c>).</summary>
/// <remarks>
/// <code>
/// p = p * (1 - lr * weight_decay)                   if decoupled_weight_decay (AdamW)
/// g = ±grad + weight_decay * p                      otherwise (L2)
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g * g
/// vmax = max(vmax, v);  v = vmax                    if amsgrad
/// p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///                        [eps_inside_sqrt: m / sqrt(v / (1 - beta2^t) + eps)]
/// </code>
/// </remarks>
public class Adam<T> : Optimizer<T, AdamOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1, MaxExpAvgSq = 2;

    /// <summary>Creates Adam over <paramref name="parameters"/>.</summary>
    public Adam(IEnumerable<Parameter<T>> parameters, AdamOptions? options = null) : base(parameters, options ?? new AdamOptions()) { }

    /// <inheritdoc/>
    public override string Name => "adam";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdamOptions o)
    {
        var m = state.Slot(ExpAvg);
        var v = state.Slot(ExpAvgSq);
        bool ams = o.Amsgrad, max = o.Maximize, inside = o.EpsInsideSqrt;
        var vMax = ams ? state.Slot(MaxExpAvgSq) : default;
        double bc2 = Pointwise.BiasCorrection(o.Beta2, state.Step);
        T step = Pointwise.Of<T>(-(o.LearningRate / Pointwise.BiasCorrection(o.Beta1, state.Step)));
        T corr = Pointwise.Of<T>(bc2), sqrtCorr = Pointwise.Of<T>(Math.Sqrt(bc2)), eps = Pointwise.Of<T>(o.Eps);
        T b1 = Pointwise.Of<T>(o.Beta1), c1 = Pointwise.Of<T>(1 - o.Beta1), b2 = Pointwise.Of<T>(o.Beta2), c2 = Pointwise.Of<T>(1 - o.Beta2);
        T l2 = Pointwise.Of<T>(o.L2), shrink = Pointwise.Of<T>(o.DecoupledFactor);
        for (int i = 0; i < p.Length; i++)
        {
            T w = p[i] * shrink;
            T g = Pointwise.Incoming(grad[i], w, max, l2);
            T mi = m[i] = Pointwise.Ema(m[i], g, b1, c1);
            T vi = v[i] = Pointwise.EmaOfSquare(v[i], g, b2, c2);
            if (ams) vi = vMax[i] = T.Max(vMax[i], vi);
            p[i] = Pointwise.AddCDiv(w, step, mi, AdaptiveOptions.Denominator(vi, corr, sqrtCorr, eps, inside));
        }
    }
}
