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
///        [amsgrad_bias_corrected (optax): vmax = max(vmax, v / (1 - beta2^t)), then no further correction]
/// p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///                        [eps_inside_sqrt: m / sqrt(v / (1 - beta2^t) + eps)]
///                        [eps_before_bias_correction: p -= lr sqrt(1-beta2^t)/(1-beta1^t) * m / (sqrt(v) + eps)]
/// </code>
/// </remarks>
public class Adam<T> : Optimizer<T, AdamOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1, MaxExpAvgSq = 2;

    /// <summary>Creates Adam over <paramref name="parameters"/>.</summary>
    public Adam(IEnumerable<Parameter<T>> parameters, AdamOptions? options = null) : base(parameters, options ?? new AdamOptions()) { }

    /// <inheritdoc/>
    /// <remarks>Adam and AdamW only: a subclass may change the rule, so it steps whole unless it says otherwise.</remarks>
    protected override bool ElementWise => GetType() == typeof(Adam<T>) || GetType() == typeof(AdamW<T>);

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdamOptions o)
    {
        double bc1 = Pointwise.BiasCorrection(o.Beta1, state.Step), bc2 = Pointwise.BiasCorrection(o.Beta2, state.Step);
        var rule = o.EpsBeforeBiasCorrection ? new Rule(o, -(o.LearningRate * Math.Sqrt(bc2) / bc1), 1, 1)   // both corrections in the step, eps added to sqrt(v)
            : o.AmsgradBiasCorrected ? new Rule(o, -(o.LearningRate / bc1), 1, bc2)                        // the maximum already holds corrected values
            : new Rule(o, -(o.LearningRate / bc1), bc2, 1);
        UpdateLoop.Run(p, grad, rule, state.Slot(ExpAvg), state.Slot(ExpAvgSq), o.Amsgrad ? state.Slot(MaxExpAvgSq) : []);
    }

    /// <summary>
    /// The update with the step's coefficients: <paramref name="bc2"/> corrects the second moment in the denominator,
    /// <paramref name="maxBc2"/> corrects it before the AMSGrad maximum; slots: first moment, second moment, its running maximum.
    /// </summary>
    private readonly struct Rule(AdamOptions o, double step, double bc2, double maxBc2) : IUpdateRule<T>
    {
        private readonly Vector<T> step = Pointwise.Broadcast<T>(step), maxCorr = Pointwise.Broadcast<T>(maxBc2);
        private readonly Moments<T> moments = new(o);
        private readonly Denominator<T> denominator = new(o, bc2);
        private readonly bool amsgrad = o.Amsgrad, correctedMax = o.AmsgradBiasCorrected;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> v, ref Vector<T> vMax)
        {
            var w = moments.Advance(p, grad, ref m, ref v, out _);
            var source = amsgrad ? vMax = Vector.Max(vMax, correctedMax ? v / maxCorr : v) : v;
            return w + step * m / denominator.Of(source);   // p - lr / (1 - b1^t) * m / d
        }
    }
}
