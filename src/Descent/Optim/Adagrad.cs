using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>AdaGrad (Duchi et al. 2011; PyTorch's <c>torch.optim.Adagrad</c>): per-coordinate steps scaled by the accumulated squared gradients.</summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p
/// sum = sum + g * g                          (sum starts at initial_accumulator_value)
/// p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)      [or sqrt(sum + eps)]
/// </code>
/// </remarks>
public sealed class Adagrad<T> : Optimizer<T, AdagradOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Sum = 0;

    /// <summary>Creates AdaGrad over <paramref name="parameters"/>.</summary>
    public Adagrad(IEnumerable<Parameter<T>> parameters, AdagradOptions? options = null) : base(parameters, options ?? new AdagradOptions()) { }

    /// <inheritdoc/>
    public override string Name => "adagrad";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["sum"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdagradOptions o)
    {
        var sum = state.Slot(Sum, Pointwise.Of<T>(o.InitialAccumulatorValue), out _);
        T step = Pointwise.Of<T>(-(o.LearningRate / (1 + (state.Step - 1) * o.LearningRateDecay)));
        T l2 = Pointwise.Of<T>(o.WeightDecay), eps = Pointwise.Of<T>(o.Eps);
        bool max = o.Maximize, inside = o.EpsInsideSqrt;
        for (int i = 0; i < p.Length; i++)
        {
            T g = Pointwise.Incoming(grad[i], p[i], max, l2);
            sum[i] = Pointwise.AddCMul(sum[i], T.One, g, g);
            p[i] = Pointwise.AddCDiv(p[i], step, g, AdaptiveOptions.Denominator(sum[i], T.One, T.One, eps, inside));
        }
    }
}
