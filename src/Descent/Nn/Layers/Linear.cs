using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// <c>y = x W^T + b</c> over the last dimension, as PyTorch's <c>nn.Linear(in_features, out_features)</c>:
/// <c>weight</c> is <c>[out, in]</c>, <c>bias</c> is <c>[out]</c>. Inputs of shape <c>[..., in]</c> (a sequence of
/// vectors, say) are treated as that many rows.
/// </summary>
public sealed class Linear<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _in, _out;
    private readonly AlignedArray<T> _transposed;

    /// <summary>A dense layer from <paramref name="inFeatures"/> to <paramref name="outFeatures"/>.</summary>
    public Linear(int inFeatures, int outFeatures) : this([inFeatures], outFeatures) { }

    /// <summary>A dense layer applied to the last dimension of inputs of <paramref name="inputShape"/>.</summary>
    public Linear(IReadOnlyList<int> inputShape, int outFeatures) : base(inputShape, [.. inputShape.Take(inputShape.Count - 1), outFeatures])
    {
        _in = inputShape[^1];
        _out = outFeatures;
        Declare("weight", _out, _in);
        Declare("bias", _out);
        _transposed = new(_in * _out);
    }

    /// <summary>The weight, <c>[out, in]</c>.</summary>
    public Parameter<T> Weight => Parameter(0);

    /// <summary>The bias, <c>[out]</c>.</summary>
    public Parameter<T> Bias => Parameter(1);

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        int rows = batch * (InputSize / _in);
        var y = Output(batch);
        Kernels.LinearForward(input[..(batch * InputSize)], Weight.Value.Span, Bias.Value.Span, y, rows, _in, _out, _transposed);
        return y;
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> ForwardRows(ReadOnlySpan<T> source, ReadOnlySpan<int> rows, Span<T> input)
    {
        if (InputSize != _in) return base.ForwardRows(source, rows, input);   // a sequence of vectors per example
        CheckInput(input, rows.Length);
        var y = Output(rows.Length);
        Kernels.LinearForwardRows(source, rows, input, Weight.Value.Span, Bias.Value.Span, y, _in, _out, _transposed);
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        int rows = batch * (InputSize / _in);
        Kernels.LinearBackward(input[..(batch * InputSize)], Weight.Value.Span, outputGradient[..(batch * OutputSize)], Weight.Grad.Span, Bias.Grad.Span,
            inputGradient.IsEmpty ? [] : inputGradient[..(batch * InputSize)], rows, _in, _out, _transposed, accumulate);
    }

    /// <summary><c>R{y} = R{x} W^T + x V^T + v_b</c>, with <c>(V, v_b)</c> the direction's weight and bias.</summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        int rows = batch * (InputSize / _in), weights = _in * _out;
        var ry = ROutput(batch);
        Kernels.LinearForward(rInput[..(batch * InputSize)], Weight.Value.Span, direction.Slice(weights, _out), ry, rows, _in, _out, _transposed);
        Kernels.GemmNT(ry, input, direction[..weights], rows, _out, _in, accumulate: true);
        return ry;
    }

    /// <summary>
    /// <c>R{dW} = R{dy}^T x + dy^T R{x}</c>, <c>R{db} = sum R{dy}</c>, <c>R{dx} = R{dy} W + dy V</c>: the backward
    /// pass is bilinear in (dy, x) and in (dy, W), so each product rule has two terms.
    /// </summary>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch)
    {
        int rows = batch * (InputSize / _in), weights = _in * _out;
        var rdw = rGradient[..weights];
        var dy = outputGradient[..(batch * OutputSize)];
        Kernels.LinearBackward(input[..(batch * InputSize)], Weight.Value.Span, rOutputGradient[..(batch * OutputSize)], rdw, rGradient.Slice(weights, _out),
            rInputGradient.IsEmpty ? [] : rInputGradient[..(batch * InputSize)], rows, _in, _out, _transposed);
        Kernels.Gemm(rdw, dy, 1, _out, rInput, _out, _in, rows, accumulate: true);
        if (!rInputGradient.IsEmpty) Kernels.Gemm(rInputGradient, dy, _out, 1, direction[..weights], rows, _in, _out, accumulate: true);
    }

    /// <summary>Draws the weight and then the bias by <paramref name="initialization"/>.</summary>
    public override void Initialize(Initialization initialization, Rng rng) => Initialize(Weight, Bias, _in, _out, initialization, rng);

    /// <summary>
    /// The initializations of a layer with <paramref name="fanIn"/> inputs and <paramref name="fanOut"/> outputs
    /// per unit (<see cref="Conv2d{T}"/> counts the kernel in both): every weight, then every bias.
    /// </summary>
    internal static void Initialize(Parameter<T> weight, Parameter<T> bias, int fanIn, int fanOut, Initialization initialization, Rng rng)
    {
        var w = weight.Value.Span;
        var b = bias.Value.Span;
        switch (initialization)
        {
            case Initialization.Torch:
                double bound = 1 / Math.Sqrt(fanIn);
                for (int i = 0; i < w.Length; i++) w[i] = T.CreateTruncating(rng.Uniform(-bound, bound));
                for (int i = 0; i < b.Length; i++) b[i] = T.CreateTruncating(rng.Uniform(-bound, bound));
                break;
            case Initialization.He:
                double std = Math.Sqrt(2.0 / fanIn);
                for (int i = 0; i < w.Length; i++) w[i] = T.CreateTruncating(std * rng.NextNormal());
                b.Clear();
                break;
            default:
                double a = Math.Sqrt(6.0 / (fanIn + fanOut));
                for (int i = 0; i < w.Length; i++) w[i] = T.CreateTruncating(rng.Uniform(-a, a));
                b.Clear();
                break;
        }
    }
}
