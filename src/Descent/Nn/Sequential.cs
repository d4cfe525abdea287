using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// A feedforward network: dense layers with an activation after each hidden one, like PyTorch's
/// <c>nn.Sequential(nn.Linear, act, nn.Linear, act, ..., nn.Linear)</c> and named the same way
/// (<c>layers.0.weight</c>, <c>layers.0.bias</c>, <c>layers.2.weight</c>, ...). Weights are stored as
/// PyTorch stores them (<c>[out, in]</c>), all parameters in one flat buffer and all gradients in
/// another, so optimizers and checkpoints see contiguous memory. Forward and backward run on minibatches
/// (<c>[batch, features]</c>, row-major) and allocate nothing once the largest batch has been seen.
/// </summary>
public sealed class Sequential<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _sizes;
    private readonly Parameter<T>[] _weights, _biases;
    private readonly T[] _values, _grads;
    private T[][] _pre = [], _post = [], _delta = [];
    private readonly T[] _transposed;
    private int _capacity;

    /// <summary>Creates a network with layer widths <paramref name="sizes"/> (inputs, hidden..., outputs), initialized from <paramref name="rng"/>.</summary>
    public Sequential(IReadOnlyList<int> sizes, Activation activation, Initialization initialization, Rng rng)
    {
        if (sizes.Count < 2) throw new ArgumentException("A network needs at least an input and an output size.");
        foreach (int s in sizes)
            if (s < 1) throw new ArgumentException($"Invalid layer sizes [{string.Join(", ", sizes)}]: every width must be at least 1.");
        _sizes = [.. sizes];
        Activation = activation;
        int layers = _sizes.Length - 1;
        long total = 0;
        for (int l = 0; l < layers; l++) total += (long)_sizes[l] * _sizes[l + 1] + _sizes[l + 1];
        _values = new T[checked((int)total)];
        _grads = new T[_values.Length];
        _weights = new Parameter<T>[layers];
        _biases = new Parameter<T>[layers];
        int offset = 0;
        var all = new List<Parameter<T>>();
        for (int l = 0; l < layers; l++)
        {
            int n = _sizes[l], m = _sizes[l + 1];
            string name = $"layers.{2 * l}";
            _weights[l] = new Parameter<T>(name + ".weight", [m, n], _values.AsMemory(offset, m * n), _grads.AsMemory(offset, m * n));
            offset += m * n;
            _biases[l] = new Parameter<T>(name + ".bias", [m], _values.AsMemory(offset, m), _grads.AsMemory(offset, m));
            offset += m;
            all.Add(_weights[l]);
            all.Add(_biases[l]);
        }
        Parameters = all;
        int widest = 0;
        for (int l = 0; l < layers; l++) widest = Math.Max(widest, _sizes[l] * _sizes[l + 1]);
        _transposed = new T[widest];
        Initialize(initialization, rng);
    }

    /// <summary>Layer widths: inputs, hidden layers, outputs.</summary>
    public IReadOnlyList<int> Sizes => _sizes;

    /// <summary>The activation after each hidden layer.</summary>
    public Activation Activation { get; }

    /// <summary>Number of inputs per example.</summary>
    public int Inputs => _sizes[0];

    /// <summary>Number of outputs per example.</summary>
    public int Outputs => _sizes[^1];

    /// <summary>Weights and biases in order (<c>layers.0.weight</c>, <c>layers.0.bias</c>, ...).</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>All parameter values laid end to end, in <see cref="Parameters"/> order.</summary>
    public Span<T> Values => _values;

    /// <summary>All gradients laid end to end.</summary>
    public Span<T> Gradients => _grads;

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad() => _grads.AsSpan().Clear();

    /// <summary>Redraws every weight and bias.</summary>
    public void Initialize(Initialization initialization, Rng rng)
    {
        for (int l = 0; l < _weights.Length; l++)
        {
            int fanIn = _sizes[l], fanOut = _sizes[l + 1];
            var w = _weights[l].Value.Span;
            var b = _biases[l].Value.Span;
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

    /// <summary>
    /// Runs the network on <paramref name="batch"/> examples <paramref name="inputs"/> (<c>[batch, Inputs]</c>)
    /// and returns the outputs (<c>[batch, Outputs]</c>), valid until the next call; the intermediate
    /// values are kept for <see cref="Backward"/>.
    /// </summary>
    public ReadOnlySpan<T> Forward(ReadOnlySpan<T> inputs, int batch)
    {
        if (inputs.Length < batch * Inputs)
            throw new ArgumentException($"Forward: {batch} examples of {Inputs} features need {batch * Inputs} inputs, got {inputs.Length}.");
        Reserve(batch);
        ReadOnlySpan<T> x = inputs[..(batch * Inputs)];
        int last = _weights.Length - 1;
        for (int l = 0; l <= last; l++)
        {
            int n = _sizes[l], m = _sizes[l + 1];
            var pre = _pre[l].AsSpan(0, batch * m);
            Kernels.LinearForward(x, _weights[l].Value.Span, _biases[l].Value.Span, pre, batch, n, m, _transposed);
            if (l == last) return pre;
            var post = _post[l].AsSpan(0, batch * m);
            Activations.Forward(Activation, pre, post);
            x = post;
        }
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>
    /// Accumulates into the gradients <c>d loss / d parameters</c> for the last <see cref="Forward"/>,
    /// given <paramref name="outputGradient"/> = <c>d loss / d outputs</c>; with <paramref name="accumulate"/>
    /// false it overwrites them instead (the same as <see cref="ZeroGrad"/> first, without the extra pass).
    /// </summary>
    public void Backward(ReadOnlySpan<T> inputs, ReadOnlySpan<T> outputGradient, int batch, bool accumulate = true)
    {
        ReadOnlySpan<T> dy = outputGradient[..(batch * Outputs)];
        for (int l = _weights.Length - 1; l >= 0; l--)
        {
            int n = _sizes[l], m = _sizes[l + 1];
            ReadOnlySpan<T> x = l == 0 ? inputs[..(batch * n)] : _post[l - 1].AsSpan(0, batch * n);
            Span<T> dx = l == 0 ? [] : _delta[l - 1].AsSpan(0, batch * n);
            Kernels.LinearBackward(x, _weights[l].Value.Span, dy, _weights[l].Grad.Span, _biases[l].Grad.Span, dx, batch, n, m, _transposed, accumulate);
            if (l == 0) return;
            // Through the activation of layer l - 1: d pre = d post * f'(pre).
            Activations.Backward(Activation, _pre[l - 1].AsSpan(0, batch * n), _post[l - 1].AsSpan(0, batch * n), dx, dx);
            dy = dx;
        }
    }

    private void Reserve(int batch)
    {
        if (batch <= _capacity) return;
        int layers = _weights.Length;
        _pre = new T[layers][];
        _post = new T[layers][];
        _delta = new T[layers][];
        for (int l = 0; l < layers; l++)
        {
            _pre[l] = new T[batch * _sizes[l + 1]];
            _post[l] = new T[batch * _sizes[l + 1]];
            _delta[l] = new T[batch * _sizes[l + 1]];
        }
        _capacity = batch;
    }
}
