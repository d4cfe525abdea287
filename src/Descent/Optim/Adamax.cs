using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Adamax, Adam with the infinity norm (Kingma and Ba 2015; PyTorch's <c>torch.optim.Adamax</c>).</summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p
/// m = beta1 * m + (1 - beta1) * g
/// u = max(beta2 * u, |g| + eps)
/// p = p - lr / (1 - beta1^t) * m / u
/// </code>
/// </remarks>
public sealed class Adamax<T> : Optimizer<T, AdamaxOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpInf = 1;

    /// <summary>Creates Adamax over <paramref name="parameters"/>.</summary>
    public Adamax(IEnumerable<Parameter<T>> parameters, AdamaxOptions? options = null) : base(parameters, options ?? new AdamaxOptions()) { }

    /// <inheritdoc/>
    public override string Name => "adamax";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_inf"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdamaxOptions o) =>
        UpdateLoop.Run(p, grad, new Rule(o, -(o.LearningRate / Pointwise.BiasCorrection(o.Beta1, state.Step))), state.Slot(ExpAvg), state.Slot(ExpInf));

    /// <summary>The update with the step's coefficients; slots: the first moment and the infinity norm.</summary>
    private readonly struct Rule(AdamaxOptions o, double step) : IUpdateRule<T>
    {
        private readonly Vector<T> step = Pointwise.Broadcast<T>(step), eps = Pointwise.Broadcast<T>(o.Eps), l2 = Pointwise.Broadcast<T>(o.WeightDecay);
        private readonly Vector<T> b1 = Pointwise.Broadcast<T>(o.Beta1), c1 = Pointwise.Broadcast<T>(1 - o.Beta1), b2 = Pointwise.Broadcast<T>(o.Beta2);
        private readonly bool hasL2 = o.WeightDecay != 0, maximize = o.Maximize;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> u, ref Vector<T> s2)
        {
            var g = Pointwise.Incoming(grad, p, maximize, hasL2, l2);
            m = Pointwise.Ema(m, g, b1, c1);
            u = Vector.Max(u * b2, Vector.Abs(g) + eps);
            return Pointwise.AddCDiv(p, step, m, u);
        }
    }
}
