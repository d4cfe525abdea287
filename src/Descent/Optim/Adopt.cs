using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// ADOPT (Taniguchi et al. 2024, "ADOPT: Modified Adam Can Converge with Any beta2 with the Optimal Rate";
/// <c>optax.contrib.adopt</c>): the gradient is normalized by the second moment of the <em>previous</em> steps,
/// before it enters the momentum, so the two are independent.
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad (+ weight decay, L2 or decoupled)      t = 0, 1, ... (updates before this one)
/// t = 0:  v = g^2, and nothing moves
/// t > 0:  n = clip(g / max(sqrt(v), eps), -t^0.25, t^0.25);   v = beta2 v + (1 - beta2) g^2
///         m = beta1 m + (1 - beta1) n;   p = p - lr m     [nesterov: p - lr (beta1 m + (1 - beta1) n)]
/// </code>
/// </remarks>
public sealed class Adopt<T> : Optimizer<T, AdoptOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1;

    /// <summary>Creates ADOPT over <paramref name="parameters"/>.</summary>
    public Adopt(IEnumerable<Parameter<T>> parameters, AdoptOptions? options = null) : base(parameters, options ?? new AdoptOptions()) { }

    /// <inheritdoc/>
    protected override bool ElementWise => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdoptOptions o) =>
        UpdateLoop.Run(p, grad, new Rule(o, state.Step - 1), state.Slot(ExpAvg), state.Slot(ExpAvgSq));

    /// <summary>The update after <paramref name="t"/> earlier ones; slots: the moments.</summary>
    private readonly struct Rule(AdoptOptions o, long t) : IUpdateRule<T>
    {
        private readonly Vector<T> lr = Pointwise.Broadcast<T>(-o.LearningRate), eps = Pointwise.Broadcast<T>(o.Eps);
        private readonly Vector<T> b1 = Pointwise.Broadcast<T>(o.Beta1), c1 = Pointwise.Broadcast<T>(1 - o.Beta1);
        private readonly Vector<T> b2 = Pointwise.Broadcast<T>(o.Beta2), c2 = Pointwise.Broadcast<T>(1 - o.Beta2);
        private readonly Vector<T> clip = Pointwise.Broadcast<T>(Math.Pow(t, 0.25));
        private readonly Decay<T> decay = new(o);
        private readonly bool first = t == 0, clipping = o.UseClipping, nesterov = o.Nesterov;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> v, ref Vector<T> s2)
        {
            var w = decay.Apply(p, grad, out var g);
            if (first)
            {
                v = g * g;
                return w;
            }
            var n = g / Vector.Max(Vector.SquareRoot(v), eps);
            if (clipping) n = Vector.Min(Vector.Max(n, -clip), clip);
            v = Pointwise.EmaOfSquare(v, g, b2, c2);
            m = Pointwise.Ema(m, n, b1, c1);
            return Pointwise.AddScaled(w, lr, nesterov ? Pointwise.Ema(m, n, b1, c1) : m);
        }
    }
}
