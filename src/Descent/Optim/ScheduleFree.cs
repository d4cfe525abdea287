using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// What the schedule-free optimizers share (Defazio et al. 2024; facebookresearch/schedule_free): three
/// sequences instead of a schedule. The parameters hold <c>y</c>, where gradients are taken; slot
/// <c>z</c> takes the base optimizer's steps; and <c>x</c>, the point to evaluate, is a weighted average of
/// the <c>z</c>s, kept implicitly: <c>y = (1 - beta) z + beta x</c>, so <c>x = y + (1 - 1/beta) (z - y)</c>.
/// </summary>
/// <remarks>
/// <code>
/// lr_k = lr * min(1, k / warmup_steps)             (k = 1, 2, ...)
/// lr_max = max(lr_max, lr_k);   w_k = k^r * lr_max^weight_lr_power;   c_k = w_k / (w_1 + ... + w_k)
/// y = lerp(y, z, c_k) + lr_k (beta (1 - c_k) - 1) g;   z = z - lr_k g
/// </code>
/// where <c>g</c> is the base step's direction (the gradient for SGD, the Adam-normalized gradient for AdamW)
/// plus <c>weight_decay * y</c>. <see cref="Optimizer{T}.Eval"/> puts <c>x</c> into the parameters and
/// <see cref="Optimizer{T}.Train"/> puts <c>y</c> back, copied rather than recomputed (the reference recomputes
/// it by a second interpolation, which rounds): evaluating never changes the training path.
/// </remarks>
public abstract class ScheduleFree<T, TOptions> : Optimizer<T, TOptions>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TOptions : ScheduleFreeOptions
{
    /// <summary>The slot of <c>z</c>.</summary>
    protected const int Z = 0;

    private const int LrMax = 0, WeightSum = 1;
    private readonly Dictionary<string, T[]> _training = new(StringComparer.Ordinal);

    /// <summary>Creates the optimizer.</summary>
    protected ScheduleFree(IEnumerable<Parameter<T>> parameters, TOptions options) : base(parameters, options) { }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> ScalarNames => ["lr_max", "weight_sum"];

    /// <inheritdoc/>
    protected override double[] InitialScalars => [-1.0, 0.0];

    /// <summary>
    /// The step's learning rate (after the built-in warmup) and averaging weight <c>c_k</c>, advancing the
    /// parameter's running maximum and weight sum; and slot <c>z</c>, which starts as a copy of the parameter.
    /// </summary>
    protected (double Lr, double Ckp1) Advance(ReadOnlySpan<T> p, ParameterState<T> state, TOptions o, out Span<T> z)
    {
        long k = state.Step - 1;
        double lr = o.LearningRate * (k < o.WarmupSteps ? (k + 1) / o.WarmupSteps : 1.0);
        double lrMax = state.Scalars[LrMax] = Math.Max(lr, state.Scalars[LrMax]);
        double weight = Math.Pow(k + 1, o.R) * Math.Pow(lrMax, o.WeightLrPower);
        double weightSum = state.Scalars[WeightSum] += weight;
        z = state.Slot(Z, T.Zero, out bool fresh);
        if (fresh) p.CopyTo(z);
        return (lr, weightSum == 0 ? 0 : weight / weightSum);
    }

    /// <inheritdoc/>
    public override bool HasEvaluationPoint => true;

    /// <summary>Puts <c>x = y + (1 - 1/beta) (z - y)</c> into the parameters, keeping <c>y</c> to restore.</summary>
    protected override void EnterEvaluation()
    {
        foreach (var group in Groups)
        {
            T w = T.CreateTruncating(1 - 1 / ((TOptions)group.Options).Interpolation);
            for (int i = 0; i < group.Members.Count; i++)
            {
                var p = group.Members[i].Value.Span;
                if (group.States[i].Peek(Z) is not { } z) continue;   // never stepped: x = y = z
                if (!_training.TryGetValue(group.Members[i].Name, out var y))
                    _training[group.Members[i].Name] = y = new T[p.Length];
                p.CopyTo(y);
                for (int j = 0; j < p.Length; j++) p[j] = Pointwise.Lerp(p[j], z[j], w);
            }
        }
    }

    /// <summary>Restores the training point <c>y</c> that <see cref="EnterEvaluation"/> kept.</summary>
    protected override void LeaveEvaluation()
    {
        foreach (var group in Groups)
            for (int i = 0; i < group.Members.Count; i++)
                if (group.States[i].Peek(Z) is not null && _training.TryGetValue(group.Members[i].Name, out var y))
                    y.CopyTo(group.Members[i].Value.Span);
    }

    /// <summary><see cref="Pointwise.Lerp{T}(T, T, T)"/> lane by lane (for weights in [0, 1]), with <paramref name="weight"/> and <c>1 - weight</c> broadcast.</summary>
    internal static Vector<T> Lerp(Vector<T> start, Vector<T> end, Vector<T> weight, Vector<T> oneMinusWeight, bool fromStart) => fromStart
        ? Numerics.Lanes.Fma(weight, end - start, start)
        : Numerics.Lanes.Fma(-(end - start), oneMinusWeight, end);
}
