using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// An element-wise <see cref="Nn.Activation"/> as a layer, PyTorch's <c>nn.ReLU</c>, <c>nn.Tanh</c>,
/// <c>nn.Sigmoid</c>, <c>nn.GELU</c> or <c>nn.Identity</c>; it has no parameters.
/// </summary>
public sealed class Nonlinearity<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Applies <paramref name="activation"/> to inputs of <paramref name="shape"/>.</summary>
    public Nonlinearity(Activation activation, IReadOnlyList<int> shape) : base(shape, shape) => Activation = activation;

    /// <summary>The function applied.</summary>
    public Activation Activation { get; }

    /// <summary>
    /// GELU's <c>Phi(x)</c> from the last <see cref="Forward"/> in training mode (float only: the double path computes
    /// its exact series again), so the backward pass needs only the density; <see cref="_kept"/> values of it are valid.
    /// </summary>
    private AlignedArray<T> _cdf = AlignedArray<T>.Empty;
    private int _kept;

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        if (PassesThrough) return input[..(batch * InputSize)];
        var y = Output(batch);
        var cdf = Activation == Activation.Gelu && typeof(T) == typeof(float) && Training ? Grow(ref _cdf, y.Length) : default;
        _kept = cdf.Length;
        Activations.Forward(Activation, input[..y.Length], y, cdf);
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        if (inputGradient.IsEmpty) return;
        int n = batch * InputSize;
        Activations.Backward(Activation, input[..n], LastOutput(batch), outputGradient[..n], inputGradient[..n], _kept == n ? _cdf.AsSpan(0, n) : default);
    }

    /// <summary><c>R{y} = f'(x) R{x}</c>.</summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        var ry = ROutput(batch);
        var y = LastOutput(batch);
        for (int i = 0; i < ry.Length; i++) ry[i] = T.CreateTruncating(Activations.Derivatives(Activation, double.CreateTruncating(input[i]), double.CreateTruncating(y[i])).First) * rInput[i];
        return ry;
    }

    /// <summary><c>dx = f'(x) dy</c> differentiated: <c>R{dx} = f'(x) R{dy} + f''(x) R{x} dy</c>.</summary>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch)
    {
        if (rInputGradient.IsEmpty) return;
        var y = LastOutput(batch);
        for (int i = 0; i < batch * InputSize; i++)
        {
            var (first, second) = Activations.Derivatives(Activation, double.CreateTruncating(input[i]), double.CreateTruncating(y[i]));
            rInputGradient[i] = T.CreateTruncating(first) * rOutputGradient[i] + T.CreateTruncating(second) * rInput[i] * outputGradient[i];
        }
    }
}
