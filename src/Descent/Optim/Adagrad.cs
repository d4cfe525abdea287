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
        UpdateLoop.Run(p, grad, new Rule(o, -(o.LearningRate / (1 + (state.Step - 1) * o.LearningRateDecay))), sum);
    }

    /// <summary>The update with the step's coefficients; slot: the sum of squared gradients.</summary>
    private readonly struct Rule(AdagradOptions o, double step) : IUpdateRule<T>
    {
        private readonly Vector<T> step = Pointwise.Broadcast<T>(step), l2 = Pointwise.Broadcast<T>(o.WeightDecay), eps = Pointwise.Broadcast<T>(o.Eps);
        private readonly bool hasL2 = o.WeightDecay != 0, maximize = o.Maximize, inside = o.EpsInsideSqrt;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> sum, ref Vector<T> s1, ref Vector<T> s2)
        {
            var g = Pointwise.Incoming(grad, p, maximize, hasL2, l2);
            sum = Pointwise.AddCMul(sum, Vector<T>.One, g, g);
            return Pointwise.AddCDiv(p, step, g, AdaptiveOptions.Denominator(sum, Vector<T>.One, Vector<T>.One, eps, inside));
        }
    }
}
