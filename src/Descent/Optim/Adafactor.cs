using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Adafactor (Shazeer and Stern 2018, "Adaptive Learning Rates with Sublinear Memory Cost") as PyTorch 2.5+
/// defines it (<c>torch.optim.Adafactor</c>): a relative step size, and a second moment kept as row and column
/// averages for parameters of two or more dimensions (factored over the last two), in full for vectors.
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad;  w = t^beta2_decay                                   (1 - beta2_t; w = 1 at t = 1)
/// alpha = max(eps2, RMS(p)) * min(lr, 1/sqrt(t))                  (RMS of p before the decay)
/// p = p * (1 - lr * weight_decay)
/// matrix [.., R, C]:  r = lerp(r, mean_c(g^2), w);  c = lerp(c, mean_r(g^2), w)
///                     v = r c / max(mean_r(r), eps1)              (the outer product of the two factors)
/// vector:             v = lerp(v, g^2, w)
/// u = g / sqrt(max(v, eps1^2))
/// p = p - alpha / max(1, RMS(u) / d) * u
/// </code>
/// <c>eps1</c> 0 stands for PyTorch's <c>None</c>: the machine epsilon of <typeparamref name="T"/>. Row and column means
/// are squared norms over the row or column length, and <c>lerp</c> is PyTorch's
/// (<c>a + w (b - a)</c> for <c>w &lt; 0.5</c>, else <c>b + (w - 1)(b - a)</c>, fused), so float64 runs agree with
/// PyTorch's <c>_single_tensor_adafactor</c> to rounding. Norms are summed in double precision.
/// </remarks>
public sealed class Adafactor<T> : Optimizer<T, AdafactorOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int RowVar = 0, ColVar = 1, Variance = 2;

    /// <summary>Creates Adafactor over <paramref name="parameters"/>.</summary>
    public Adafactor(IEnumerable<Parameter<T>> parameters, AdafactorOptions? options = null) : base(parameters, options ?? new AdafactorOptions()) { }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["row_var", "col_var", "variance"];

    /// <inheritdoc/>
    protected override int SlotLength(int slot, IReadOnlyList<int> shape, int length) => (slot, Factored(shape)) switch
    {
        (RowVar, true) => length == 0 ? 0 : length / shape[^1],
        (ColVar, true) => length == 0 ? 0 : length / shape[^2],
        (Variance, false) => length,
        _ => 0,
    };

    private static bool Factored(IReadOnlyList<int> shape) => shape.Count > 1;

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdafactorOptions o)
    {
        double t = state.Step;
        T w = T.CreateTruncating(Math.Pow(t, o.Beta2Decay));
        double rho = Math.Min(o.LearningRate, 1 / Math.Sqrt(t));
        double alpha = Math.Max(o.Eps2, Math.Sqrt(SumOfSquares(p)) / Math.Sqrt(p.Length)) * rho;
        double eps1 = o.Eps1 == 0 ? double.CreateTruncating(T.BitIncrement(T.One) - T.One) : o.Eps1;
        T floor = T.CreateTruncating(eps1 * eps1);
        T sign = o.Maximize ? -T.One : T.One;
        if (o.WeightDecay != 0)
        {
            T shrink = T.CreateTruncating(1 - o.LearningRate * o.WeightDecay);
            for (int i = 0; i < p.Length; i++) p[i] *= shrink;
        }

        // The update u is formed twice, once for its RMS and once to apply it, instead of being stored.
        double step;
        if (Factored(state.Shape))
        {
            int cols = state.Shape[^1], rows = state.Shape[^2], matrices = rows * cols == 0 ? 0 : p.Length / (rows * cols);
            Span<T> r = state.Slot(RowVar), c = state.Slot(ColVar);
            for (int m = 0; m < matrices; m++)
            {
                var g = grad.Slice(m * rows * cols, rows * cols);
                for (int i = 0; i < rows; i++)
                    r[m * rows + i] = Pointwise.Lerp(r[m * rows + i], MeanOfSquares(g.Slice(i * cols, cols), 1, cols), w);
                for (int j = 0; j < cols; j++)
                    c[m * cols + j] = Pointwise.Lerp(c[m * cols + j], MeanOfSquares(g[j..], cols, rows), w);
            }
            double sum = 0;
            for (int m = 0; m < matrices; m++)
            {
                T scale = RowMeanFloor(r.Slice(m * rows, rows), eps1);
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++)
                    {
                        double u = double.CreateTruncating(Factor(r[m * rows + i], c[m * cols + j], scale, floor, sign * grad[(m * rows + i) * cols + j]));
                        sum += u * u;
                    }
            }
            step = -alpha / Math.Max(1, Math.Sqrt(sum) / (Math.Sqrt(p.Length) * o.D));
            T s = T.CreateTruncating(step);
            for (int m = 0; m < matrices; m++)
            {
                T scale = RowMeanFloor(r.Slice(m * rows, rows), eps1);
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++)
                    {
                        int k = (m * rows + i) * cols + j;
                        p[k] = T.FusedMultiplyAdd(s, Factor(r[m * rows + i], c[m * cols + j], scale, floor, sign * grad[k]), p[k]);
                    }
            }
        }
        else
        {
            Span<T> v = state.Slot(Variance);
            double sum = 0;
            for (int i = 0; i < p.Length; i++)
            {
                T g = sign * grad[i];
                v[i] = Pointwise.Lerp(v[i], g * g, w);
                double u = double.CreateTruncating(Scaled(v[i], floor, g));
                sum += u * u;
            }
            step = -alpha / Math.Max(1, Math.Sqrt(sum) / (Math.Sqrt(p.Length) * o.D));
            T s = T.CreateTruncating(step);
            for (int i = 0; i < p.Length; i++) p[i] = T.FusedMultiplyAdd(s, Scaled(v[i], floor, sign * grad[i]), p[i]);
        }
    }

    /// <summary>The estimate <c>r c / max(mean(r), eps1)</c> of one entry's second moment, applied to its gradient.</summary>
    private static T Factor(T r, T c, T rowMean, T floor, T g) => Scaled(r * c / rowMean, floor, g);

    /// <summary><c>g / sqrt(max(v, eps1^2))</c>, as PyTorch's <c>v.clamp_(min=eps1*eps1).rsqrt_().mul_(g)</c>.</summary>
    private static T Scaled(T v, T floor, T g) => T.One / T.Sqrt(T.Max(v, floor)) * g;

    /// <summary>The mean of a matrix's row factors, at least <paramref name="eps1"/>.</summary>
    private static T RowMeanFloor(ReadOnlySpan<T> r, double eps1)
    {
        T sum = T.Zero;
        foreach (var x in r) sum += x;
        return T.Max(sum / T.CreateTruncating(r.Length), T.CreateTruncating(eps1));
    }

    /// <summary>The squared norm of <paramref name="count"/> entries <paramref name="stride"/> apart, over their count (PyTorch's <c>vector_norm(g, dim).square_().div_(n)</c>).</summary>
    private static T MeanOfSquares(ReadOnlySpan<T> g, int stride, int count)
    {
        double sum = 0;
        for (int k = 0; k < count; k++)
        {
            double x = double.CreateTruncating(g[k * stride]);
            sum += x * x;
        }
        T norm = T.CreateTruncating(Math.Sqrt(sum));
        return norm * norm / T.CreateTruncating(count);
    }

    private static double SumOfSquares(ReadOnlySpan<T> x)
    {
        double sum = 0;
        foreach (var v in x)
        {
            double d = double.CreateTruncating(v);
            sum += d * d;
        }
        return sum;
    }
}
