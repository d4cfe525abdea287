using System.Numerics;
using Descent.Nn;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Prodigy (Mishchenko and Defazio 2024, "Prodigy: An Expeditiously Adaptive Parameter-Free Learner";
/// konstmish/prodigy): Adam whose step size is <c>d lr</c>, with <c>d</c>, an estimate of the distance to the
/// solution, grown from <c>d0</c> by correlating gradients with the distance travelled. Leave <c>lr</c> at 1.
/// </summary>
/// <remarks>
/// <code>
/// dlr = d lr [sqrt(1-b2^t)/(1-b1^t) with use_bias_correction];   g = ±grad (+ wd p when not decoupled)
/// numerator = b3 numerator + sum (d/d0) dlr g.(p0 - p)           (p0: the parameters at the first step)
/// m = b1 m + d (1-b1) g;   v = b2 v + d^2 (1-b2) g^2;   s = b3 s + (d/d0) dlr g   [safeguard_warmup: (d/d0) d g]
/// d_hat = d_coef numerator / sum |s|;   d = max(d, d_hat) while d = d0;   d_max = max(d_max, d_hat);   d = min(d_max, d growth_rate)
/// p -= wd dlr p (decoupled);   p -= dlr m / (sqrt(v) + d eps)     [b1 = 0: p -= dlr d g / (sqrt(v) + d eps)]
/// </code>
/// <c>d</c> is one number for all parameters, so Prodigy takes one parameter group; it is saved with the state.
/// </remarks>
public sealed class Prodigy<T> : Optimizer<T, ProdigyOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int P0 = 0, S = 1, ExpAvg = 2, ExpAvgSq = 3;
    private double _d = double.NaN, _dMax, _numerator;

    /// <summary>Creates Prodigy over <paramref name="parameters"/>.</summary>
    public Prodigy(IEnumerable<Parameter<T>> parameters, ProdigyOptions? options = null) : base(parameters, options ?? new ProdigyOptions()) { }

    /// <summary>The current estimate D of the distance to the solution (<c>d0</c> before the first step).</summary>
    public double D => double.IsNaN(_d) ? OptionsOf().D0 : _d;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["p0", "s", "exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override string? OneGroupOnly => "Prodigy estimates one D for all parameters: use one parameter group.";

    /// <inheritdoc/>
    protected override void Update(Span<T> param, ReadOnlySpan<T> grad, ParameterState<T> state, ProdigyOptions options) =>
        throw new InvalidOperationException("Prodigy updates all parameters together from one estimate of D.");

    /// <inheritdoc/>
    protected override void StepCore()
    {
        long t = BeginStep();
        var o = OptionsOf();
        var group = Groups[0];
        if (double.IsNaN(_d)) (_d, _dMax) = (o.D0, o.D0);
        double d = _d, b1 = o.Beta1, b2 = o.Beta2, b3 = o.Beta3 == 0 ? Math.Sqrt(o.Beta2) : o.Beta3;
        double correction = o.UseBiasCorrection ? Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t)) : 1;
        double dlr = d * o.LearningRate * correction;
        double l2 = o.Decouple ? 0 : o.WeightDecay, sign = o.Maximize ? -1 : 1;
        double sScale = (d / o.D0) * (o.SafeguardWarmup ? d : dlr);
        T tb1 = T.CreateTruncating(b1), tb2 = T.CreateTruncating(b2), tb3 = T.CreateTruncating(b3), tl2 = T.CreateTruncating(l2), tsign = T.CreateTruncating(sign);
        T mScale = T.CreateTruncating(d * (1 - b1)), vScale = T.CreateTruncating(d * d * (1 - b2)), ts = T.CreateTruncating(sScale);
        double delta = 0, denominator = 0;
        for (int i = 0; i < group.Members.Count; i++)
        {
            var p = group.Members[i].Value.Span;
            var grad = group.Members[i].Grad.Span;
            var state = group.States[i];
            var p0 = state.Slot(P0, T.Zero, out bool fresh);
            if (fresh) p.CopyTo(p0);
            var s = state.Slot(S);
            var m = state.Slot(ExpAvg);
            var v = state.Slot(ExpAvgSq);
            T dot = T.Zero, abs = T.Zero;
            for (int j = 0; j < p.Length; j++)
            {
                T g = tsign * grad[j] + tl2 * p[j];
                dot += g * (p0[j] - p[j]);
                m[j] = m[j] * tb1 + mScale * g;
                v[j] = v[j] * tb2 + vScale * g * g;
                s[j] = s[j] * tb3 + ts * g;
                abs += T.Abs(s[j]);
            }
            delta += (d / o.D0) * dlr * double.CreateTruncating(dot);
            denominator += double.CreateTruncating(abs);
        }
        if (denominator == 0) return;   // no gradient yet: the reference returns before counting the step
        _numerator = _numerator * b3 + delta;
        double dHat = o.DCoef * _numerator / denominator;
        if (d == o.D0) d = Math.Max(d, dHat);
        _dMax = Math.Max(_dMax, dHat);
        _d = d = Math.Min(_dMax, o.GrowthRate == 0 ? double.PositiveInfinity : d * o.GrowthRate);
        T decay = T.CreateTruncating(-o.WeightDecay * dlr), step = T.CreateTruncating(-dlr), dEps = T.CreateTruncating(d * o.Eps);
        T plain = T.CreateTruncating(-dlr * d);
        bool decoupled = o.Decouple && o.WeightDecay != 0, momentum = b1 > 0;
        for (int i = 0; i < group.Members.Count; i++)
        {
            var p = group.Members[i].Value.Span;
            var grad = group.Members[i].Grad.Span;
            var state = group.States[i];
            state.Step++;
            var m = state.Slot(ExpAvg);
            var v = state.Slot(ExpAvgSq);
            for (int j = 0; j < p.Length; j++)
            {
                T denom = T.Sqrt(v[j]) + dEps;
                if (decoupled) p[j] += decay * p[j];
                p[j] += momentum ? step * m[j] / denom : plain * (tsign * grad[j] + tl2 * p[j]) / denom;
            }
        }
        EndStep(t);
    }

    /// <inheritdoc/>
    protected override void SaveRule(StateDict state, string prefix)
    {
        base.SaveRule(state, prefix);
        state.Set($"{prefix}.prodigy.d", D);
        state.Set($"{prefix}.prodigy.d_max", double.IsNaN(_d) ? OptionsOf().D0 : _dMax);
        state.Set($"{prefix}.prodigy.d_numerator", _numerator);
    }

    /// <inheritdoc/>
    protected override void LoadRule(StateDict state, string prefix)
    {
        base.LoadRule(state, prefix);
        _d = state.GetDouble($"{prefix}.prodigy.d");
        _dMax = state.GetDouble($"{prefix}.prodigy.d_max");
        _numerator = state.GetDouble($"{prefix}.prodigy.d_numerator");
    }
}
