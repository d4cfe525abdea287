using System.Numerics;
using Descent.Nn;
using Descent.Numerics;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// SOAP, ShampoO with Adam in the Preconditioner's eigenbasis (Vyas et al. 2024, "SOAP: Improving and Stabilizing
/// Shampoo using Adam"), as nikhilvyas/SOAP's <c>soap.py</c> defines it: each dimension of a parameter keeps a moving
/// average of the gradient's outer products along it (Shampoo's <c>L = G G^T</c> and <c>R = G^T G</c> for a matrix),
/// and Adam runs on the gradient rotated into those matrices' eigenbases.
/// </summary>
/// <remarks>
/// <code>
/// first step:  GG_k = lerp(0, G_(k) G_(k)^T, 1 - shampoo_beta);  Q_k = eigh(GG_k + 1e-30 I), eigenvalues descending;  no update
/// then (t = 1, 2, ...):
///   g' = g x_k Q_k^T (every preconditioned dimension k)          (project; Q^T G Q for a matrix)
///   m = b1 m + (1-b1) g';   v = b2 v + (1-b2) g'^2                 (m and v live in the eigenbasis)
///   u = (m / (sqrt(v) + eps)) x_k Q_k                             (project back) [normalize_grads: u / RMS(u)]
///   p -= lr sqrt(1-b2^t)/(1-b1^t) u;   p -= lr weight_decay p       [correct_bias off: lr]
///   GG_k = lerp(GG_k, G_(k) G_(k)^T, 1 - shampoo_beta)
///   every precondition_frequency steps: sort Q_k's columns by diag(Q_k^T GG_k Q_k) descending (and v with them),
///     Q_k = qr(GG_k Q_k).Q                                        (one power iteration); m follows into the new basis
/// </code>
/// A dimension longer than <c>max_precond_dim</c> is left unrotated; vectors get a preconditioner only with
/// <c>precondition_1d</c>; <c>merge_dims</c> first merges adjacent dimensions while their product stays within
/// <c>max_precond_dim</c>. The preconditioner matrices and eigenbases are kept in double precision whatever
/// <typeparamref name="T"/> is, and saved with the state. Layouts are channels-first (Descent's convolution weights
/// are <c>[out, in, kh, kw]</c>), so the reference's <c>data_format</c> has no counterpart.
/// </remarks>
public sealed class Soap<T> : Optimizer<T, SoapOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int ExpAvg = 0, ExpAvgSq = 1;

    /// <summary>One parameter's preconditioner: its (possibly merged) shape and, per dimension, GG and its eigenbasis Q (null: not preconditioned).</summary>
    private sealed record Preconditioner(int[] Dims, double[]?[] Gg, double[]?[] Q);

    private readonly Dictionary<ParameterState<T>, Preconditioner> _preconditioners = [];
    private readonly double[] _g, _x, _y, _scratch;
    private readonly Kronecker.Scratch _matrices = new();

    /// <summary>Creates SOAP over <paramref name="parameters"/>.</summary>
    public Soap(IEnumerable<Parameter<T>> parameters, SoapOptions? options = null) : base(parameters, options ?? new SoapOptions())
    {
        int largest = AllParameters().Select(p => p.Length).DefaultIfEmpty(0).Max();
        (_g, _x, _y, _scratch) = (new double[largest], new double[largest], new double[largest], new double[largest]);
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["exp_avg", "exp_avg_sq"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, SoapOptions o)
    {
        int n = p.Length;
        var g = _g.AsSpan(0, n);
        double sign = o.Maximize ? -1 : 1;
        for (int i = 0; i < n; i++) g[i] = sign * double.CreateTruncating(grad[i]);
        double shampooBeta = o.ShampooBeta < 0 ? o.Beta2 : o.ShampooBeta;
        if (!_preconditioners.TryGetValue(state, out var pre))
        {
            // The first gradient only starts the preconditioner, so no gradient is ever projected with a basis it built.
            _preconditioners[state] = pre = Create(state.Shape, n, o);
            Accumulate(pre, g, shampooBeta);
            Eigenbases(pre);
            return;
        }
        long t = state.Step - 1;
        var m = state.Slot(ExpAvg);
        var v = state.Slot(ExpAvgSq);
        var projected = _x.AsSpan(0, n);
        var scratch = _scratch.AsSpan(0, n);
        Kronecker.Apply(g, projected, scratch, pre.Dims, pre.Q, transpose: true);
        T b1 = T.CreateTruncating(o.Beta1), b2 = T.CreateTruncating(o.Beta2);
        T c1 = T.CreateTruncating(1 - o.Beta1), c2 = T.CreateTruncating(1 - o.Beta2), eps = T.CreateTruncating(o.Eps);
        var u = _y.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            T gp = T.CreateTruncating(projected[i]);
            m[i] = T.FusedMultiplyAdd(c1, gp, m[i] * b1);
            v[i] = T.FusedMultiplyAdd(c2, gp * gp, v[i] * b2);
            u[i] = double.CreateTruncating(m[i] / (T.Sqrt(v[i]) + eps));
        }
        var update = _x.AsSpan(0, n);
        Kronecker.Apply(u, update, scratch, pre.Dims, pre.Q, transpose: false);
        double stepSize = o.LearningRate;
        if (o.CorrectBias) stepSize *= Math.Sqrt(Pointwise.BiasCorrection(o.Beta2, t)) / Pointwise.BiasCorrection(o.Beta1, t);
        if (o.NormalizeGrads)
        {
            double sum = 0;
            foreach (double x in update) sum += x * x;
            double rms = 1e-30 + Math.Sqrt(sum / n);
            for (int i = 0; i < n; i++) update[i] /= rms;
        }
        T step = T.CreateTruncating(-stepSize), decay = T.CreateTruncating(-o.LearningRate * o.WeightDecay);
        for (int i = 0; i < n; i++)
        {
            p[i] = T.FusedMultiplyAdd(step, T.CreateTruncating(update[i]), p[i]);
            if (o.WeightDecay > 0) p[i] = T.FusedMultiplyAdd(decay, p[i], p[i]);
        }

        // The momentum follows the basis: back to the parameter's coordinates, then into the (possibly refreshed) basis.
        var original = _y.AsSpan(0, n);
        ToDouble(m, projected);
        Kronecker.Apply(projected, original, scratch, pre.Dims, pre.Q, transpose: false);
        Accumulate(pre, g, shampooBeta);
        if (t % (long)o.PreconditionFrequency == 0) RefreshEigenbases(pre, v);
        Kronecker.Apply(original, projected, scratch, pre.Dims, pre.Q, transpose: true);
        for (int i = 0; i < n; i++) m[i] = T.CreateTruncating(projected[i]);
    }

    /// <summary>The preconditioner layout of a parameter of <paramref name="shape"/>, with zero matrices.</summary>
    private static Preconditioner Create(IReadOnlyList<int> shape, int length, SoapOptions o)
    {
        int max = (int)Math.Min(o.MaxPrecondDim, int.MaxValue);
        int[] dims = shape.Count <= 1 ? [length] : o.MergeDims ? MergeDims(shape, max) : [.. shape];
        var gg = new double[]?[dims.Length];
        var q = new double[]?[dims.Length];
        for (int k = 0; k < dims.Length; k++)
        {
            bool preconditioned = dims[k] <= max && (shape.Count > 1 || o.Precondition1d);
            if (!preconditioned) continue;
            gg[k] = new double[dims[k] * dims[k]];
            q[k] = new double[dims[k] * dims[k]];
        }
        return new Preconditioner(dims, gg, q);
    }

    /// <summary>
    /// soap.py's <c>merge_dims</c>: runs of adjacent dimensions are multiplied together while the product stays within
    /// <paramref name="max"/> (<c>[4, 3, 2]</c> with 12: <c>[12, 2]</c>).
    /// </summary>
    internal static int[] MergeDims(IReadOnlyList<int> shape, int max)
    {
        var merged = new List<int>();
        long current = 1;
        foreach (int d in shape)
        {
            long product = current * d;
            if (product > max)
            {
                if (current > 1)
                {
                    merged.Add((int)current);
                    current = d;
                }
                else
                {
                    merged.Add(d);
                    current = 1;
                }
            }
            else current = product;
        }
        if (current > 1 || merged.Count == 0) merged.Add((int)current);
        return [.. merged];
    }

    /// <summary><c>GG_k = lerp(GG_k, G_(k) G_(k)^T, 1 - shampoo_beta)</c> for every preconditioned dimension.</summary>
    private void Accumulate(Preconditioner pre, ReadOnlySpan<double> g, double shampooBeta)
    {
        for (int k = 0; k < pre.Dims.Length; k++)
        {
            if (pre.Gg[k] is not { } gg) continue;
            int d = pre.Dims[k];
            var outer = _matrices.For(d).A;
            Kronecker.Gram(g, pre.Dims, k, outer);
            for (int i = 0; i < d * d; i++) gg[i] = Pointwise.Lerp(gg[i], outer[i], 1 - shampooBeta);
        }
    }

    /// <summary>The first eigenbases: eigenvectors of <c>GG_k + 1e-30 I</c>, largest eigenvalue first.</summary>
    private void Eigenbases(Preconditioner pre)
    {
        for (int k = 0; k < pre.Dims.Length; k++)
        {
            if (pre.Gg[k] is not { } gg) continue;
            int d = pre.Dims[k];
            var (a, vectors, values) = _matrices.For(d);
            gg.CopyTo(a);
            for (int i = 0; i < d; i++) a[i * d + i] += 1e-30;
            Linalg.Eigh(a, d, values, vectors, values.AsSpan(d));
            var q = pre.Q[k]!;
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) q[i * d + j] = vectors[i * d + d - 1 - j];
        }
    }

    /// <summary>
    /// One power iteration per dimension: Q's columns ordered by their Rayleigh quotients <c>diag(Q^T GG Q)</c>, largest
    /// first (the second moment's entries reordered with them), then <c>Q = qr(GG Q).Q</c>.
    /// </summary>
    private void RefreshEigenbases(Preconditioner pre, Span<T> v)
    {
        for (int k = 0; k < pre.Dims.Length; k++)
        {
            if (pre.Gg[k] is not { } gg) continue;
            int d = pre.Dims[k];
            var q = pre.Q[k]!;
            var (a, product, values) = _matrices.For(d);
            product.AsSpan(0, d * d).Clear();
            for (int r = 0; r < d; r++)                       // product = GG Q, row by row
                for (int c = 0; c < d; c++)
                {
                    double x = gg[r * d + c];
                    for (int j = 0; j < d; j++) product[r * d + j] += x * q[c * d + j];
                }
            values.AsSpan(0, d).Clear();
            for (int r = 0; r < d; r++)                       // diag(Q^T GG Q)
                for (int j = 0; j < d; j++) values[j] += q[r * d + j] * product[r * d + j];
            if (_order.Length < d) _order = new int[d];
            var order = _order;
            for (int j = 0; j < d; j++)                       // argsort descending, stable (ties keep their order), by insertion
            {
                int i = j;
                for (; i > 0 && values[order[i - 1]] < values[j]; i--) order[i] = order[i - 1];
                order[i] = j;
            }
            Reorder(v, pre.Dims, k, order);
            for (int r = 0; r < d; r++)                       // a = GG Q[:, order]
                for (int j = 0; j < d; j++) a[r * d + j] = product[r * d + order[j]];
            Linalg.QrQ(a, d, q, values);
        }
    }

    private int[] _order = [];   // the refresh's argsort, grown once to the largest dimension

    /// <summary><c>v = v.index_select(k, order)</c>.</summary>
    private void Reorder(Span<T> v, int[] dims, int k, int[] order)
    {
        int d = dims[k], inner = Kronecker.Count(dims.AsSpan(k + 1)), outer = v.Length / (d * inner);
        var copy = _scratch.AsSpan(0, v.Length);
        ToDouble(v, copy);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < d; j++)
                for (int i = 0; i < inner; i++)
                    v[(o * d + j) * inner + i] = T.CreateTruncating(copy[(o * d + order[j]) * inner + i]);
    }

    private static void ToDouble(ReadOnlySpan<T> source, Span<double> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = double.CreateTruncating(source[i]);
    }


    /// <inheritdoc/>
    protected override void SaveRule(StateDict state, string prefix)
    {
        base.SaveRule(state, prefix);
        foreach (var p in AllParameters())
            if (_preconditioners.TryGetValue(StateOf(p.Name), out var pre))
                for (int k = 0; k < pre.Dims.Length; k++)
                {
                    if (pre.Gg[k] is null) continue;
                    state.Set($"{prefix}.soap.{p.Name}.GG.{k}", pre.Gg[k]!);
                    state.Set($"{prefix}.soap.{p.Name}.Q.{k}", pre.Q[k]!);
                }
    }

    /// <inheritdoc/>
    protected override void LoadRule(StateDict state, string prefix)
    {
        base.LoadRule(state, prefix);
        _preconditioners.Clear();
        foreach (var group in Groups)
            for (int i = 0; i < group.Members.Count; i++)
            {
                var s = group.States[i];
                if (s.Step == 0) continue;
                var pre = Create(s.Shape, s.Length, (SoapOptions)group.Options);
                for (int k = 0; k < pre.Dims.Length; k++)
                {
                    if (pre.Gg[k] is null) continue;
                    state.CopyTo<double>($"{prefix}.soap.{group.Members[i].Name}.GG.{k}", pre.Gg[k]);
                    state.CopyTo<double>($"{prefix}.soap.{group.Members[i].Name}.Q.{k}", pre.Q[k]);
                }
                _preconditioners[s] = pre;
            }
    }
}
