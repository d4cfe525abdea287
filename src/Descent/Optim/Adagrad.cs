using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>AdaGrad (Duchi et al. 2011; PyTorch's <c>torch.optim.Adagrad</c>): per-coordinate steps scaled by the accumulated squared gradients.</summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p              [decoupled_weight_decay: p = p * (1 - lr * weight_decay), g = ±grad]
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
    protected override bool ElementWise => true;

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
        private readonly Vector<T> step = Pointwise.Broadcast<T>(step);
        private readonly Decay<T> decay = new(o);
        private readonly Denominator<T> denominator = new(o);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> sum, ref Vector<T> s1, ref Vector<T> s2)
        {
            var w = decay.Apply(p, grad, out var g);
            sum = Pointwise.AddCMul(sum, Vector<T>.One, g, g);
            return Pointwise.AddCDiv(w, step, g, denominator.Of(sum));
        }
    }
}
