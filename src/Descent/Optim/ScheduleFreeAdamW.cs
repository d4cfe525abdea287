using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Schedule-free AdamW (Defazio et al. 2024; <c>schedulefree.AdamWScheduleFree</c>, the self-tuning winner of
/// AlgoPerf v0.5): Adam-normalized steps on <c>z</c>, gradients at <c>y</c>, evaluation at the average <c>x</c>.
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad;   v = beta2 v + (1 - beta2) g^2;   d = sqrt(v / (1 - beta2^k)) + eps
/// n = g / d      [inner_momentum: m = im m + (1 - im) g;  n = m / (1 - im^k) / d]
/// n = n + weight_decay * y
/// y = lerp(y, z, c_k) + lr_k (beta1 (1 - c_k) - 1) n;   z = z - lr_k n
/// </code>
/// with <c>lr_k</c> and <c>c_k</c> as in <see cref="ScheduleFree{T, TOptions}"/>; <c>beta1</c> is the
/// interpolation, not a moment.
/// </remarks>
public sealed class ScheduleFreeAdamW<T> : ScheduleFree<T, ScheduleFreeAdamWOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvgSq = 1, ExpAvg = 2;

    /// <summary>Creates schedule-free AdamW over <paramref name="parameters"/>.</summary>
    public ScheduleFreeAdamW(IEnumerable<Parameter<T>> parameters, ScheduleFreeAdamWOptions? options = null) : base(parameters, options ?? new ScheduleFreeAdamWOptions()) { }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["z", "exp_avg_sq", "exp_avg"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, ScheduleFreeAdamWOptions o)
    {
        var (lr, ckp1) = Advance(p, state, o, out var z);
        var rule = new Rule(o, lr, ckp1, state.Step);
        if (o.InnerMomentum == 0) UpdateLoop.Run(p, grad, rule, z, state.Slot(ExpAvgSq));
        else UpdateLoop.Run(p, grad, rule, z, state.Slot(ExpAvgSq), state.Slot(ExpAvg));
    }

    /// <summary>The update; slots: <c>z</c>, the second moment, and the inner first moment when there is one.</summary>
    private readonly struct Rule(ScheduleFreeAdamWOptions o, double lr, double ckp1, long k) : IUpdateRule<T>
    {
        private readonly Vector<T> b2 = Pointwise.Broadcast<T>(o.Beta2), c2 = Pointwise.Broadcast<T>(1 - o.Beta2);
        private readonly Vector<T> im = Pointwise.Broadcast<T>(o.InnerMomentum), cm = Pointwise.Broadcast<T>(1 - o.InnerMomentum);
        private readonly Vector<T> bc1 = Pointwise.Broadcast<T>(Pointwise.BiasCorrection(o.InnerMomentum, k)), bc2 = Pointwise.Broadcast<T>(Pointwise.BiasCorrection(o.Beta2, k));
        private readonly Vector<T> eps = Pointwise.Broadcast<T>(o.Eps), wd = Pointwise.Broadcast<T>(o.WeightDecay);
        private readonly Vector<T> c = Pointwise.Broadcast<T>(ckp1), oneMinusC = Pointwise.Broadcast<T>(1 - ckp1);
        private readonly Vector<T> yStep = Pointwise.Broadcast<T>(lr * (o.Beta1 * (1 - ckp1) - 1)), zStep = Pointwise.Broadcast<T>(-lr);
        private readonly bool decay = o.WeightDecay != 0, maximize = o.Maximize, inner = o.InnerMomentum != 0, fromStart = ckp1 < 0.5;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> y, Vector<T> grad, ref Vector<T> z, ref Vector<T> v, ref Vector<T> m)
        {
            var g = maximize ? -grad : grad;
            v = Pointwise.EmaOfSquare(v, g, b2, c2);
            var d = Vector.SquareRoot(v / bc2) + eps;
            Vector<T> n;
            if (inner)
            {
                m = Pointwise.Ema(m, g, im, cm);
                n = m / bc1 / d;
            }
            else n = g / d;
            if (decay) n = Pointwise.AddScaled(n, wd, y);
            var next = Pointwise.AddScaled(Lerp(y, z, c, oneMinusC, fromStart), yStep, n);
            z = Pointwise.AddScaled(z, zStep, n);
            return next;
        }
    }
}
