using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Muon, MomentUm Orthogonalized by Newton-Schulz (Keller Jordan 2024), as PyTorch 2.9 defines it
/// (<c>torch.optim.Muon</c>): momentum SGD for 2-D weight matrices whose update is replaced by an approximately
/// orthogonal matrix. Only 2-D parameters are accepted; the rest of a model (biases, norms, embeddings, the output
/// layer) belongs on AdamW, which <see cref="MuonSplit"/> arranges.
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad
/// buf = lerp(buf, g, 1 - momentum)                        (buf = momentum buf + (1 - momentum) g)
/// u = lerp(g, buf, momentum) if nesterov else buf
/// X = bf16(u), transposed when rows > cols;  X = X / max(|X|_F, eps)
/// ns_steps times:  A = X X^T;  B = b A + c A A;  X = a X + B X
/// p = p * (1 - lr * weight_decay)
/// p = p - lr * sqrt(max(1, rows / cols)) * X              [match_rms_adamw: lr * 0.2 * sqrt(max(rows, cols))]
/// </code>
/// As in PyTorch, the Newton-Schulz iteration runs in bfloat16: every operation's result (the conversion, the norm,
/// the division, <c>X X^T</c>, each <c>addmm</c>) is rounded to bfloat16, here from a float64 computation (PyTorch's
/// CPU kernels accumulate in float32 and round once; the two agree unless a float32 rounding error crosses a bfloat16
/// rounding boundary). The parameter, the momentum and the final step stay in <typeparamref name="T"/>.
/// </remarks>
public sealed class Muon<T> : Optimizer<T, MuonOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int MomentumBuffer = 0;
    private readonly double[] _x, _next, _gram, _update, _row;   // Newton-Schulz scratch, sized for the largest matrix

    /// <summary>Creates Muon over <paramref name="parameters"/>, which must all be 2-D.</summary>
    public Muon(IEnumerable<Parameter<T>> parameters, MuonOptions? options = null) : base(parameters, options ?? new MuonOptions())
    {
        int largest = 0, square = 0, width = 0;
        foreach (var p in AllParameters())
        {
            if (p.Shape.Count != 2)
                throw new ArgumentException($"Muon updates 2-D weight matrices only, and parameter '{p.Name}' has shape [{string.Join(", ", p.Shape)}]: " +
                    "put the 2-D hidden weights on Muon and everything else (biases, norms, embeddings, the output layer) on AdamW, as MuonSplit does.");
            largest = Math.Max(largest, p.Length);
            int m = Math.Min(p.Shape[0], p.Shape[1]);
            square = Math.Max(square, m * m);
            width = Math.Max(width, Math.Max(p.Shape[0], p.Shape[1]));
        }
        _x = new double[largest];
        _next = new double[largest];
        _gram = new double[square];
        _update = new double[square];
        _row = new double[width];
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["momentum_buffer"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, MuonOptions o)
    {
        int rows = state.Shape[0], cols = state.Shape[1];
        bool transpose = rows > cols;
        var buf = state.Slot(MomentumBuffer);
        T momentum = T.CreateTruncating(o.Momentum), dampening = T.CreateTruncating(1 - o.Momentum);
        T sign = o.Maximize ? -T.One : T.One;
        var x = _x.AsSpan(0, p.Length);
        for (int k = 0; k < p.Length; k++)
        {
            T g = sign * grad[k];
            buf[k] = Pointwise.Lerp(buf[k], g, dampening);
            T u = o.Nesterov ? Pointwise.Lerp(g, buf[k], momentum) : buf[k];
            x[transpose ? (k % cols) * rows + k / cols : k] = BFloat16(double.CreateTruncating(u));
        }
        var orthogonal = NewtonSchulz(x, Math.Min(rows, cols), Math.Max(rows, cols), o);

        T shrink = T.CreateTruncating(1 - o.LearningRate * o.WeightDecay);
        T step = T.CreateTruncating(-o.AdjustedLearningRate(rows, cols));
        for (int k = 0; k < p.Length; k++)
        {
            double v = orthogonal[transpose ? (k % cols) * rows + k / cols : k];
            p[k] = T.FusedMultiplyAdd(step, T.CreateTruncating(v), p[k] * shrink);
        }
    }

    /// <summary>
    /// The quintic Newton-Schulz iteration on the <paramref name="m"/> x <paramref name="n"/> matrix <paramref name="x"/>
    /// (<paramref name="m"/> &lt;= <paramref name="n"/>), each operation rounded to bfloat16; returns the result (in scratch).
    /// </summary>
    private Span<double> NewtonSchulz(Span<double> x, int m, int n, MuonOptions o)
    {
        double sum = 0;
        foreach (var v in x) sum += v * v;
        double norm = BFloat16(Math.Sqrt(sum));
        if (norm < o.Eps) norm = BFloat16(o.Eps);                          // .norm().clamp(min=eps)
        for (int k = 0; k < x.Length; k++) x[k] = BFloat16(x[k] / norm);
        var next = _next.AsSpan(0, x.Length);
        var gram = _gram.AsSpan(0, m * m);
        var update = _update.AsSpan(0, m * m);
        var row = _row.AsSpan(0, n);
        // Each product is accumulated a row at a time, k outer and j inner, so the vector loop runs along contiguous rows
        // (4.5x faster on the CNN's 128 x 3136 weight than the dot-product loops); every element still sums its k terms in
        // ascending order with a separate multiply and add, so the result is the plain loops' to the bit.
        for (int s = 0; s < (int)o.NsSteps; s++)
        {
            var xt = next[..(m * n)];                                      // A = X X^T, from X^T's rows
            for (int i = 0; i < m; i++)
                for (int k = 0; k < n; k++) xt[k * m + i] = x[i * n + k];
            for (int i = 0; i < m; i++)
            {
                var acc = row[..m];
                acc.Clear();
                Accumulate(acc, x.Slice(i * n, n), xt, m);
                for (int j = 0; j < m; j++) gram[i * m + j] = BFloat16(acc[j]);
            }
            for (int i = 0; i < m; i++)                                    // B = addmm(A, A, A, beta=b, alpha=c)
            {
                var acc = row[..m];
                acc.Clear();
                Accumulate(acc, gram.Slice(i * m, m), gram, m);
                for (int j = 0; j < m; j++) update[i * m + j] = BFloat16(o.NsB * gram[i * m + j] + o.NsC * acc[j]);
            }
            for (int i = 0; i < m; i++)                                    // X = addmm(X, B, X, beta=a)
            {
                row.Clear();
                Accumulate(row, update.Slice(i * m, m), x, n);
                for (int j = 0; j < n; j++) next[i * n + j] = BFloat16(o.NsA * x[i * n + j] + row[j]);
            }
            next.CopyTo(x);
        }
        return x;
    }

    /// <summary>
    /// <c>acc[j] += a[k] * b[k * width + j]</c> for k = 0, 1, ... in order, each term a multiply then an add (never fused), so
    /// every sum equals the plain loop's; four terms are added to a vector of <c>acc</c> while it stays in a register.
    /// </summary>
    private static void Accumulate(Span<double> acc, ReadOnlySpan<double> a, ReadOnlySpan<double> b, int width)
    {
        int k = 0;
        ref double d = ref MemoryMarshal.GetReference(acc);
        ref double r = ref MemoryMarshal.GetReference(b);
        int vectorEnd = Vector256.IsHardwareAccelerated ? width - width % Vector256<double>.Count : 0;
        for (; k + 4 <= a.Length; k += 4)
        {
            var (a0, a1, a2, a3) = (Vector256.Create(a[k]), Vector256.Create(a[k + 1]), Vector256.Create(a[k + 2]), Vector256.Create(a[k + 3]));
            nuint r0 = (nuint)(k * width), r1 = r0 + (nuint)width, r2 = r1 + (nuint)width, r3 = r2 + (nuint)width;
            for (nuint j = 0; j < (nuint)vectorEnd; j += (nuint)Vector256<double>.Count)
            {
                var v = Vector256.LoadUnsafe(ref d, j);
                v += a0 * Vector256.LoadUnsafe(ref r, r0 + j);
                v += a1 * Vector256.LoadUnsafe(ref r, r1 + j);
                v += a2 * Vector256.LoadUnsafe(ref r, r2 + j);
                v += a3 * Vector256.LoadUnsafe(ref r, r3 + j);
                v.StoreUnsafe(ref d, j);
            }
            for (int j = vectorEnd; j < width; j++)
                acc[j] = acc[j] + a[k] * b[(int)r0 + j] + a[k + 1] * b[(int)r1 + j] + a[k + 2] * b[(int)r2 + j] + a[k + 3] * b[(int)r3 + j];
        }
        for (; k < a.Length; k++)
            for (int j = 0; j < width; j++) acc[j] += a[k] * b[k * width + j];
    }

    /// <summary>
    /// <paramref name="value"/> rounded to bfloat16 as PyTorch's <c>.bfloat16()</c> rounds it: to float32, then to
    /// the nearest bfloat16 with ties to even (NaN stays NaN).
    /// </summary>
    internal static double BFloat16(double value)
    {
        float f = (float)value;
        if (float.IsNaN(f)) return double.NaN;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000;
        return BitConverter.UInt32BitsToSingle(bits);
    }
}
