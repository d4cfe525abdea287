using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// Learned absolute positions, as GPT-2 adds them: <c>y[t] = x[t] + weight[t]</c> for a sequence
/// <c>[T, D]</c>, with <c>weight</c> <c>[T, D]</c> drawn from <c>N(0, 1)</c> (the twin in
/// <c>tools/reference/models.py</c> holds it as a parameter named <c>weight</c>).
/// </summary>
public sealed class PositionalEmbedding<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Positions for sequences of <paramref name="shape"/> (<c>[T, D]</c>).</summary>
    public PositionalEmbedding(IReadOnlyList<int> shape) : base(shape, shape)
    {
        if (shape.Count != 2) throw new ArgumentException($"PositionalEmbedding takes sequences [T, D], got [{string.Join(", ", shape)}].");
        Declare("weight", shape[0], shape[1]);
    }

    /// <summary>One vector per position, <c>[T, D]</c>.</summary>
    public Parameter<T> Weight => Parameter(0);

    /// <summary>Draws every entry from <c>N(0, 1)</c>.</summary>
    public override void Initialize(Initialization initialization, Rng rng) => FillNormal(Weight.Value.Span, rng);

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        var w = Weight.Value.Span;
        for (int b = 0; b < batch; b++)
        {
            var yb = y.Slice(b * InputSize, InputSize);
            input.Slice(b * InputSize, InputSize).CopyTo(yb);
            Numerics.Kernels.Add(yb, w);
        }
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        var dw = Weight.Grad.Span;
        if (!accumulate) dw.Clear();
        for (int b = 0; b < batch; b++) Numerics.Kernels.Add(dw, outputGradient.Slice(b * InputSize, InputSize));
        if (!inputGradient.IsEmpty) outputGradient[..(batch * InputSize)].CopyTo(inputGradient);
    }
}
