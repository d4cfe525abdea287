using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Rectified Adam (Liu et al. 2020; PyTorch's <c>torch.optim.RAdam</c>).</summary>
/// <remarks>
/// <code>
/// p = p * (1 - lr * weight_decay)  if decoupled_weight_decay, else  g = ±grad + weight_decay * p
/// m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
/// rho_inf = 2 / (1 - beta2) - 1;     rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
/// if rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
///                p = p - lr * m / (1 - beta1^t) * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r
/// else:          p = p - lr * m / (1 - beta1^t)
/// </code>
/// </remarks>
public sealed class RAdam<T> : Optimizer<T, RAdamOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1;

    /// <summary>Creates RAdam over <paramref name="parameters"/>.</summary>
    public RAdam(IEnumerable<Parameter<T>> parameters, RAdamOptions? options = null) : base(parameters, options ?? new RAdamOptions()) { }

    /// <inheritdoc/>
    public override string Name => "radam";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, RAdamOptions o)
    {
        var m = state.Slot(ExpAvg);
        var v = state.Slot(ExpAvgSq);
        long t = state.Step;
        double bc1 = Pointwise.BiasCorrection(o.Beta1, t), bc2 = Pointwise.BiasCorrection(o.Beta2, t);
        double rhoInf = 2 / (1 - o.Beta2) - 1;
        double rhoT = rhoInf - 2 * t * Math.Pow(o.Beta2, t) / bc2;
        bool rectify = rhoT > 5;
        double rect = rectify ? Math.Sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 0;
        T lr = Pointwise.Of<T>(o.LearningRate), bc1T = Pointwise.Of<T>(bc1), sqrtBc2 = Pointwise.Of<T>(Math.Sqrt(bc2));
        T rectT = Pointwise.Of<T>(rect), eps = Pointwise.Of<T>(o.Eps);
        T b1 = Pointwise.Of<T>(o.Beta1), c1 = Pointwise.Of<T>(1 - o.Beta1), b2 = Pointwise.Of<T>(o.Beta2), c2 = Pointwise.Of<T>(1 - o.Beta2);
        T l2 = Pointwise.Of<T>(o.L2), shrink = Pointwise.Of<T>(o.DecoupledFactor);
        bool max = o.Maximize;
        for (int i = 0; i < p.Length; i++)
        {
            T w = p[i] * shrink;
            T g = Pointwise.Incoming(grad[i], w, max, l2);
            T mi = m[i] = Pointwise.Ema(m[i], g, b1, c1);
            T vi = v[i] = Pointwise.EmaOfSquare(v[i], g, b2, c2);
            T corrected = mi / bc1T * lr;
            p[i] = w - (rectify ? corrected * (sqrtBc2 / (T.Sqrt(vi) + eps)) * rectT : corrected);
        }
    }
}
