using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// A residual connection, <c>y = x + body(x)</c>, around a layer whose output has its input's shape. Its
/// parameters are the body's, named under <c>body.</c>, as in a PyTorch module holding the body as the
/// attribute <c>body</c>.
/// </summary>
public sealed class Residual<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Layer<T> _body;
    private AlignedArray<T> _bodyGradient = AlignedArray<T>.Empty;

    /// <summary>Adds the input of <paramref name="body"/> to its output.</summary>
    public Residual(Layer<T> body) : base(body.InputShape, body.OutputShape)
    {
        if (!body.InputShape.SequenceEqual(body.OutputShape))
            throw new ArgumentException($"Residual: the body maps [{string.Join(", ", body.InputShape)}] to [{string.Join(", ", body.OutputShape)}]; a residual connection needs equal shapes.");
        _body = body;
        Adopt();
    }

    /// <summary>The layer the connection goes around.</summary>
    public Layer<T> Body => _body;

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Layer<T> Layer)> Children => [("body", _body)];

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var f = _body.Forward(input, batch);
        var y = Output(batch);
        Numerics.Kernels.Add(f, input, y);
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        int n = batch * InputSize;
        // d loss / d x = dy (the identity path) + the body's input gradient.
        var dBody = inputGradient.IsEmpty ? Span<T>.Empty : Grow(ref _bodyGradient, n);
        _body.Backward(input, outputGradient, dBody, batch, accumulate);
        if (inputGradient.IsEmpty) return;
        Numerics.Kernels.Add(outputGradient, dBody, inputGradient[..n]);
    }

    /// <summary><c>R{y} = R{x} + R{body(x)}</c>.</summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        var rf = _body.RForward(input, rInput, direction, batch);
        var ry = ROutput(batch);
        Numerics.Kernels.Add(rf, rInput, ry);
        return ry;
    }

    /// <summary><c>R{dx} = R{dy} + R{d body / d x}</c>; the parameters are the body's.</summary>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch)
    {
        int n = batch * InputSize;
        var rBody = rInputGradient.IsEmpty ? Span<T>.Empty : Grow(ref _bodyGradient, n);
        _body.RBackward(input, rInput, outputGradient, rOutputGradient, direction, rBody, rGradient, batch);
        if (rInputGradient.IsEmpty) return;
        Numerics.Kernels.Add(rOutputGradient, rBody, rInputGradient[..n]);
    }
}
