using System.Numerics;
using Descent.Nn;
using Descent.Numerics;

namespace Descent.Optim;

/// <summary>Adam (Kingma and Ba 2015) and AMSGrad (PyTorch's <c>torch.optim.Adam</c>).</summary>
/// <remarks>
/// <code>
/// p = p * (1 - lr * weight_decay)                   if decoupled_weight_decay (AdamW)
/// g = ±grad + weight_decay * p                      otherwise (L2)
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g * g
/// vmax = max(vmax, v);  v = vmax                    if amsgrad
/// p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
///                        [eps_inside_sqrt: m / sqrt(v / (1 - beta2^t) + eps)]
/// </code>
/// </remarks>
public class Adam<T> : Optimizer<T, AdamOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1, MaxExpAvgSq = 2;

    /// <summary>Creates Adam over <paramref name="parameters"/>.</summary>
    public Adam(IEnumerable<Parameter<T>> parameters, AdamOptions? options = null) : base(parameters, options ?? new AdamOptions()) { }

    /// <inheritdoc/>
    public override string Name => "adam";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdamOptions o)
    {
        var m = state.Slot(ExpAvg);
        var v = state.Slot(ExpAvgSq);
        var vMax = o.Amsgrad ? state.Slot(MaxExpAvgSq) : [];
        double bc2 = Pointwise.BiasCorrection(o.Beta2, state.Step);
        var k = new Constants(o, -(o.LearningRate / Pointwise.BiasCorrection(o.Beta1, state.Step)), bc2);
        // One vector body for every element: whole vectors in place, the tail through one padded vector.
        var vp = Lanes.Whole(p, out int tail);
        var vg = System.Runtime.InteropServices.MemoryMarshal.Cast<T, Vector<T>>(grad[..(vp.Length * Vector<T>.Count)]);
        var vm = Lanes.Whole(m, out _);
        var vv = Lanes.Whole(v, out _);
        var vx = o.Amsgrad ? Lanes.Whole(vMax, out _) : [];
        for (int i = 0; i < vp.Length; i++)
        {
            var x = o.Amsgrad ? vx[i] : default;
            vp[i] = Body(vp[i], vg[i], ref vm[i], ref vv[i], ref x, k);
            if (o.Amsgrad) vx[i] = x;
        }
        if (tail == 0) return;
        Vector<T> tp = Lanes.LoadTail<T>(p, tail), tm = Lanes.LoadTail<T>(m, tail), tv = Lanes.LoadTail<T>(v, tail);
        Vector<T> tx = o.Amsgrad ? Lanes.LoadTail<T>(vMax, tail) : default;
        tp = Body(tp, Lanes.LoadTail(grad, tail), ref tm, ref tv, ref tx, k);
        Lanes.StoreTail(p, tail, tp);
        Lanes.StoreTail(m, tail, tm);
        Lanes.StoreTail(v, tail, tv);
        if (o.Amsgrad) Lanes.StoreTail(vMax, tail, tx);
    }

    /// <summary>The update of one vector of elements; returns the new parameters.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Body(Vector<T> p, Vector<T> grad, ref Vector<T> m, ref Vector<T> v, ref Vector<T> vMax, in Constants k)
    {
        var w = p * k.Shrink;
        var g = k.Maximize ? -grad : grad;
        if (k.HasL2) g = Lanes.Fma(k.L2, w, g);                    // g + wd * p
        m = Lanes.Fma(k.C1, g, m * k.B1);                          // m * b1 + (1 - b1) g
        v = Lanes.Fma(k.C2 * g, g, v * k.B2);                      // v * b2 + (1 - b2) g g
        var denominatorSource = v;
        if (k.Amsgrad) denominatorSource = vMax = Vector.Max(vMax, v);
        var d = k.Inside
            ? Vector.SquareRoot(denominatorSource / k.Corr + k.Eps)
            : Vector.SquareRoot(denominatorSource) / k.SqrtCorr + k.Eps;
        return w + k.Step * m / d;                                 // p - lr / (1 - b1^t) * m / d
    }

    /// <summary>The step's coefficients, broadcast to vectors once.</summary>
    private readonly struct Constants(AdamOptions o, double step, double bc2)
    {
        public readonly Vector<T> Step = new(Pointwise.Of<T>(step));
        public readonly Vector<T> Corr = new(Pointwise.Of<T>(bc2));
        public readonly Vector<T> SqrtCorr = new(Pointwise.Of<T>(Math.Sqrt(bc2)));
        public readonly Vector<T> Eps = new(Pointwise.Of<T>(o.Eps));
        public readonly Vector<T> B1 = new(Pointwise.Of<T>(o.Beta1));
        public readonly Vector<T> C1 = new(Pointwise.Of<T>(1 - o.Beta1));
        public readonly Vector<T> B2 = new(Pointwise.Of<T>(o.Beta2));
        public readonly Vector<T> C2 = new(Pointwise.Of<T>(1 - o.Beta2));
        public readonly Vector<T> L2 = new(Pointwise.Of<T>(o.L2));
        public readonly Vector<T> Shrink = new(Pointwise.Of<T>(o.DecoupledFactor));
        public readonly bool HasL2 = o.L2 != 0;
        public readonly bool Maximize = o.Maximize;
        public readonly bool Amsgrad = o.Amsgrad;
        public readonly bool Inside = o.EpsInsideSqrt;
    }
}
