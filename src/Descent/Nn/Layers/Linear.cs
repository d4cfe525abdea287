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

    /// <summary>
    /// Whether <see cref="CrossEntropyRows"/> serves this layer: examples of one input vector each, rows of at least 1 KB (a
    /// minibatch of them comes from memory) and fewer outputs than two vectors hold (the forward pass takes dot products).
    /// </summary>
    public bool TakesSlices => WhyNoSlices is null;

    private string? WhyNoSlices =>
        InputSize != _in ? $"its inputs are sequences of {InputSize / _in} vectors of {_in} (flatten them first)"
        : _in * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() < 1024 ? $"its rows of {_in} inputs are under 1 KB, so a minibatch of them stays in the cache anyway"
        : !Kernels.FewOutputs<T>(_out) ? $"its {_out} outputs are more than its forward pass takes dot products for ({2 * Vector<T>.Count - 1} at this vector width)"
        : null;

    /// <summary>
    /// A softmax regression's step on a minibatch: the mean cross-entropy of this layer's outputs for examples
    /// <paramref name="rows"/> of <paramref name="source"/> against <paramref name="labels"/>, its gradient with
    /// respect to the outputs in <paramref name="outputGradient"/> (times <paramref name="share"/>, a shard's part of a
    /// minibatch, else one), and the weight and bias gradients overwritten: <see cref="ForwardRows"/>,
    /// <see cref="Losses.Evaluate"/>, the share and <see cref="Backward"/> without accumulating, but <see cref="SliceRows"/>
    /// examples at a time, so that each slice, fetched from memory by the forward pass, is still in the cache when the
    /// backward pass reads it again through <paramref name="rows"/> (nothing is copied), and the fetch of the next
    /// slice goes on meanwhile. The outputs and every gradient are the same bit for bit (each weight's gradient is one
    /// chain of multiply-adds over the examples either way); the loss sums its rows in another order (the same within
    /// double rounding). No copy of the minibatch is left for a later pass. Unlike the passes apart, the gradients are
    /// written even when the loss is not finite (they hold no meaning then). Rows and labels are checked before
    /// anything is written.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer does not take its steps in slices (<see cref="TakesSlices"/>).</exception>
    /// <exception cref="ArgumentException">No rows, too few labels or output gradients, or a label that is not a class.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A row that <paramref name="source"/> does not hold.</exception>
    public double CrossEntropyRows(ReadOnlySpan<T> source, ReadOnlySpan<int> rows, ReadOnlySpan<int> labels, Span<T> outputGradient, T share)
    {
        int batch = rows.Length;
        if (WhyNoSlices is { } why)
            throw new InvalidOperationException($"Linear: this {_in} -> {_out} layer does not take its steps in slices: {why}. Use ForwardRows, Losses.Evaluate and Backward.");
        if (batch < 1) throw new ArgumentException("Linear: a step needs at least one example; the rows are empty.");
        if (labels.Length < batch || outputGradient.Length < batch * _out)
            throw new ArgumentException($"Linear: a step on {batch} examples needs {batch} labels and {batch * _out} output gradients; got {labels.Length} and {outputGradient.Length}.");
        Kernels.CheckRows(source, rows, _in);
        foreach (int label in labels[..batch])
            if ((uint)label >= (uint)_out) throw new ArgumentException($"Linear: label {label} is not one of the layer's {_out} classes (0 to {_out - 1}).");
        var y = Output(batch);
        double total = 0;
        for (int s = 0; s < batch; s += SliceRows)
        {
            int n = Math.Min(SliceRows, batch - s);
            var z = y.Slice(s * _out, n * _out);
            Kernels.LinearForwardSlice(source, rows[s..], n, Weight.Value.Span, Bias.Value.Span, z, _in, _out);
            var dz = outputGradient.Slice(s * _out, n * _out);
            total += Losses.CrossEntropySum<T>(z, labels.Slice(s, n), dz, batch);
            Kernels.Scale(dz, share);
            Kernels.LinearBackwardSlice<T>(source, rows[s..], n, dz, Weight.Grad.Span, Bias.Grad.Span, _in, _out, accumulate: s > 0);
        }
        return total / batch;
    }

    /// <summary>
    /// Examples per slice of <see cref="CrossEntropyRows"/>: 32 rows of 784 floats (100 KB) stay in the L2 cache. (mnist-linear at
    /// batch 1,000, 2026-12-03: slices of 16 measured slower than the whole batch at once, 32 best, 64 between.)
    /// </summary>
    public static int SliceRows => 32;

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
