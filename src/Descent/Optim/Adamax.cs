using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Adamax, Adam with the infinity norm (Kingma and Ba 2015; PyTorch's <c>torch.optim.Adamax</c>).</summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p              [decoupled_weight_decay: p = p * (1 - lr * weight_decay), g = ±grad]
/// m = beta1 * m + (1 - beta1) * g
/// u = max(beta2 * u, |g| + eps)
/// p = p - lr / (1 - beta1^t) * m / u
///        [eps_outside_max (Keras): u = max(beta2 * u, |g|);  p = p - lr / (1 - beta1^t) * m / (u + eps)]
/// </code>
/// </remarks>
public sealed class Adamax<T> : Optimizer<T, AdamaxOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpInf = 1;

    /// <summary>Creates Adamax over <paramref name="parameters"/>.</summary>
    public Adamax(IEnumerable<Parameter<T>> parameters, AdamaxOptions? options = null) : base(parameters, options ?? new AdamaxOptions()) { }

    /// <inheritdoc/>
    protected override bool ElementWise => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_inf"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdamaxOptions o) =>
        UpdateLoop.Run(p, grad, new Rule(o, -(o.LearningRate / Pointwise.BiasCorrection(o.Beta1, state.Step))), state.Slot(ExpAvg), state.Slot(ExpInf));

    /// <summary>The update with the step's coefficients; slots: the first moment and the infinity norm.</summary>
    private readonly struct Rule(AdamaxOptions o, double step) : IUpdateRule<T>
    {
        private readonly Vector<T> step = Pointwise.Broadcast<T>(step);
        // eps goes into the maximum (PyTorch) or onto the divisor (Keras); adding the other's zero is exact.
        private readonly Vector<T> epsInMax = Pointwise.Broadcast<T>(o.EpsOutsideMax ? 0 : o.Eps), epsOnDivisor = Pointwise.Broadcast<T>(o.EpsOutsideMax ? o.Eps : 0);
        private readonly Vector<T> b1 = Pointwise.Broadcast<T>(o.Beta1), c1 = Pointwise.Broadcast<T>(1 - o.Beta1), b2 = Pointwise.Broadcast<T>(o.Beta2);
        private readonly Decay<T> decay = new(o);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> u, ref Vector<T> s2)
        {
            var w = decay.Apply(p, grad, out var g);
            m = Pointwise.Ema(m, g, b1, c1);
            u = Vector.Max(u * b2, Vector.Abs(g) + epsInMax);
            return Pointwise.AddCDiv(w, step, m, u + epsOnDivisor);
        }
    }
}
