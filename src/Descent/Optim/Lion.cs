using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Lion, EvoLved Sign Momentum (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2).</summary>
/// <remarks>
/// <code>
/// g = ±grad
/// p = p * (1 - lr * weight_decay)                 [independent_weight_decay: p * (1 - weight_decay)]
///                                                 [decoupled_weight_decay off: g = ±grad + weight_decay * p instead]
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
    protected override bool ElementWise => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, LionOptions o) =>
        UpdateLoop.Run(p, grad, new Rule(o), state.Slot(ExpAvg));

    /// <summary>The update; slot: the momentum.</summary>
    private readonly struct Rule(LionOptions o) : IUpdateRule<T>
    {
        private readonly Vector<T> lr = Pointwise.Broadcast<T>(-o.LearningRate);
        private readonly Vector<T> b1 = Pointwise.Broadcast<T>(o.Beta1), c1 = Pointwise.Broadcast<T>(1 - o.Beta1);
        private readonly Vector<T> b2 = Pointwise.Broadcast<T>(o.Beta2), c2 = Pointwise.Broadcast<T>(1 - o.Beta2);
        private readonly Decay<T> decay = new(o);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> s1, ref Vector<T> s2)
        {
            var w = decay.Apply(p, grad, out var g);
            var updated = Pointwise.AddScaled(w, lr, Pointwise.Sign(Pointwise.Ema(m, g, b1, c1)));
            m = Pointwise.Ema(m, g, b2, c2);
            return updated;
        }
    }
}
