using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Resilient backpropagation (Riedmiller and Braun 1993; PyTorch's <c>torch.optim.Rprop</c>): per-coordinate steps that grow while the gradient keeps its sign.</summary>
/// <remarks>
/// <code>
/// g = ±grad;   s = sign(g * prev)
/// step = clamp(step * (etaplus if s > 0, etaminus if s &lt; 0, else 1), step_size_min, step_size_max)   (step starts at lr)
/// g = 0 where the sign flipped
/// p = p - sign(g) * step;   prev = g
/// </code>
/// </remarks>
public sealed class Rprop<T> : Optimizer<T, RpropOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Prev = 0, StepSize = 1;

    /// <summary>Creates Rprop over <paramref name="parameters"/>.</summary>
    public Rprop(IEnumerable<Parameter<T>> parameters, RpropOptions? options = null) : base(parameters, options ?? new RpropOptions()) { }

    /// <inheritdoc/>
    protected override bool ElementWise => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["prev", "step_size"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, RpropOptions o) =>
        UpdateLoop.Run(p, grad, new Rule(o), state.Slot(Prev), state.Slot(StepSize, Pointwise.Of<T>(o.LearningRate), out _));

    /// <summary>The update; slots: the previous gradient and the per-coordinate step sizes.</summary>
    private readonly struct Rule(RpropOptions o) : IUpdateRule<T>
    {
        private readonly Vector<T> plus = Pointwise.Broadcast<T>(o.EtaPlus), minus = Pointwise.Broadcast<T>(o.EtaMinus);
        private readonly Vector<T> min = Pointwise.Broadcast<T>(o.StepSizeMin), max = Pointwise.Broadcast<T>(o.StepSizeMax);
        private readonly Decay<T> decay = new((OptimizerOptions)o);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> prev, ref Vector<T> step, ref Vector<T> s2)
        {
            decay.Apply(p, grad, out var g);
            var s = g * prev;
            var factor = Vector.ConditionalSelect(Vector.GreaterThan(s, Vector<T>.Zero), plus,
                Vector.ConditionalSelect(Vector.LessThan(s, Vector<T>.Zero), minus, Vector<T>.One));
            step = Vector.Min(Vector.Max(step * factor, min), max);                                  // clamp_(min, max)
            g = Vector.ConditionalSelect(Vector.Equals(factor, minus), Vector<T>.Zero, g);           // torch zeroes where the factor is etaminus
            prev = g;
            return Pointwise.AddCMul(p, -Vector<T>.One, Pointwise.Sign(g), step);
        }
    }
}
