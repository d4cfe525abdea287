using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>NAdam: Adam with Nesterov momentum (Dozat 2016; PyTorch's <c>torch.optim.NAdam</c>).</summary>
/// <remarks>
/// <code>
/// mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))          [constant_momentum: mu_t = beta1]
/// P_t = mu_1 * ... * mu_t                                        (saved as mu_product)
/// p = p * (1 - lr * weight_decay)  if decoupled_weight_decay, else  g = ±grad + weight_decay * p
/// m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
/// d = sqrt(v) / sqrt(1 - beta2^t) + eps                          [or sqrt(v / (1 - beta2^t) + eps)]
/// p = p - lr * (1 - mu_t) / (1 - P_t) * g / d - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / d
/// </code>
/// This is the rule of PyTorch 2 (and of PyTorch 1.13 with <c>foreach=True</c>); PyTorch 1.13's default
/// single-tensor path multiplied <c>P_t</c> by <c>mu_t</c> twice in the last term, a bug fixed in PyTorch 2.0.
/// Keras 3's <c>Nadam</c> is this rule with <c>momentum_decay = 1</c> (its schedule is <c>0.96^t</c>).
/// </remarks>
public sealed class NAdam<T> : Optimizer<T, NAdamOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1, MuProduct = 0;

    /// <summary>Creates NAdam over <paramref name="parameters"/>.</summary>
    public NAdam(IEnumerable<Parameter<T>> parameters, NAdamOptions? options = null) : base(parameters, options ?? new NAdamOptions()) { }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override IReadOnlyList<string> ScalarNames => ["mu_product"];

    /// <inheritdoc/>
    protected override double[] InitialScalars => [1.0];

    /// <summary>The momentum coefficient <c>mu_t</c> at update <paramref name="t"/>.</summary>
    private static double Mu(NAdamOptions o, long t) =>
        o.ConstantMomentum ? o.Beta1 : o.Beta1 * (1 - 0.5 * Math.Pow(0.96, t * o.MomentumDecay));

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, NAdamOptions o)
    {
        double mu = Mu(o, state.Step), muNext = Mu(o, state.Step + 1);
        // torch keeps mu_product in a 0-dim tensor and multiplies it by mu in that tensor's dtype.
        double product = state.Scalars[MuProduct] = Pointwise.Stored<T>(Pointwise.Stored<T>(state.Scalars[MuProduct]) * Pointwise.Stored<T>(mu));
        double gradStep = -o.LearningRate * (1 - mu) / (1 - product);
        double momentumStep = -o.LearningRate * muNext / (1 - product * muNext);
        var rule = new Rule(o, gradStep, momentumStep, Pointwise.BiasCorrection(o.Beta2, state.Step));
        UpdateLoop.Run(p, grad, rule, state.Slot(ExpAvg), state.Slot(ExpAvgSq));
    }

    /// <summary>The update with the step's coefficients; slots: first and second moments.</summary>
    private readonly struct Rule(NAdamOptions o, double gradStep, double momentumStep, double bc2) : IUpdateRule<T>
    {
        private readonly Vector<T> gradStep = Pointwise.Broadcast<T>(gradStep), momentumStep = Pointwise.Broadcast<T>(momentumStep);
        private readonly Moments<T> moments = new(o);
        private readonly Denominator<T> denominator = new(o, bc2);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> v, ref Vector<T> s2)
        {
            var w = moments.Advance(p, grad, ref m, ref v, out var g);
            var d = denominator.Of(v);
            return Pointwise.AddCDiv(Pointwise.AddCDiv(w, gradStep, g, d), momentumStep, m, d);
        }
    }
}
