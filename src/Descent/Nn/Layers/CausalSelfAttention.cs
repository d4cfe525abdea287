using System.Numerics;
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
public sealed class CausalSelfAttention<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _t, _d, _heads, _hd;
    private readonly Linear<T> _outProj;
    private readonly T[] _transposed;
    private T[] _qkv = [], _probs = [], _context = [], _dContext = [], _dQkv = [];
    private readonly T[] _dProbs;

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
        _transposed = new T[3 * _d * _d];
        _dProbs = new T[_t];
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
        int rows = batch * _t;
        var qkv = Grow(ref _qkv, rows * 3 * _d);
        Kernels.LinearForward(input[..(rows * _d)], Parameter(0).Value.Span, Parameter(1).Value.Span, qkv, rows, _d, 3 * _d, _transposed);
        var probs = Grow(ref _probs, batch * _heads * _t * _t);
        var context = Grow(ref _context, rows * _d);
        T scale = T.One / T.Sqrt(T.CreateTruncating(_hd));
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < _heads; h++)
                for (int i = 0; i < _t; i++)
                {
                    var p = probs.Slice(((b * _heads + h) * _t + i) * _t, _t);
                    var q = Row(qkv, b, i, 0, h);
                    T max = T.NegativeInfinity;
                    for (int j = 0; j <= i; j++)
                    {
                        p[j] = Dot(q, Row(qkv, b, j, 1, h)) * scale;
                        max = T.Max(max, p[j]);
                    }
                    T sum = T.Zero;
                    for (int j = 0; j <= i; j++) sum += p[j] = T.Exp(p[j] - max);
                    for (int j = 0; j <= i; j++) p[j] /= sum;
                    p[(i + 1)..].Clear();
                    var o = context.Slice((b * _t + i) * _d + h * _hd, _hd);
                    o.Clear();
                    for (int j = 0; j <= i; j++) Axpy(p[j], Row(qkv, b, j, 2, h), o);
                }
        return _outProj.Forward(context, batch);
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> LastOutput(int batch) => _outProj.LastOutput(batch);

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        int rows = batch * _t;
        var dContext = Grow(ref _dContext, rows * _d);
        _outProj.Backward(_context.AsSpan(0, rows * _d), outputGradient, dContext, batch, accumulate);
        var dQkv = Grow(ref _dQkv, rows * 3 * _d);
        dQkv.Clear();
        T scale = T.One / T.Sqrt(T.CreateTruncating(_hd));
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < _heads; h++)
                for (int i = 0; i < _t; i++)
                {
                    var p = _probs.AsSpan(((b * _heads + h) * _t + i) * _t, _t);
                    var dO = dContext.Slice((b * _t + i) * _d + h * _hd, _hd);
                    // dP[j] = dO . v_j, dv_j += P[j] dO; then through the softmax, dS[j] = P[j] (dP[j] - sum_k P[k] dP[k]).
                    T weighted = T.Zero;
                    for (int j = 0; j <= i; j++)
                    {
                        _dProbs[j] = Dot(dO, Row(_qkv, b, j, 2, h));
                        weighted += p[j] * _dProbs[j];
                        Axpy(p[j], dO, Row(dQkv, b, j, 2, h));
                    }
                    var q = Row(_qkv, b, i, 0, h);
                    var dq = Row(dQkv, b, i, 0, h);
                    for (int j = 0; j <= i; j++)
                    {
                        T dS = p[j] * (_dProbs[j] - weighted) * scale;
                        Axpy(dS, Row(_qkv, b, j, 1, h), dq);
                        Axpy(dS, q, Row(dQkv, b, j, 1, h));
                    }
                }
        Kernels.LinearBackward(input[..(rows * _d)], Parameter(0).Value.Span, dQkv, Parameter(0).Grad.Span, Parameter(1).Grad.Span,
            inputGradient.IsEmpty ? [] : inputGradient[..(rows * _d)], rows, _d, 3 * _d, _transposed, accumulate);
    }

    /// <summary>The <paramref name="part"/> (0 q, 1 k, 2 v) of head <paramref name="h"/> at position <paramref name="i"/> of example <paramref name="b"/>.</summary>
    private Span<T> Row(Span<T> qkv, int b, int i, int part, int h) => qkv.Slice((b * _t + i) * 3 * _d + part * _d + h * _hd, _hd);

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

    /// <summary><c>y += a x</c>, in vectors.</summary>
    private static void Axpy(T a, ReadOnlySpan<T> x, Span<T> y)
    {
        int l = Vector<T>.Count, k = 0;
        var va = new Vector<T>(a);
        for (; k + l <= x.Length; k += l) Lanes.Fma(va, new Vector<T>(x[k..]), new Vector<T>(y[k..])).CopyTo(y[k..]);
        for (; k < x.Length; k++) y[k] += a * x[k];
    }
}
