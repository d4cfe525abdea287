using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Lion, EvoLved Sign Momentum (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2).</summary>
/// <remarks>
/// <code>
/// g = ±grad
/// p = p * (1 - lr * weight_decay)                 [independent_weight_decay: p * (1 - weight_decay)]
/// p = p - lr * sign(beta1 * m + (1 - beta1) * g)
/// m = beta2 * m + (1 - beta2) * g
/// </code>
/// Every coordinate moves by exactly <c>lr</c> (or not at all), so Lion wants a learning rate 3-10x
/// smaller than AdamW's and a correspondingly larger weight decay.
/// </remarks>
public sealed class Lion<T> : Optimizer<T, LionOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0;

    /// <summary>Creates Lion over <paramref name="parameters"/>.</summary>
    public Lion(IEnumerable<Parameter<T>> parameters, LionOptions? options = null) : base(parameters, options ?? new LionOptions()) { }

    /// <inheritdoc/>
    public override string Name => "lion";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, LionOptions o)
    {
        var m = state.Slot(ExpAvg);
        T lr = Pointwise.Of<T>(-o.LearningRate), shrink = Pointwise.Of<T>(o.DecoupledFactor);
        T b1 = Pointwise.Of<T>(o.Beta1), c1 = Pointwise.Of<T>(1 - o.Beta1), b2 = Pointwise.Of<T>(o.Beta2), c2 = Pointwise.Of<T>(1 - o.Beta2);
        bool max = o.Maximize;
        for (int i = 0; i < p.Length; i++)
        {
            T g = max ? -grad[i] : grad[i];
            p[i] = Pointwise.AddScaled(p[i] * shrink, lr, Pointwise.Sign(Pointwise.Ema(m[i], g, b1, c1)));
            m[i] = Pointwise.Ema(m[i], g, b2, c2);
        }
    }
}
