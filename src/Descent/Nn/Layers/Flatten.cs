using System.Numerics;

namespace Descent.Nn;

/// <summary>
/// Flattens each example into a vector, as PyTorch's <c>nn.Flatten()</c> (from dimension 1): the numbers stay
/// in their row-major order, so <c>[C, H, W]</c> becomes <c>[C H W]</c>. No parameters.
/// </summary>
public sealed class Flatten<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Flattens examples of <paramref name="inputShape"/>.</summary>
    public Flatten(IReadOnlyList<int> inputShape) : base(inputShape, [Product(inputShape)]) { }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        if (PassesThrough) return input[..(batch * InputSize)];
        var y = Output(batch);
        input[..y.Length].CopyTo(y);
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        if (!inputGradient.IsEmpty) outputGradient[..(batch * InputSize)].CopyTo(inputGradient);
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        var ry = ROutput(batch);
        rInput[..ry.Length].CopyTo(ry);
        return ry;
    }

    /// <inheritdoc/>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch) => Backward(input, rOutputGradient, rInputGradient, batch);
}
