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
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdamaxOptions o)
    {
        var m = state.Slot(ExpAvg);
        var u = state.Slot(ExpInf);
        T step = Pointwise.Of<T>(-(o.LearningRate / Pointwise.BiasCorrection(o.Beta1, state.Step)));
        T b1 = Pointwise.Of<T>(o.Beta1), c1 = Pointwise.Of<T>(1 - o.Beta1), b2 = Pointwise.Of<T>(o.Beta2);
        T l2 = Pointwise.Of<T>(o.WeightDecay), eps = Pointwise.Of<T>(o.Eps);
        bool max = o.Maximize;
        for (int i = 0; i < p.Length; i++)
        {
            T g = Pointwise.Incoming(grad[i], p[i], max, l2);
            T mi = m[i] = Pointwise.Ema(m[i], g, b1, c1);
            T ui = u[i] = T.Max(u[i] * b2, T.Abs(g) + eps);
            p[i] = Pointwise.AddCDiv(p[i], step, mi, ui);
        }
    }
}
