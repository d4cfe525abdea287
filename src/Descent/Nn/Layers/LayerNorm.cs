using System.Numerics;
using System.Runtime.InteropServices;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// Layer normalization over the last dimension, as PyTorch's <c>nn.LayerNorm(D)</c>: each vector of
/// <c>D</c> numbers becomes <c>(x - mean) / sqrt(var + eps) * weight + bias</c>, with the biased variance
/// of that vector and <c>eps = 1e-5</c>; the same in training and evaluation. Parameters <c>weight</c> (1)
/// and <c>bias</c> (0), <c>[D]</c>.
/// </summary>
public sealed class LayerNorm<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _d;
    private AlignedArray<T> _normalized = AlignedArray<T>.Empty, _invStd = AlignedArray<T>.Empty;

    /// <summary>Normalizes the last dimension of examples of <paramref name="shape"/>.</summary>
    public LayerNorm(IReadOnlyList<int> shape, double eps = 1e-5) : base(shape, shape)
    {
        if (!(eps > 0)) throw new ArgumentException($"Invalid layer-norm eps {eps}: must be positive.");
        _d = shape[^1];
        Eps = eps;
        Declare("weight", _d);
        Declare("bias", _d);
        Initialize(Initialization.Torch, new Rng(0));
    }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>The scale per feature.</summary>
    public Parameter<T> Weight => Parameter(0);

    /// <summary>The shift per feature.</summary>
    public Parameter<T> Bias => Parameter(1);

    /// <summary>Weight 1 and bias 0, whatever the initialization (draws nothing).</summary>
    public override void Initialize(Initialization initialization, Rng rng)
    {
        Weight.Value.Span.Fill(T.One);
        Bias.Value.Span.Clear();
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        var xhat = Grow(ref _normalized, y.Length);
        int rows = y.Length / _d, whole = _d - _d % Vector<T>.Count;
        var invStd = Grow(ref _invStd, rows);
        ReadOnlySpan<T> gamma = Weight.Value.Span, beta = Bias.Value.Span;
        var gammas = MemoryMarshal.Cast<T, Vector<T>>(gamma[..whole]);
        var betas = MemoryMarshal.Cast<T, Vector<T>>(beta[..whole]);
        T d = T.CreateTruncating(_d), eps = T.CreateTruncating(Eps);
        for (int r = 0; r < rows; r++)
        {
            var x = input.Slice(r * _d, _d);
            var xs = MemoryMarshal.Cast<T, Vector<T>>(x[..whole]);
            T mean = Kernels.Sum(x) / d;
            var vmean = new Vector<T>(mean);
            var vsquares = Vector<T>.Zero;
            foreach (var v in xs) vsquares += (v - vmean) * (v - vmean);
            T squares = Vector.Sum(vsquares);
            for (int j = whole; j < _d; j++) squares += (x[j] - mean) * (x[j] - mean);
            T inv = invStd[r] = T.One / T.Sqrt(squares / d + eps);
            var vinv = new Vector<T>(inv);
            var h = xhat.Slice(r * _d, _d);
            var o = y.Slice(r * _d, _d);
            var hs = MemoryMarshal.Cast<T, Vector<T>>(h[..whole]);
            var os = MemoryMarshal.Cast<T, Vector<T>>(o[..whole]);
            for (int k = 0; k < xs.Length; k++)
            {
                hs[k] = (xs[k] - vmean) * vinv;
                os[k] = hs[k] * gammas[k] + betas[k];
            }
            for (int j = whole; j < _d; j++)
            {
                h[j] = (x[j] - mean) * inv;
                o[j] = h[j] * gamma[j] + beta[j];
            }
        }
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        ReadOnlySpan<T> gamma = Weight.Value.Span;
        Span<T> dGamma = Weight.Grad.Span, dBeta = Bias.Grad.Span;
        if (!accumulate)
        {
            dGamma.Clear();
            dBeta.Clear();
        }
        int rows = batch * InputSize / _d, whole = _d - _d % Vector<T>.Count;
        var gammas = MemoryMarshal.Cast<T, Vector<T>>(gamma[..whole]);
        var dGammas = MemoryMarshal.Cast<T, Vector<T>>(dGamma[..whole]);
        var dBetas = MemoryMarshal.Cast<T, Vector<T>>(dBeta[..whole]);
        T d = T.CreateTruncating(_d);
        var vd = new Vector<T>(d);
        for (int r = 0; r < rows; r++)
        {
            var dy = outputGradient.Slice(r * _d, _d);
            var xhat = _normalized.AsSpan(r * _d, _d);
            var dys = MemoryMarshal.Cast<T, Vector<T>>(dy[..whole]);
            var xhats = MemoryMarshal.Cast<T, Vector<T>>(xhat[..whole]);
            Vector<T> vsumG = Vector<T>.Zero, vsumGXhat = Vector<T>.Zero;
            for (int k = 0; k < dys.Length; k++)
            {
                dGammas[k] += dys[k] * xhats[k];
                dBetas[k] += dys[k];
                var g = dys[k] * gammas[k];
                vsumG += g;
                vsumGXhat += g * xhats[k];
            }
            T sumG = Vector.Sum(vsumG), sumGXhat = Vector.Sum(vsumGXhat);
            for (int j = whole; j < _d; j++)
            {
                dGamma[j] += dy[j] * xhat[j];
                dBeta[j] += dy[j];
                T g = dy[j] * gamma[j];
                sumG += g;
                sumGXhat += g * xhat[j];
            }
            if (inputGradient.IsEmpty) continue;
            // With g = dy weight: dx = invstd / D (D g - sum g - xhat sum(g xhat)).
            var dx = inputGradient.Slice(r * _d, _d);
            var dxs = MemoryMarshal.Cast<T, Vector<T>>(dx[..whole]);
            T factor = _invStd[r] / d;
            Vector<T> vfactor = new(factor), allG = new(sumG), allGXhat = new(sumGXhat);
            for (int k = 0; k < dxs.Length; k++) dxs[k] = vfactor * (vd * dys[k] * gammas[k] - allG - xhats[k] * allGXhat);
            for (int j = whole; j < _d; j++) dx[j] = factor * (d * dy[j] * gamma[j] - sumG - xhat[j] * sumGXhat);
        }
    }
}
