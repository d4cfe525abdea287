using System.Numerics;

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

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        Activations.Forward(Activation, input[..y.Length], y);
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        if (inputGradient.IsEmpty) return;
        int n = batch * InputSize;
        Activations.Backward(Activation, input[..n], LastOutput(batch), outputGradient[..n], inputGradient[..n]);
    }
}
