using System.Numerics;
using Descent.Nn;
using Descent.Numerics;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Shampoo (Gupta et al. 2018; Anil et al. 2020) as facebookresearch/optimizers' <c>DistributedShampoo</c> computes it on
/// one device, with its default root-inverse preconditioner (<c>RootInvShampooPreconditionerConfig</c> with
/// <c>EigenConfig</c>) and Adam grafting: every block of a parameter keeps one Kronecker factor per dimension and
/// is preconditioned by their inverse roots, with the step length of Adam's direction.
/// </summary>
/// <remarks>
/// <code>
/// blocks: squeeze size-1 dimensions, merge adjacent ones (from the last) while the product stays within
///         max_preconditioner_dim, split every dimension into chunks of max_preconditioner_dim
/// g = ±grad (+ wd p with L2 decay)
/// per block, per dimension k:  L_k = beta2 L_k + (1 - beta2) G_(k) G_(k)^T      [beta2 = 1: L_k += G_(k) G_(k)^T]
/// grafting:  v = gb2 v + (1 - gb2) g^2                                      [gb2 = 1: v += g^2]
/// every precondition_frequency steps from start_preconditioning_step:
///     X_k = (L_k / (1 - beta2^t) + epsilon I)^(-1/(2 order))   by eigh, a negative smallest eigenvalue lifted to 0 first
/// F = lerp(F, g, 1 - beta1);  gbar = F / (1 - beta1^t)                  [beta3 != beta1: gbar from lerp(F_old, g, 1 - beta3)]
/// A = gbar / (sqrt(v / (1 - gb2^t)) + grafting_epsilon)                 (Adam's direction)
/// P = A before start_preconditioning_step, else gbar x_k X_k scaled to |A| / (|gbar x_k X_k| + 1e-16) per block
/// p -= lr (P + wd p)   (decoupled decay; the reference's default)
/// </code>
/// The reference keeps its factors in float32 by default; here factors and roots are float64 whatever
/// <typeparamref name="T"/> is (the reference's <c>factor_matrix_dtype=torch.float64</c>), and are saved with the state.
/// Not carried over: distributed and dtype settings, momentum and iterate averaging (off by default there), other
/// preconditioner kinds (SOAP is <see cref="Soap{T}"/>), trace scaling, per-order inverse exponents.
/// </remarks>
public sealed class Shampoo<T> : Optimizer<T, ShampooOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int FilteredGrad = 0, GraftingSecondMoment = 1;

    /// <summary>One block of a parameter: its shape, where its elements sit in the parameter, its factors and their inverse roots.</summary>
    private sealed record Block(int[] Dims, int[] Index, double[][] Factors, double[][] Roots);

    private readonly Dictionary<ParameterState<T>, Block[]> _blocks = [];
    private readonly double[] _g, _gbar, _graft, _b, _p, _scratch;
    private readonly Kronecker.Scratch _matrices = new();

    /// <summary>Creates Shampoo over <paramref name="parameters"/>.</summary>
    public Shampoo(IEnumerable<Parameter<T>> parameters, ShampooOptions? options = null) : base(parameters, options ?? new ShampooOptions())
    {
        int largest = AllParameters().Select(p => p.Length).DefaultIfEmpty(0).Max();
        (_g, _gbar, _graft) = (new double[largest], new double[largest], new double[largest]);
        (_b, _p, _scratch) = (new double[largest], new double[largest], new double[largest]);
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["filtered_grad", "grafting_exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, ShampooOptions o)
    {
        int n = p.Length;
        long t = state.Step;
        if (!_blocks.TryGetValue(state, out var blocks)) _blocks[state] = blocks = Create(state.Shape, o);
        var g = _g.AsSpan(0, n);
        double sign = o.Maximize ? -1 : 1, l2 = o.DecoupledWeightDecay ? 0 : o.WeightDecay;
        for (int i = 0; i < n; i++)
        {
            g[i] = sign * double.CreateTruncating(grad[i]);
            if (l2 != 0) g[i] = Math.FusedMultiplyAdd(l2, double.CreateTruncating(p[i]), g[i]);
        }

        // The factors, then (when due) their inverse roots.
        double weight = o.Beta2 == 1 ? 1 : 1 - o.Beta2;
        double factorCorrection = o.UseBiasCorrection && o.Beta2 < 1 ? 1 - Math.Pow(o.Beta2, t) : 1;
        long start = o.Start;
        bool recompute = t % (long)o.PreconditionFrequency == 0 && t > start || t == start;
        foreach (var block in blocks)
        {
            var gb = Gather(g, block, _b);
            for (int k = 0; k < block.Dims.Length; k++)
            {
                int d = block.Dims[k];
                var outer = _matrices.For(d).A;
                Kronecker.Gram(gb, block.Dims, k, outer);
                var factor = block.Factors[k];
                for (int i = 0; i < d * d; i++)
                    factor[i] = Math.FusedMultiplyAdd(weight, outer[i], o.Beta2 == 1 ? factor[i] : factor[i] * o.Beta2);
                if (recompute) InverseRoot(factor, d, factorCorrection, 2 * block.Dims.Length, o.Epsilon, block.Roots[k]);
            }
        }

        // The gradient's moving average, and Adam's (or AdaGrad's) direction for grafting.
        var gbar = _gbar.AsSpan(0, n);
        if (o.Beta1 != 0)
        {
            var f = state.Slot(FilteredGrad);
            double beta3 = o.Beta3 < 0 ? o.Beta1 : o.Beta3;
            double correction = o.UseBiasCorrection ? 1 - beta3 * Math.Pow(o.Beta1, t - 1) : 1;
            for (int i = 0; i < n; i++)
            {
                double old = double.CreateTruncating(f[i]);
                f[i] = T.CreateTruncating(Pointwise.Lerp(old, g[i], 1 - o.Beta1));
                gbar[i] = (beta3 != o.Beta1 ? Pointwise.Lerp(old, g[i], 1 - beta3) : double.CreateTruncating(f[i])) / correction;
            }
        }
        else g.CopyTo(gbar);
        var graft = _graft.AsSpan(0, n);
        if (o.Grafting)
        {
            var v = state.Slot(GraftingSecondMoment);
            bool adagrad = o.GraftingBeta2 == 1;
            T decay = T.CreateTruncating(o.GraftingBeta2), gweight = T.CreateTruncating(adagrad ? 1 : 1 - o.GraftingBeta2);
            double correction = adagrad ? 1 : 1 - Math.Pow(o.GraftingBeta2, t);
            for (int i = 0; i < n; i++)
            {
                T gi = T.CreateTruncating(g[i]);
                v[i] = T.FusedMultiplyAdd(gweight * gi, gi, adagrad ? v[i] : v[i] * decay);
                graft[i] = gbar[i] / (Math.Sqrt(double.CreateTruncating(v[i]) / correction) + o.GraftingEpsilon);
            }
        }

        // Each block's direction: grafting's before preconditioning starts, else Shampoo's with grafting's length.
        bool graftOnly = t < start && o.Grafting;
        double decoupled = o.DecoupledWeightDecay ? o.WeightDecay : 0;
        foreach (var block in blocks)
        {
            var direction = _p.AsSpan(0, block.Index.Length);
            if (graftOnly) Gather(graft, block, _p);
            else
            {
                Kronecker.Apply(Gather(gbar, block, _b), direction, _scratch.AsSpan(0, direction.Length), block.Dims, block.Roots, transpose: true);
                if (o.Grafting)
                {
                    double scale = Norm(Gather(graft, block, _b)) / (Norm(direction) + 1e-16);
                    for (int i = 0; i < direction.Length; i++) direction[i] *= scale;
                }
            }
            for (int i = 0; i < direction.Length; i++)
            {
                int j = block.Index[i];
                double step = direction[i];
                if (decoupled != 0) step = Math.FusedMultiplyAdd(decoupled, double.CreateTruncating(p[j]), step);
                p[j] += T.CreateTruncating(-o.LearningRate * step);
            }
        }
    }

    /// <summary>The blocks of a parameter of <paramref name="shape"/>, with zero factors and identity roots.</summary>
    private static Block[] Create(IReadOnlyList<int> shape, ShampooOptions o)
    {
        int max = (int)Math.Min(o.MaxPreconditionerDim, int.MaxValue);
        var dims = MergeSmallDims(shape, max);
        var chunks = dims.Select(d => Enumerable.Range(0, (d + max - 1) / max).Select(c => (Start: c * max, Length: Math.Min(max, d - c * max))).ToArray()).ToArray();
        var blocks = new List<Block>();
        foreach (var choice in Cartesian(chunks))
        {
            int[] blockDims = [.. choice.Select(c => c.Length)];
            var index = new int[Kronecker.Count(blockDims)];
            for (int e = 0; e < index.Length; e++)
            {
                // Row-major position e in the block -> row-major position in the merged tensor (the parameter's own order).
                int rest = e, flat = 0, stride = 1;
                for (int k = dims.Length - 1; k >= 0; k--)
                {
                    flat += (choice[k].Start + rest % blockDims[k]) * stride;
                    rest /= blockDims[k];
                    stride *= dims[k];
                }
                index[e] = flat;
            }
            blocks.Add(new Block(blockDims, index, [.. blockDims.Select(d => new double[d * d])], [.. blockDims.Select(Identity)]));
        }
        return [.. blocks];
    }

    private static IEnumerable<(int Start, int Length)[]> Cartesian((int Start, int Length)[][] chunks)
    {
        IEnumerable<(int Start, int Length)[]> result = [[]];
        foreach (var options in chunks)
            result = result.SelectMany(prefix => options.Select(c => prefix.Append(c).ToArray()));
        return result;
    }

    private static double[] Identity(int d)
    {
        var m = new double[d * d];
        for (int i = 0; i < d; i++) m[i * d + i] = 1;
        return m;
    }

    /// <summary>
    /// The reference's <c>merge_small_dims</c> with its default target of one dimension: dimensions of size 1 are dropped,
    /// then, from the last, each is merged into the one after it while the product stays within <paramref name="max"/>
    /// (<c>[1, 2, 5, 1]</c> with 10: <c>[10]</c>; <c>[32, 3, 64, 64]</c> with 8192: <c>[96, 4096]</c>).
    /// </summary>
    internal static int[] MergeSmallDims(IReadOnlyList<int> shape, int max)
    {
        if (shape.Contains(0)) return [0];
        var squeezed = shape.Reverse().Where(d => d != 1).DefaultIfEmpty(1).ToList();
        var merged = new List<int> { squeezed[0] };
        for (int i = 1; i < squeezed.Count; i++)
        {
            bool aboveTarget = merged.Count + squeezed.Count - i > 1;
            if (aboveTarget && (long)merged[^1] * squeezed[i] <= max) merged[^1] *= squeezed[i];
            else merged.Add(squeezed[i]);
        }
        merged.Reverse();
        return [.. merged];
    }

    /// <summary>
    /// <c>(A / correction + epsilon I)^(-1/root)</c> by eigendecomposition, as the reference's <c>matrix_inverse_root</c>
    /// with <c>EigenConfig</c>: when the smallest eigenvalue is below epsilon, every eigenvalue is lifted by minus it, then
    /// by epsilon, so the matrix is positive definite even if rounding made it indefinite.
    /// </summary>
    private void InverseRoot(double[] factor, int d, double correction, int root, double epsilon, double[] result)
    {
        var (a, vectors, values) = _matrices.For(d);
        for (int i = 0; i < d * d; i++) a[i] = factor[i] / correction;
        for (int i = 0; i < d; i++) a[i * d + i] += epsilon;
        Linalg.Eigh(a, d, values, vectors, values.AsSpan(d));
        double min = values[0];   // ascending
        for (int j = 0; j < d; j++)
        {
            double lambda = values[j];
            if (min < epsilon) lambda = lambda + -min + epsilon;
            values[j] = Math.Pow(lambda, -1.0 / root);
        }
        for (int r = 0; r < d; r++)
            for (int c = 0; c < d; c++)
            {
                double sum = 0;
                for (int j = 0; j < d; j++) sum += vectors[r * d + j] * values[j] * vectors[c * d + j];
                result[r * d + c] = sum;
            }
    }

    private static Span<double> Gather(ReadOnlySpan<double> source, Block block, double[] into)
    {
        var span = into.AsSpan(0, block.Index.Length);
        for (int i = 0; i < span.Length; i++) span[i] = source[block.Index[i]];
        return span;
    }

    private static double Norm(ReadOnlySpan<double> x)
    {
        double sum = 0;
        foreach (double v in x) sum += v * v;
        return Math.Sqrt(sum);
    }


    /// <inheritdoc/>
    protected override void SaveRule(StateDict state, string prefix)
    {
        base.SaveRule(state, prefix);
        foreach (var p in AllParameters())
            if (_blocks.TryGetValue(StateOf(p.Name), out var blocks))
                for (int b = 0; b < blocks.Length; b++)
                    for (int k = 0; k < blocks[b].Dims.Length; k++)
                    {
                        state.Set($"{prefix}.shampoo.{p.Name}.{b}.factor.{k}", blocks[b].Factors[k]);
                        state.Set($"{prefix}.shampoo.{p.Name}.{b}.inverse_root.{k}", blocks[b].Roots[k]);
                    }
    }

    /// <inheritdoc/>
    protected override void LoadRule(StateDict state, string prefix)
    {
        base.LoadRule(state, prefix);
        _blocks.Clear();
        foreach (var group in Groups)
            for (int i = 0; i < group.Members.Count; i++)
            {
                var s = group.States[i];
                if (s.Step == 0) continue;
                var blocks = Create(s.Shape, (ShampooOptions)group.Options);
                string name = group.Members[i].Name;
                for (int b = 0; b < blocks.Length; b++)
                    for (int k = 0; k < blocks[b].Dims.Length; k++)
                    {
                        state.CopyTo<double>($"{prefix}.shampoo.{name}.{b}.factor.{k}", blocks[b].Factors[k]);
                        state.CopyTo<double>($"{prefix}.shampoo.{name}.{b}.inverse_root.{k}", blocks[b].Roots[k]);
                    }
                _blocks[s] = blocks;
            }
    }
}
