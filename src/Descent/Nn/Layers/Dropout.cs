using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// Dropout, as PyTorch's <c>nn.Dropout(p)</c>: in training mode each input is zeroed with probability
/// <c>p</c> and the rest are scaled by <c>1 / (1 - p)</c>, so the expected output equals the input; in
/// evaluation mode it passes the input through. The mask is drawn from the layer's own seeded generator
/// (one uniform draw per input, zeroed when below <c>p</c>), so a run is reproducible, but the masks are
/// not PyTorch's. No parameters.
/// </summary>
public sealed class Dropout<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Rng _rng;
    private AlignedArray<T> _mask = AlignedArray<T>.Empty;

    /// <summary>Drops inputs of <paramref name="shape"/> with probability <paramref name="p"/>, drawing from <paramref name="rng"/>.</summary>
    public Dropout(IReadOnlyList<int> shape, double p, Rng rng) : base(shape, shape)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentException($"Invalid dropout probability {p}: must be in [0, 1).");
        ArgumentNullException.ThrowIfNull(rng);
        P = p;
        _rng = rng;
    }

    /// <summary>Probability of zeroing an input.</summary>
    public double P { get; }

    /// <summary>The generator the masks are drawn from (saved as <c>generator</c> by <see cref="Layer{T}.SaveState"/>).</summary>
    public Rng Generator => _rng;

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Rng Generator)> OwnGenerators => [("generator", _rng)];

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        if (!Training || P == 0)
        {
            input[..y.Length].CopyTo(y);
            return y;
        }
        var mask = Grow(ref _mask, y.Length);
        T keep = T.One / (T.One - T.CreateTruncating(P));
        for (int i = 0; i < y.Length; i++)
        {
            mask[i] = _rng.NextDouble() < P ? T.Zero : keep;
            y[i] = input[i] * mask[i];
        }
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        if (inputGradient.IsEmpty) return;
        int n = batch * InputSize;
        if (!Training || P == 0)
        {
            outputGradient[..n].CopyTo(inputGradient);
            return;
        }
        for (int i = 0; i < n; i++) inputGradient[i] = outputGradient[i] * _mask[i];
    }

    /// <summary>The identity in evaluation mode; in training mode a Hessian of a random mask would change with every draw, so it is refused.</summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        if (Training && P > 0)
            throw new InvalidOperationException("Dropout: Hessian-vector products need evaluation mode (set Training = false on the model), where dropout is the identity.");
        var ry = ROutput(batch);
        rInput[..ry.Length].CopyTo(ry);
        return ry;
    }

    /// <inheritdoc/>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch) => Backward(input, rOutputGradient, rInputGradient, batch);
}
