using System.Numerics;
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
    private T[] _normalized = [], _invStd = [];

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
        int rows = y.Length / _d;
        var invStd = Grow(ref _invStd, rows);
        var gamma = Weight.Value.Span;
        var beta = Bias.Value.Span;
        T d = T.CreateTruncating(_d), eps = T.CreateTruncating(Eps);
        for (int r = 0; r < rows; r++)
        {
            var x = input.Slice(r * _d, _d);
            T sum = T.Zero;
            foreach (T v in x) sum += v;
            T mean = sum / d, squares = T.Zero;
            foreach (T v in x) squares += (v - mean) * (v - mean);
            invStd[r] = T.One / T.Sqrt(squares / d + eps);
            for (int j = 0; j < _d; j++)
            {
                xhat[r * _d + j] = (x[j] - mean) * invStd[r];
                y[r * _d + j] = xhat[r * _d + j] * gamma[j] + beta[j];
            }
        }
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        var gamma = Weight.Value.Span;
        var dGamma = Weight.Grad.Span;
        var dBeta = Bias.Grad.Span;
        if (!accumulate)
        {
            dGamma.Clear();
            dBeta.Clear();
        }
        int rows = batch * InputSize / _d;
        T d = T.CreateTruncating(_d);
        for (int r = 0; r < rows; r++)
        {
            var dy = outputGradient.Slice(r * _d, _d);
            var xhat = _normalized.AsSpan(r * _d, _d);
            T sumG = T.Zero, sumGXhat = T.Zero;
            for (int j = 0; j < _d; j++)
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
            for (int j = 0; j < _d; j++) dx[j] = _invStd[r] / d * (d * dy[j] * gamma[j] - sumG - xhat[j] * sumGXhat);
        }
    }
}
