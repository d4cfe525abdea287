using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// Causal multi-head self-attention over a sequence <c>[T, D]</c>, as PyTorch's
/// <c>nn.MultiheadAttention(D, H, batch_first=True)</c> called with <c>(x, x, x)</c> and a causal mask
/// (position <c>i</c> attends to positions <c>j &lt;= i</c>): <c>[q k v] = x in_proj_weight^T + in_proj_bias</c>,
/// per head <c>softmax(q k^T / sqrt(D/H)) v</c>, the heads side by side through <c>out_proj</c>. Parameters
/// <c>in_proj_weight</c> <c>[3D, D]</c>, <c>in_proj_bias</c> <c>[3D]</c>, <c>out_proj.weight</c> <c>[D, D]</c>,
/// <c>out_proj.bias</c> <c>[D]</c>, as that module names them.
/// </summary>
/// <remarks>
/// Each head of each example is a few matrix products through the register-blocked <see cref="Kernels.Gemm"/>, which
/// reads and writes the head's <c>[T, hd]</c> slices in place (rows <c>3D</c> apart in the projections, <c>D</c> in the
/// context); only the keys (forward) and values (backward) are copied out, transposed, into buffers kept from the
/// constructor. Forward: <c>S = Q K^T</c> (a row of scores the vectorized dimension), a softmax per row over the
/// positions <c>j &lt;= i</c> with the others 0 (PyTorch's <c>-inf</c> mask), kept as <c>P</c> for the backward pass,
/// then <c>O = P V</c>. Backward: <c>dP = dO V^T</c>, <c>dV = P^T dO</c>, <c>dS = P (dP - rowsum(P dP)) / sqrt(hd)</c>,
/// <c>dQ = dS K</c>, <c>dK = dS^T Q</c>. All six products run in blocks of rows that skip what the causal mask
/// leaves at 0: the four with a triangular factor (<c>P</c> or <c>dS</c>) read only its nonzero part, the two that
/// produce a <c>[T, T]</c> matrix stop at the block's last column, rounded up to whole tiles of the kernel.
/// </remarks>
public sealed class CausalSelfAttention<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _t, _d, _heads, _hd;
    private readonly Linear<T> _outProj;
    private readonly AlignedArray<T> _transposed;
    private AlignedArray<T> _qkv = AlignedArray<T>.Empty, _probs = AlignedArray<T>.Empty, _context = AlignedArray<T>.Empty, _dContext = AlignedArray<T>.Empty, _dQkv = AlignedArray<T>.Empty;
    // One head of one example at a time: its keys and values copied out [T, hd] and transposed [hd, T] (the other
    // operands are read and written in place, rows apart), and its score gradients [T, T].
    private readonly AlignedArray<T> _kt, _vt, _dScores;
    // Per row of a head's scores: its largest score times the scale, and the inverse of its exponentials' sum.
    private readonly T[] _shifts, _inverses;

    /// <summary>Attention with <paramref name="heads"/> heads over sequences of <paramref name="shape"/> (<c>[T, D]</c>, D divisible by the heads).</summary>
    public CausalSelfAttention(IReadOnlyList<int> shape, int heads) : base(shape, shape)
    {
        if (shape.Count != 2) throw new ArgumentException($"Attention takes sequences [T, D], got [{string.Join(", ", shape)}].");
        if (heads < 1 || shape[1] % heads != 0) throw new ArgumentException($"Attention: {heads} heads must divide the width {shape[1]}.");
        (_t, _d, _heads, _hd) = (shape[0], shape[1], heads, shape[1] / heads);
        // The child first: declaring a parameter gathers the children's too.
        _outProj = new Linear<T>(shape, _d);
        Declare("in_proj_weight", 3 * _d, _d);
        Declare("in_proj_bias", 3 * _d);
        _transposed = new(3 * _d * _d);
        AlignedArray<T> OneHead() => new(_t * _hd);
        (_kt, _vt) = (OneHead(), OneHead());
        _dScores = new(_t * _t);
        (_shifts, _inverses) = (new T[_t], new T[_t]);
    }

    /// <summary>Number of heads.</summary>
    public int Heads => _heads;

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Layer<T> Layer)> Children => [("out_proj", _outProj)];

    /// <summary>
    /// As PyTorch: <c>in_proj_weight</c> Xavier-uniform, <c>out_proj.weight</c> uniform in <c>(-1/sqrt(D), 1/sqrt(D))</c>,
    /// both biases 0, whatever the initialization asked for dense layers.
    /// </summary>
    public override void Initialize(Initialization initialization, Rng rng)
    {
        double a = Math.Sqrt(6.0 / (_d + 3 * _d));
        var w = Parameter(0).Value.Span;
        for (int i = 0; i < w.Length; i++) w[i] = T.CreateTruncating(rng.Uniform(-a, a));
        Parameter(1).Value.Span.Clear();
        _outProj.Initialize(Initialization.Torch, rng);
        _outProj.Bias.Value.Span.Clear();
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        int rows = batch * _t, width = 3 * _d;
        var qkv = Grow(ref _qkv, rows * width);
        Kernels.LinearForward(input[..(rows * _d)], Parameter(0).Value.Span, Parameter(1).Value.Span, qkv, rows, _d, width, _transposed);
        var probs = Grow(ref _probs, batch * _heads * _t * _t);
        var context = Grow(ref _context, rows * _d);
        T scale = T.One / T.Sqrt(T.CreateTruncating(_hd));
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < _heads; h++)
            {
                var p = probs.Slice((b * _heads + h) * _t * _t, _t * _t);
                // S = Q K^T, Q read in place (a row every 3D), the keys side by side in the rows of K^T.
                Kernels.Transpose(qkv[Head(b, 1, h)..], _kt, _t, _hd, ldFrom: width);
                Scores(p, qkv[Head(b, 0, h)..], width, _kt);
                Softmax(p, scale);
                // O = P V, V read in place and O written into the head's columns of the context.
                Triangular(context[(b * _t * _d + h * _hd)..], _d, p, transposed: false, qkv[Head(b, 2, h)..], width);
            }
        return _outProj.Forward(context, batch);
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> LastOutput(int batch) => _outProj.LastOutput(batch);

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        int rows = batch * _t, width = 3 * _d;
        var dContext = Grow(ref _dContext, rows * _d);
        _outProj.Backward(_context.AsSpan(0, rows * _d), outputGradient, dContext, batch, accumulate);
        var dQkv = Grow(ref _dQkv, rows * width);
        ReadOnlySpan<T> qkv = _qkv;
        T scale = T.One / T.Sqrt(T.CreateTruncating(_hd));
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < _heads; h++)
            {
                var p = _probs.AsSpan((b * _heads + h) * _t * _t, _t * _t);
                var dO = dContext[(b * _t * _d + h * _hd)..];
                // dP = dO V^T, dV = P^T dO: dO read in place (a row every D), the values side by side in the rows of V^T.
                Kernels.Transpose(qkv[Head(b, 2, h)..], _vt, _t, _hd, ldFrom: width);
                Scores(_dScores, dO, _d, _vt);
                Triangular(dQkv[Head(b, 2, h)..], width, p, transposed: true, dO, _d);
                // Through the softmax and the scaling: dS = P (dP - rowsum(P dP)) / sqrt(hd).
                for (int i = 0; i < _t; i++) SoftmaxGradient(p.Slice(i * _t, _t), _dScores.AsSpan(i * _t, _t), i + 1, scale);
                // dQ = dS K, dK = dS^T Q, K and Q read in place.
                Triangular(dQkv[Head(b, 0, h)..], width, _dScores, transposed: false, qkv[Head(b, 1, h)..], width);
                Triangular(dQkv[Head(b, 1, h)..], width, _dScores, transposed: true, qkv[Head(b, 0, h)..], width);
            }
        Kernels.LinearBackward(input[..(rows * _d)], Parameter(0).Value.Span, dQkv, Parameter(0).Grad.Span, Parameter(1).Grad.Span,
            inputGradient.IsEmpty ? [] : inputGradient[..(rows * _d)], rows, _d, width, _transposed, accumulate);
    }

    /// <summary>Where the <paramref name="part"/> (0 q, 1 k, 2 v) of head <paramref name="h"/> of example <paramref name="b"/> starts in the projections (its rows 3D apart).</summary>
    private int Head(int b, int part, int h) => b * _t * 3 * _d + part * _d + h * _hd;

    /// <summary>
    /// <c>C = A B^T</c> for the <c>[T, hd]</c> <paramref name="a"/> (rows <paramref name="aRow"/> apart) and <c>B^T</c> given
    /// as the <c>[hd, T]</c> <paramref name="bt"/> (queries and keys, or output gradients and values), into the
    /// <c>[T, T]</c> <paramref name="c"/>, only as far right as the causal mask leaves anything to read: in blocks of
    /// <see cref="Block"/> rows, each to its last row's column rounded up to whole tiles of the kernel (what lies right of
    /// that is left as it was, for the softmax to overwrite).
    /// </summary>
    private void Scores(Span<T> c, ReadOnlySpan<T> a, int aRow, ReadOnlySpan<T> bt)
    {
        int tile = 2 * Vector<T>.Count;
        for (int r0 = 0; r0 < _t; r0 += Block)
        {
            int rows = Math.Min(Block, _t - r0), columns = Math.Min(_t, (r0 + rows + tile - 1) / tile * tile);
            Kernels.Gemm(c[(r0 * _t)..], a[(r0 * aRow)..], aRow, 1, bt, rows, columns, _hd, accumulate: false, ldb: _t, ldc: _t);
        }
    }

    /// <summary>
    /// <c>C = A B</c>, or <c>A^T B</c> when <paramref name="transposed"/>, for a <c>[T, T]</c> <paramref name="a"/> that is 0
    /// above its diagonal (probabilities or their gradients) and a <c>[T, hd]</c> <paramref name="b"/> (rows
    /// <paramref name="ldb"/> apart) into the <c>[T, hd]</c> <paramref name="c"/> (rows <paramref name="ldc"/> apart): in
    /// blocks of <see cref="Block"/> rows of C, each reading only the part of A that can be nonzero (columns up to the
    /// block's last row, or rows from its first), which skips about half of the multiply-adds.
    /// </summary>
    private void Triangular(Span<T> c, int ldc, ReadOnlySpan<T> a, bool transposed, ReadOnlySpan<T> b, int ldb)
    {
        for (int r0 = 0; r0 < _t; r0 += Block)
        {
            int rows = Math.Min(Block, _t - r0);
            if (transposed) Kernels.Gemm(c[(r0 * ldc)..], a[(r0 * _t + r0)..], 1, _t, b[(r0 * ldb)..], rows, _hd, _t - r0, accumulate: false, ldb, ldc);
            else Kernels.Gemm(c[(r0 * ldc)..], a[(r0 * _t)..], _t, 1, b, rows, _hd, r0 + rows, accumulate: false, ldb, ldc);
        }
    }

    /// <summary>Rows of C per product in <see cref="Scores"/> and <see cref="Triangular"/>: two tiles of the register-blocked kernel.</summary>
    private const int Block = 12;

    /// <summary>
    /// The <c>[T, T]</c> scores <paramref name="p"/> in place, row by row: row <c>i</c>'s first <c>i + 1</c> scores (the
    /// positions its query may attend to) times <paramref name="scale"/> through a softmax, the rest 0. As PyTorch's
    /// additive mask, the other positions become <c>-inf</c> and so exponentials of 0; only the vectors holding the first
    /// <c>i + 1</c> are computed, the lanes past them masked. The largest score is subtracted before the exponential
    /// (scaled with the others, it rounds to the largest scaled score, the scale being positive), and the exponentials are
    /// multiplied by the inverse of their sum. Three passes over the rows (maxima, exponentials and sums, scaling) rather
    /// than one row at a time: a row's steps wait on each other, other rows' do not, so the processor overlaps rows (a
    /// 64-position row at 512 bits: 123 ns one at a time, 61 in passes). Vectors that end inside their row are read and
    /// written in place; one that would run past its row's end goes through a copy (written in place, its lanes past
    /// the row would overwrite the next row's first scores).
    /// </summary>
    internal void Softmax(Span<T> p, T scale)
    {
        int l = Vector<T>.Count, t = _t;
        if (p.Length < t * t) throw new ArgumentException($"Softmax: {t} x {t} scores need {t * t} elements, got {p.Length}.");
        var vscale = new Vector<T>(scale);
        ref T p0 = ref MemoryMarshal.GetReference(p);
        for (int i = 0; i < t; i++)
        {
            ref T row = ref Unsafe.Add(ref p0, i * t);
            int whole = (i + 1) / l * l;
            var vmax = new Vector<T>(T.NegativeInfinity);
            for (int k = 0; k < whole; k += l) vmax = Vector.Max(vmax, Vector.LoadUnsafe(ref row, (nuint)k));
            if (whole <= i) vmax = Vector.Max(vmax, Vector.ConditionalSelect(Lanes.FirstLanes<T>(i + 1 - whole), Partial(p, i, whole), new Vector<T>(T.NegativeInfinity)));
            _shifts[i] = Lanes.MaxAcross(vmax) * scale;
        }
        for (int i = 0; i < t; i++)
        {
            ref T row = ref Unsafe.Add(ref p0, i * t);
            int whole = (i + 1) / l * l, k = whole;
            var vshift = new Vector<T>(_shifts[i]);
            var vsum = Vector<T>.Zero;
            for (int j = 0; j < whole; j += l)
            {
                var e = Lanes.Exp(Vector.LoadUnsafe(ref row, (nuint)j) * vscale - vshift);
                vsum += e;
                e.StoreUnsafe(ref row, (nuint)j);
            }
            if (whole <= i)
            {
                var e = Vector.ConditionalSelect(Lanes.FirstLanes<T>(i + 1 - whole), Lanes.Exp(Partial(p, i, whole) * vscale - vshift), Vector<T>.Zero);
                vsum += e;
                StorePartial(p, i, whole, e);
                k += l;
            }
            for (; k < t; k += l) StorePartial(p, i, k, Vector<T>.Zero);
            _inverses[i] = T.One / Vector.Sum(vsum);
        }
        for (int i = 0; i < t; i++)
        {
            ref T row = ref Unsafe.Add(ref p0, i * t);
            var vinverse = new Vector<T>(_inverses[i]);
            int whole = (i + 1) / l * l;
            for (int k = 0; k < whole; k += l) (Vector.LoadUnsafe(ref row, (nuint)k) * vinverse).StoreUnsafe(ref row, (nuint)k);
            // The lanes past the row's count already hold 0.
            if (whole <= i) StorePartial(p, i, whole, Partial(p, i, whole) * vinverse);
        }
    }

    /// <summary>
    /// The vector of row <paramref name="i"/> of <paramref name="p"/> from position <paramref name="k"/>: read in place where
    /// the vector ends inside the row, else through a copy whose lanes past the row's end are 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector<T> Partial(Span<T> p, int i, int k)
    {
        int start = i * _t + k;
        return k + Vector<T>.Count <= _t ? Vector.LoadUnsafe(ref MemoryMarshal.GetReference(p), (nuint)start) : Lanes.LoadTail<T>(p.Slice(start, _t - k), _t - k);
    }

    /// <summary>Writes <paramref name="v"/> over row <paramref name="i"/> of <paramref name="p"/> from position <paramref name="k"/>, as far as the row reaches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StorePartial(Span<T> p, int i, int k, Vector<T> v)
    {
        int start = i * _t + k;
        if (k + Vector<T>.Count <= _t) v.StoreUnsafe(ref MemoryMarshal.GetReference(p), (nuint)start);
        else Lanes.StoreTail(p.Slice(start, _t - k), _t - k, v);
    }

    /// <summary>
    /// One row of the gradient through <see cref="Softmax"/>: <paramref name="dp"/> (d loss / d probabilities) becomes
    /// <c>dS_j = P_j (dP_j - sum_k P_k dP_k) scale</c> for the first <paramref name="count"/> positions, 0 after them.
    /// </summary>
    private static void SoftmaxGradient(ReadOnlySpan<T> p, Span<T> dp, int count, T scale)
    {
        T weighted = Dot(p[..count], dp[..count]);
        var whole = Lanes.Whole(dp[..count], out int tail);
        var probabilities = MemoryMarshal.Cast<T, Vector<T>>(p[..(count - tail)]);
        var vweighted = new Vector<T>(weighted);
        var vscale = new Vector<T>(scale);
        for (int k = 0; k < whole.Length; k++) whole[k] = probabilities[k] * (whole[k] - vweighted) * vscale;
        for (int j = count - tail; j < count; j++) dp[j] = p[j] * (dp[j] - weighted) * scale;
        dp[count..].Clear();
    }

    /// <summary><c>a . b</c>, in vectors (a head is 16 to 64 numbers wide).</summary>
    private static T Dot(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        int l = Vector<T>.Count, k = 0;
        var acc = Vector<T>.Zero;
        for (; k + l <= a.Length; k += l) acc = Lanes.Fma(new Vector<T>(a[k..]), new Vector<T>(b[k..]), acc);
        T s = Vector.Sum(acc);
        for (; k < a.Length; k++) s += a[k] * b[k];
        return s;
    }
}
