using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Schedule-free SGD (Defazio et al. 2024, "The Road Less Scheduled"; <c>schedulefree.SGDScheduleFree</c>):
/// SGD steps on <c>z</c>, gradients taken at an interpolation <c>y</c> of <c>z</c> and their running average
/// <c>x</c>, which is the model to evaluate (<see cref="Optimizer{T}.Eval"/>). No learning-rate schedule is needed.
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * y
/// y = lerp(y, z, c_k) + lr_k (momentum (1 - c_k) - 1) g;   z = z - lr_k g
/// </code>
/// with <c>lr_k</c> and <c>c_k</c> as in <see cref="ScheduleFree{T, TOptions}"/>.
/// </remarks>
public sealed class ScheduleFreeSgd<T> : ScheduleFree<T, ScheduleFreeSgdOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates schedule-free SGD over <paramref name="parameters"/>.</summary>
    public ScheduleFreeSgd(IEnumerable<Parameter<T>> parameters, ScheduleFreeSgdOptions? options = null) : base(parameters, options ?? new ScheduleFreeSgdOptions()) { }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["z"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, ScheduleFreeSgdOptions o)
    {
        var (lr, ckp1) = Advance(p, state, o, out var z);
        UpdateLoop.Run(p, grad, new Rule(o, lr, ckp1), z);
    }

    /// <summary>The update; slot: <c>z</c>.</summary>
    private readonly struct Rule(ScheduleFreeSgdOptions o, double lr, double ckp1) : IUpdateRule<T>
    {
        private readonly Vector<T> wd = Pointwise.Broadcast<T>(o.WeightDecay), c = Pointwise.Broadcast<T>(ckp1), oneMinusC = Pointwise.Broadcast<T>(1 - ckp1);
        private readonly Vector<T> yStep = Pointwise.Broadcast<T>(lr * (o.Momentum * (1 - ckp1) - 1)), zStep = Pointwise.Broadcast<T>(-lr);
        private readonly bool decay = o.WeightDecay != 0, maximize = o.Maximize, fromStart = ckp1 < 0.5;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> y, Vector<T> grad, ref Vector<T> z, ref Vector<T> s1, ref Vector<T> s2)
        {
            var g = maximize ? -grad : grad;
            if (decay) g = Pointwise.AddScaled(g, wd, y);
            var next = Pointwise.AddScaled(Lerp(y, z, c, oneMinusC, fromStart), yStep, g);
            z = Pointwise.AddScaled(z, zStep, g);
            return next;
        }
    }
}
