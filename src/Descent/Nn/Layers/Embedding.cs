using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// A lookup table of learned vectors, as PyTorch's <c>nn.Embedding(num_embeddings, embedding_dim)</c>: each
/// input is an index (a whole number held in <typeparamref name="T"/>, such as a character's code) and becomes
/// row <c>index</c> of <c>weight</c> (<c>[num, dim]</c>, drawn from <c>N(0, 1)</c> as PyTorch draws it). A
/// sequence <c>[T]</c> becomes <c>[T, dim]</c>. Indices have no gradient; the rows used collect theirs.
/// </summary>
public sealed class Embedding<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _num, _dim;

    /// <summary>A table of <paramref name="num"/> vectors of <paramref name="dim"/> numbers for index sequences of <paramref name="inputShape"/>.</summary>
    public Embedding(IReadOnlyList<int> inputShape, int num, int dim) : base(inputShape, [.. inputShape, dim])
    {
        if (num < 1 || dim < 1) throw new ArgumentException($"Embedding: num_embeddings {num} and embedding_dim {dim} must be at least 1.");
        (_num, _dim) = (num, dim);
        Declare("weight", num, dim);
    }

    /// <summary>The table, <c>[num, dim]</c>.</summary>
    public Parameter<T> Weight => Parameter(0);

    /// <summary>Draws every entry from <c>N(0, 1)</c> (PyTorch's default, whatever the initialization asked for dense layers).</summary>
    public override void Initialize(Initialization initialization, Rng rng) => FillNormal(Weight.Value.Span, rng);

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        var w = Weight.Value.Span;
        for (int i = 0; i < batch * InputSize; i++) w.Slice(Index(input[i]) * _dim, _dim).CopyTo(y.Slice(i * _dim, _dim));
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        var dw = Weight.Grad.Span;
        if (!accumulate) dw.Clear();
        for (int i = 0; i < batch * InputSize; i++) Numerics.Kernels.Add(dw.Slice(Index(input[i]) * _dim, _dim), outputGradient.Slice(i * _dim, _dim));
        if (!inputGradient.IsEmpty) inputGradient[..(batch * InputSize)].Clear();
    }

    private int Index(T value)
    {
        int k = int.CreateSaturating(value);
        if (T.CreateTruncating(k) != value || k < 0 || k >= _num)
            throw new ArgumentException($"Embedding: index {value} is not a whole number in [0, {_num}); the table has {_num} rows.");
        return k;
    }
}
