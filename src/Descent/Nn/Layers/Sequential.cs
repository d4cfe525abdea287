using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// Layers applied one after another, PyTorch's <c>nn.Sequential</c>: the output of each is the input of the
/// next, and the parameters of layer <c>i</c> are named <c>i.weight</c>, <c>i.bias</c>, ... (layers without
/// parameters still take their number), all in one flat value buffer and one flat gradient buffer, so
/// optimizers and checkpoints see contiguous memory.
/// </summary>
/// <remarks>
/// Built from layer widths it is the feedforward network of <c>descent train --hidden</c>: dense layers with
/// an activation after each hidden one, <c>nn.Sequential(nn.Linear, act, nn.Linear, act, ..., nn.Linear)</c>
/// held as the attribute <c>layers</c> of a module, so named <c>layers.0.weight</c>, <c>layers.0.bias</c>,
/// <c>layers.2.weight</c>, ... Weights are stored as PyTorch stores them (<c>[out, in]</c>).
/// </remarks>
public sealed class Sequential<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Layer<T>[] _layers;
    private readonly int[] _sizes;
    private AlignedArray<T>[] _deltas, _rDeltas;

    /// <summary>Chains <paramref name="layers"/>; each layer's input shape must be the output shape of the one before.</summary>
    public Sequential(IReadOnlyList<Layer<T>> layers) : base(First(layers).InputShape, layers[^1].OutputShape)
    {
        for (int i = 1; i < layers.Count; i++)
            if (!layers[i].InputShape.SequenceEqual(layers[i - 1].OutputShape))
                throw new ArgumentException($"Sequential: layer {i} ({layers[i].GetType().Name}) takes [{string.Join(", ", layers[i].InputShape)}] but layer {i - 1} ({layers[i - 1].GetType().Name}) gives [{string.Join(", ", layers[i - 1].OutputShape)}].");
        _layers = [.. layers];
        _sizes = [];
        _deltas = new AlignedArray<T>[_layers.Length - 1];
        _rDeltas = new AlignedArray<T>[_layers.Length - 1];
        for (int i = 0; i < _deltas.Length; i++) _deltas[i] = _rDeltas[i] = AlignedArray<T>.Empty;
        Adopt();
        // Layers that need no pass of their own after another layer: a flattening (the same numbers), and a ReLU before
        // max pooling, which the pooling applies to its outputs. Arrangements from another Sequential are undone first.
        foreach (var layer in _layers)
        {
            layer.PassThrough(null);
            if (layer is Pool2d<T> p) p.Rectifies = false;
        }
        for (int i = 1; i < _layers.Length; i++)
        {
            if (_layers[i] is Flatten<T>) _layers[i].PassThrough(_layers[i - 1]);
            if (i + 1 < _layers.Length && _layers[i] is Nonlinearity<T> { Activation: Activation.ReLU } && _layers[i + 1] is Pool2d<T> { Pooling: Pooling.Max } pool)
            {
                _layers[i].PassThrough(_layers[i - 1]);
                pool.Rectifies = true;
            }
        }
    }

    /// <summary>
    /// The feedforward network with layer widths <paramref name="sizes"/> (inputs, hidden..., outputs), named as
    /// the attribute <c>layers</c> of a PyTorch module, its weights drawn from <paramref name="rng"/>.
    /// </summary>
    public Sequential(IReadOnlyList<int> sizes, Activation activation, Initialization initialization, Rng rng)
        : this(Dense(sizes, activation))
    {
        _sizes = [.. sizes];
        Activation = activation;
        Rename("layers.");
        Initialize(initialization, rng);
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<Layer<T>> Layers => _layers;

    /// <summary>Layer widths (inputs, hidden layers, outputs) of a network built from widths; empty otherwise.</summary>
    public IReadOnlyList<int> Sizes => _sizes;

    /// <summary>The activation after each hidden layer of a network built from widths.</summary>
    public Activation Activation { get; } = Activation.Identity;

    /// <summary>Number of inputs per example.</summary>
    public int Inputs => InputSize;

    /// <summary>Number of outputs per example.</summary>
    public int Outputs => OutputSize;

    /// <summary>
    /// A clock that times each of <see cref="Layers"/>' passes from now on (null, the default: none). Used by
    /// <c>descent bench --profile</c>; a data-parallel run's replicas each take their own.
    /// </summary>
    /// <exception cref="ArgumentException">The clock is for another number of layers.</exception>
    public LayerClock? Clock
    {
        get => _clock;
        set => _clock = value is null || value.Layers == _layers.Length ? value
            : throw new ArgumentException($"Sequential: a clock for {value.Layers} layers cannot time these {_layers.Length}; make one with new LayerClock({_layers.Length}).");
    }

    private LayerClock? _clock;

    /// <summary>
    /// Called on the thread of the backward pass, at every backward pass of this model (not of a model it is a layer
    /// of), with a layer's index as soon as that layer's backward pass is done: the gradients of its parameters and of every
    /// layer after it are then final for this pass (layers that pass the gradient through, and a pooling whose backward pass
    /// runs inside the convolution's before it, are not reported, and hold no parameters). The data-parallel step sums and
    /// updates a layer's gradients while the shards still run the layers before it.
    /// </summary>
    internal Action<int>? BackwardDone { get; set; }

    /// <summary>The timestamp before a pass when <paramref name="clock"/> times them, else 0.</summary>
    private static long Tick(LayerClock? clock) => clock is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Layer<T> Layer)> Children => _layers.Select((l, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), l));

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        return ForwardFrom(0, input, batch);
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> ForwardRows(ReadOnlySpan<T> source, ReadOnlySpan<int> rows, Span<T> input)
    {
        if (_layers[0] is Conv2d<T> && PoolingAfter(0) is not null)
        {
            CheckInput(input, rows.Length);
            Kernels.Gather(source, rows, InputSize, input);
            return ForwardFrom(0, input, rows.Length);
        }
        var clock = _clock;
        long start = Tick(clock);
        var first = _layers[0].ForwardRows(source, rows, input);
        clock?.Add(0, backward: false, start);
        return ForwardFrom(1, first, rows.Length);
    }

    /// <summary>The forward passes of layers <paramref name="first"/> on, from <paramref name="x"/>.</summary>
    private ReadOnlySpan<T> ForwardFrom(int first, ReadOnlySpan<T> x, int batch)
    {
        var clock = _clock;
        for (int i = first; i < _layers.Length; i++)
        {
            long start = Tick(clock);
            if (_layers[i] is Conv2d<T> conv && PoolingAfter(i) is { } p)
            {
                x = conv.ForwardThroughPooling(x, (Pool2d<T>)_layers[p], batch);
                clock?.Add(i, backward: false, start);
                i = p;
                continue;
            }
            x = _layers[i].Forward(x, batch);
            clock?.Add(i, backward: false, start);
        }
        return x;
    }

    /// <summary>The index of the max pooling that takes layer <paramref name="i"/>'s outputs through layers that pass them through, if any.</summary>
    private int? PoolingAfter(int i)
    {
        int j = i + 1;
        while (j < _layers.Length && _layers[j].PassesThrough) j++;
        return j < _layers.Length && _layers[j] is Pool2d<T> { Pooling: Pooling.Max } ? j : null;
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> LastOutput(int batch) => _layers[^1].LastOutput(batch);

    /// <summary>
    /// Accumulates into the gradients <c>d loss / d parameters</c> for the last <see cref="Forward"/>,
    /// given <paramref name="outputGradient"/> = <c>d loss / d outputs</c>; with <paramref name="accumulate"/>
    /// false it overwrites them instead (the same as <see cref="Layer{T}.ZeroGrad"/> first, without the extra pass).
    /// </summary>
    public void Backward(ReadOnlySpan<T> inputs, ReadOnlySpan<T> outputGradient, int batch, bool accumulate = true) =>
        Backward(inputs, outputGradient, [], batch, accumulate);

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        ReadOnlySpan<T> dy = outputGradient;
        Pool2d<T>? pool = null;
        var clock = _clock;
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            // A layer that passes its input through passes the gradient back as it is.
            if (_layers[i].PassesThrough) continue;
            // A pooling right after a convolution (through layers that pass through, such as the ReLU it applies): the
            // convolution runs the pooling's backward pass with its own, an example at a time, so each example's gradient
            // is read while in the cache (Conv2d.BackwardThroughPooling). Decided here at each call, from the layers as
            // they are now, since layers can be shared by several Sequentials that arrange them differently.
            if (_layers[i] is Pool2d<T> pooling && ConvolutionBefore(i) is { } before)
            {
                (pool, i) = (pooling, before + 1);
                continue;
            }
            // The input of layer i is the output of layer i - 1, still held in its buffer from the forward pass.
            ReadOnlySpan<T> x = i == 0 ? input : _layers[i - 1].LastOutput(batch);
            Span<T> dx = i == 0 ? inputGradient : Grow(ref _deltas[i - 1], batch * _layers[i].InputSize);
            long start = Tick(clock);
            if (pool is not null && _layers[i] is Conv2d<T> conv) conv.BackwardThroughPooling(x, dy, pool, dx, batch, accumulate);
            else _layers[i].Backward(x, dy, dx, batch, accumulate);
            clock?.Add(i, backward: true, start);
            BackwardDone?.Invoke(i);
            pool = null;
            dy = dx;
        }
    }

    /// <summary>
    /// The index of the convolution whose outputs layer <paramref name="i"/> takes, directly or through layers that pass
    /// them through; null when there is none.
    /// </summary>
    private int? ConvolutionBefore(int i)
    {
        int j = i - 1;
        while (j > 0 && _layers[j].PassesThrough) j--;
        return j >= 0 && _layers[j] is Conv2d<T> ? j : null;
    }

    /// <summary>Each layer's <see cref="Layer{T}.RForward"/> in turn, each given its slice of <paramref name="direction"/>.</summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        ReadOnlySpan<T> x = input, rx = rInput;
        int offset = 0;
        foreach (var layer in _layers)
        {
            int count = layer.Values.Length;
            // The R-operators of the layers after a convolution read its outputs, which a forward pass through its pooling
            // did not keep.
            if (layer is Conv2d<T> { OutputsPooled: true }) layer.Forward(x, batch);
            rx = layer.RForward(x, rx, direction.Slice(offset, count), batch);
            x = layer.LastOutput(batch);
            offset += count;
        }
        return rx;
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> LastROutput(int batch) => _layers[^1].LastROutput(batch);

    /// <summary>
    /// From the last layer to the first: the layer's ordinary <see cref="Layer{T}.Backward"/> for the gradient the layer
    /// before it needs, and its <see cref="Layer{T}.RBackward"/> for that gradient's derivative and its rows of <c>H v</c>.
    /// </summary>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch)
    {
        ReadOnlySpan<T> dy = outputGradient, rdy = rOutputGradient;
        int end = direction.Length;
        for (int i = _layers.Length - 1; i >= 0; i--)
        {
            var layer = _layers[i];
            int count = layer.Values.Length, n = batch * layer.InputSize;
            end -= count;
            ReadOnlySpan<T> x = i == 0 ? input : _layers[i - 1].LastOutput(batch);
            ReadOnlySpan<T> rx = i == 0 ? rInput : _layers[i - 1].LastROutput(batch);
            Span<T> dx = i == 0 ? [] : Grow(ref _deltas[i - 1], n);
            Span<T> rdx = i == 0 ? rInputGradient : Grow(ref _rDeltas[i - 1], n);
            if (i > 0) layer.Backward(x, dy, dx, batch, accumulate: false);
            layer.RBackward(x, rx, dy, rdy, direction.Slice(end, count), rdx, rGradient.Slice(end, count), batch);
            dy = dx;
            rdy = rdx;
        }
    }

    private static Layer<T> First(IReadOnlyList<Layer<T>> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) throw new ArgumentException("Sequential needs at least one layer.");
        return layers[0];
    }

    private static Layer<T>[] Dense(IReadOnlyList<int> sizes, Activation activation)
    {
        if (sizes.Count < 2) throw new ArgumentException("A network needs at least an input and an output size.");
        foreach (int s in sizes)
            if (s < 1) throw new ArgumentException($"Invalid layer sizes [{string.Join(", ", sizes)}]: every width must be at least 1.");
        var layers = new List<Layer<T>>();
        for (int l = 0; l + 1 < sizes.Count; l++)
        {
            layers.Add(new Linear<T>(sizes[l], sizes[l + 1]));
            if (l + 2 < sizes.Count) layers.Add(new Nonlinearity<T>(activation, [sizes[l + 1]]));
        }
        return [.. layers];
    }
}
