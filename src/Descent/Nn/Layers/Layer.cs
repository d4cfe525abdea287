using System.Numerics;
using System.Runtime.InteropServices;
using Descent.Numerics;
using Descent.State;

namespace Descent.Nn;

/// <summary>
/// One piece of a network with its forward and backward pass, the counterpart of a PyTorch
/// <c>nn.Module</c>. Shapes are per example (<see cref="InputShape"/>, <see cref="OutputShape"/>, e.g.
/// <c>[C, H, W]</c>); a batch is <c>batch</c> examples laid end to end, row-major, as PyTorch lays out
/// <c>(N, C, H, W)</c>. A layer owns its output and scratch buffers, grown only when a larger batch
/// arrives, so training allocates nothing once the largest batch has been seen.
/// </summary>
/// <remarks>
/// Parameters are declared by name (<c>weight</c>, <c>bias</c>) and live in one flat value buffer and one
/// flat gradient buffer per layer; a composite (<see cref="Sequential{T}"/>, <see cref="Residual{T}"/>) moves
/// its children's parameters into its own flat buffers, in order, and names them by their path
/// (<c>0.weight</c>, <c>3.bias</c>), so the outermost layer holds every parameter of the model contiguously,
/// named as PyTorch's <c>state_dict()</c> names them.
/// </remarks>
/// <typeparam name="T"><see cref="float"/> for training, <see cref="double"/> for gradient checks.</typeparam>
public abstract class Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<(string Name, int[] Shape)> _declared = [];
    private Parameter<T>[] _parameters = [];
    private Memory<T> _values = Memory<T>.Empty, _grads = Memory<T>.Empty;
    private AlignedArray<T> _output = AlignedArray<T>.Empty, _rOutput = AlignedArray<T>.Empty;
    private bool _training = true;
    private string _prefix = "";
    private int _ownBound;

    /// <summary>Creates a layer that maps examples of <paramref name="inputShape"/> to examples of <paramref name="outputShape"/>.</summary>
    protected Layer(IReadOnlyList<int> inputShape, IReadOnlyList<int> outputShape)
    {
        InputShape = CheckShape(inputShape, "input");
        OutputShape = CheckShape(outputShape, "output");
        InputSize = Product(InputShape);
        OutputSize = Product(OutputShape);
    }

    /// <summary>Shape of one input example (without the batch dimension).</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>Shape of one output example.</summary>
    public IReadOnlyList<int> OutputShape { get; }

    /// <summary>Numbers per input example.</summary>
    public int InputSize { get; }

    /// <summary>Numbers per output example.</summary>
    public int OutputSize { get; }

    /// <summary>The parameters of this layer and the layers inside it, in <see cref="Values"/> order, named by their path.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>The parameters this layer declares itself, without its children's (PyTorch's <c>parameters(recurse=False)</c>).</summary>
    public IEnumerable<Parameter<T>> OwnParameters => _parameters.Take(_declared.Count);

    /// <summary>This layer and every layer inside it, depth first, in parameter order (PyTorch's <c>modules()</c>).</summary>
    public IEnumerable<Layer<T>> Modules()
    {
        yield return this;
        foreach (var (_, child) in Children)
            foreach (var m in child.Modules()) yield return m;
    }

    /// <summary>Every parameter value laid end to end, in <see cref="Parameters"/> order.</summary>
    public Span<T> Values => _values.Span;

    /// <summary>Every gradient laid end to end.</summary>
    public Span<T> Gradients => _grads.Span;

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad() => _grads.Span.Clear();

    /// <summary>
    /// Training mode (the default) or evaluation mode, as PyTorch's <c>train()</c> and <c>eval()</c>:
    /// dropout is active and batch normalization uses and updates batch statistics only in training mode.
    /// </summary>
    public bool Training
    {
        get => _training;
        set
        {
            _training = value;
            foreach (var (_, child) in Children) child.Training = value;
        }
    }

    /// <summary>
    /// Tensors that are part of the model's state but not trained (batch normalization's running statistics),
    /// named by their path as in PyTorch's <c>state_dict()</c>.
    /// </summary>
    public IEnumerable<(string Name, IReadOnlyList<int> Shape, Memory<T> Value)> Buffers()
    {
        foreach (var (name, shape, value) in OwnBuffers) yield return (_prefix + name, shape, value);
        foreach (var (_, child) in Children)
            foreach (var buffer in child.Buffers()) yield return buffer;
    }

    /// <summary>This layer's own buffers, by their names within it.</summary>
    protected virtual IEnumerable<(string Name, IReadOnlyList<int> Shape, Memory<T> Value)> OwnBuffers => [];

    /// <summary>The random generators of this layer and the layers inside it (dropout masks), named by their path.</summary>
    public IEnumerable<(string Name, Rng Generator)> Generators()
    {
        foreach (var (name, rng) in OwnGenerators) yield return (_prefix + name, rng);
        foreach (var (_, child) in Children)
            foreach (var generator in child.Generators()) yield return generator;
    }

    /// <summary>This layer's own random generators, by their names within it.</summary>
    protected virtual IEnumerable<(string Name, Rng Generator)> OwnGenerators => [];

    /// <summary>
    /// Writes what a resumed run needs beyond the parameters, under <paramref name="prefix"/>: the buffers
    /// (batch-norm statistics) and the random generators' exact states.
    /// </summary>
    public void SaveState(StateDict state, string prefix)
    {
        foreach (var (name, _, value) in Buffers())
        {
            if (typeof(T) == typeof(float)) state.Set($"{prefix}.{name}", MemoryMarshal.Cast<T, float>(value.Span));
            else state.Set($"{prefix}.{name}", MemoryMarshal.Cast<T, double>(value.Span));
        }
        foreach (var (name, rng) in Generators()) rng.SaveState(state, $"{prefix}.{name}");
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    public void LoadState(StateDict state, string prefix)
    {
        foreach (var (name, _, value) in Buffers()) state.CopyTo($"{prefix}.{name}", value.Span);
        foreach (var (name, rng) in Generators()) rng.LoadState(state, $"{prefix}.{name}");
    }

    /// <summary>
    /// Runs the layer on <paramref name="batch"/> examples of <paramref name="input"/> and returns the output,
    /// valid until the next call. What <see cref="Backward"/> needs is kept.
    /// </summary>
    public abstract ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch);

    /// <summary>
    /// <see cref="Forward"/> on the examples <paramref name="rows"/> of <paramref name="source"/> (<see cref="InputSize"/> values each),
    /// which it first copies into <paramref name="input"/>, the input to give <see cref="Backward"/>: a minibatch drawn from a
    /// dataset. A layer may gather the examples while it works on them (a dense layer with few outputs does), with the same numbers.
    /// </summary>
    public virtual ReadOnlySpan<T> ForwardRows(ReadOnlySpan<T> source, ReadOnlySpan<int> rows, Span<T> input)
    {
        CheckInput(input, rows.Length);
        Kernels.Gather(source, rows, InputSize, input);
        return Forward(input, rows.Length);
    }

    /// <summary>
    /// Given the <paramref name="input"/> of the last <see cref="Forward"/> and <paramref name="outputGradient"/>
    /// (<c>d loss / d output</c>), writes <c>d loss / d input</c> into <paramref name="inputGradient"/> (skipped
    /// when it is empty) and adds <c>d loss / d parameters</c> to the gradients, or overwrites them when
    /// <paramref name="accumulate"/> is false.
    /// </summary>
    public abstract void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true);

    /// <summary>
    /// Pearlmutter's R-operator, forward: with the parameters moving along <paramref name="direction"/> (this layer's
    /// slice of <c>v</c>, in <see cref="Values"/> order) and the input along <paramref name="rInput"/>, returns the
    /// output's directional derivative <c>R{y} = d/dt y(w + t v)</c> at t = 0, valid until the next call. Call it
    /// after <see cref="Forward"/> on the same <paramref name="input"/> (it reads what the forward pass kept).
    /// Together with <see cref="RBackward"/> it gives exact Hessian-vector products (Analysis.HessianVectorProduct).
    /// </summary>
    public virtual ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch) =>
        throw NoHessian();

    /// <summary>
    /// Pearlmutter's R-operator, backward: given the <paramref name="input"/> and <paramref name="rInput"/> of the last
    /// <see cref="RForward"/>, the output gradient <c>dy</c> and its derivative <c>R{dy}</c>, writes
    /// <c>R{d loss / d input}</c> into <paramref name="rInputGradient"/> (skipped when empty) and adds
    /// <c>R{d loss / d parameters}</c>, this layer's rows of <c>H v</c>, to <paramref name="rGradient"/>. A composite
    /// runs its children's <see cref="Backward"/> for the gradients between them, which overwrites
    /// <see cref="Gradients"/>.
    /// </summary>
    public virtual void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch) => throw NoHessian();

    /// <summary>The output of the last <see cref="RForward"/> on <paramref name="batch"/> examples.</summary>
    public virtual ReadOnlySpan<T> LastROutput(int batch) => _rOutput.AsSpan(0, batch * OutputSize);

    /// <summary>This layer's buffer for <see cref="RForward"/>'s output, grown when a larger batch arrives.</summary>
    protected Span<T> ROutput(int batch) => Grow(ref _rOutput, batch * OutputSize);

    private NotSupportedException NoHessian() =>
        new($"{GetType().Name.Split('`')[0]} has no Hessian-vector product (R-operator); curvature is available for networks of Linear, Conv2d, pooling, Flatten, activations, Residual, and BatchNorm and Dropout in evaluation mode.");

    /// <summary>
    /// Draws the parameters by <paramref name="initialization"/>, layer by layer in order, weights before biases;
    /// <see cref="Initialization.Torch"/> draws as PyTorch's constructors draw (their bounds, not their random numbers).
    /// </summary>
    public virtual void Initialize(Initialization initialization, Rng rng)
    {
        foreach (var (_, child) in Children) child.Initialize(initialization, rng);
    }

    /// <summary>The layers inside this one, with the names their parameters are prefixed with.</summary>
    protected virtual IEnumerable<(string Name, Layer<T> Layer)> Children => [];

    /// <summary>Declares a parameter of this layer (call from the constructor); <see cref="Parameter"/> returns it by its index.</summary>
    protected int Declare(string name, params int[] shape)
    {
        _declared.Add((name, shape));
        Bind("", Memory<T>.Empty, Memory<T>.Empty);
        return _declared.Count - 1;
    }

    /// <summary>This layer's own parameter number <paramref name="index"/> (in declaration order).</summary>
    protected Parameter<T> Parameter(int index) => _parameters[index];

    /// <summary>
    /// Gathers the parameters of the children into this layer's flat buffers, keeping their values (call
    /// from a composite's constructor once its children are known).
    /// </summary>
    protected void Adopt() => Bind("", Memory<T>.Empty, Memory<T>.Empty);

    /// <summary>
    /// Renames every parameter with <paramref name="prefix"/> in front of its path (PyTorch's name for a
    /// module held as an attribute, such as <c>layers.</c>). Parameter objects are replaced: rename before
    /// giving <see cref="Parameters"/> to an optimizer.
    /// </summary>
    public void Rename(string prefix) => Bind(prefix, _values, _grads);

    /// <summary>
    /// Makes this layer a replica of <paramref name="source"/>, a layer of the same architecture: its parameters become
    /// views of the source's values (one set of weights, updated once, seen by both) with gradients of their own, so that
    /// the two can run forward and backward passes on different examples at once (data-parallel training). Buffers
    /// (batch-norm statistics) and random generators stay the replica's own.
    /// </summary>
    public void ShareValuesWith(Layer<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.Parameters.Select(p => (p.Name, p.Length)).SequenceEqual(Parameters.Select(p => (p.Name, p.Length))))
            throw new ArgumentException("A replica needs the parameters of its source: the same names and sizes, in the same order.");
        source._values.Span.CopyTo(_values.Span);   // Binding copies this layer's values over the source's: make them the same first.
        Bind(source._prefix, source._values, new AlignedArray<T>(source._values.Length).AsMemory());
    }

    /// <summary>
    /// Puts the parameters under <paramref name="prefix"/> into <paramref name="values"/> and <paramref name="grads"/>
    /// (fresh buffers of the right size when empty), copying the current values over.
    /// </summary>
    private void Bind(string prefix, Memory<T> values, Memory<T> grads)
    {
        long sum = 0;
        foreach (var (_, shape) in _declared) sum += Product(shape);
        foreach (var (_, child) in Children) sum += child._values.Length;
        if (sum > Array.MaxLength)
            throw new ArgumentException($"{GetType().Name}: {sum:N0} parameters exceed the {Array.MaxLength:N0} one buffer holds; use smaller layers.");
        int total = (int)sum;
        if (values.IsEmpty && total > 0)
        {
            values = new AlignedArray<T>(total).AsMemory();
            grads = new AlignedArray<T>(total).AsMemory();
        }
        if (values.Length != total || grads.Length != total)
            throw new ArgumentException($"{GetType().Name}: {total} parameters need buffers of that size, got {values.Length} and {grads.Length}.");
        var parameters = new List<Parameter<T>>();
        int offset = 0;
        for (int i = 0; i < _declared.Count; i++)
        {
            var (name, shape) = _declared[i];
            int n = Product(shape);
            if (i < _ownBound && !_parameters[i].Value.Equals(values.Slice(offset, n))) _parameters[i].Value.Span.CopyTo(values.Span.Slice(offset, n));
            parameters.Add(new Parameter<T>(prefix + name, shape, values.Slice(offset, n), grads.Slice(offset, n)));
            offset += n;
        }
        foreach (var (name, child) in Children)
        {
            int n = child._values.Length;
            if (!child._values.Equals(values.Slice(offset, n))) child._values.Span.CopyTo(values.Span.Slice(offset, n));
            child.Bind(prefix + name + ".", values.Slice(offset, n), grads.Slice(offset, n));
            parameters.AddRange(child._parameters);
            offset += n;
        }
        // The first parameters are this layer's own, in declaration order; Parameter(i) reads them from here.
        _parameters = [.. parameters];
        _values = values;
        _grads = grads;
        _prefix = prefix;
        _ownBound = _declared.Count;
    }

    /// <summary>The output of the last <see cref="Forward"/> on <paramref name="batch"/> examples.</summary>
    public virtual ReadOnlySpan<T> LastOutput(int batch) => _source is { } source ? source.LastOutput(batch) : _output.AsSpan(0, batch * OutputSize);

    /// <summary>
    /// True when <see cref="Sequential{T}"/> has made this layer pass its input on unchanged, in the same memory, with
    /// no pass of its own: a <see cref="Flatten{T}"/> (the same numbers seen with another shape), and a ReLU that the max
    /// pooling right after it applies to its own outputs (see <see cref="Pool2d{T}"/>). Its forward pass then returns its
    /// input, its <see cref="LastOutput"/> is the layer before it's (for such a ReLU: the values before rectification),
    /// and <see cref="Sequential{T}"/> skips its backward pass (the pooling's gradient is already zero where the
    /// ReLU's would be). The model's outputs and gradients are the same either way (a first convolution before the pooling
    /// rounds its kernel gradient differently then: see <see cref="Conv2d{T}.BackwardThroughPooling"/>).
    /// </summary>
    public bool PassesThrough => _source is not null;

    /// <summary>The layer before this one, whose output this one passes on when <see cref="PassesThrough"/>.</summary>
    private Layer<T>? _source;

    /// <summary>Makes this layer pass on the output of <paramref name="source"/>, the layer before it (see <see cref="PassesThrough"/>).</summary>
    internal void PassThrough(Layer<T>? source) => _source = source;

    /// <summary>This layer's output buffer for <paramref name="batch"/> examples, grown when a larger batch arrives.</summary>
    protected Span<T> Output(int batch) => Grow(ref _output, batch * OutputSize);

    /// <summary>
    /// The first <paramref name="length"/> entries of <paramref name="buffer"/>, reallocated only when it is too short.
    /// Layers keep their buffers as <see cref="AlignedArray{T}"/>, starting on a cache line, as the matrix kernel reads them fastest.
    /// </summary>
    private protected static Span<TItem> Grow<TItem>(ref AlignedArray<TItem> buffer, int length) where TItem : unmanaged
    {
        if (buffer.Length < length) buffer = new AlignedArray<TItem>(length);
        return buffer.AsSpan(0, length);
    }

    /// <summary>Throws unless <paramref name="input"/> holds <paramref name="batch"/> examples and <paramref name="batch"/> is positive.</summary>
    protected void CheckInput(ReadOnlySpan<T> input, int batch)
    {
        if (batch < 1) throw new ArgumentException($"{GetType().Name}: the batch must hold at least one example, got {batch}.");
        if (input.Length < batch * InputSize)
            throw new ArgumentException($"{GetType().Name}: {batch} examples of shape [{string.Join(", ", InputShape)}] need {batch * InputSize} inputs, got {input.Length}.");
    }

    /// <summary>Draws every entry of <paramref name="values"/> from <c>N(0, 1)</c>, in order.</summary>
    protected static void FillNormal(Span<T> values, Rng rng)
    {
        for (int i = 0; i < values.Length; i++) values[i] = T.CreateTruncating(rng.NextNormal());
    }

    /// <summary>The number of entries of a tensor of <paramref name="shape"/>.</summary>
    protected static int Product(IReadOnlyList<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            n *= d;
            if (n > Array.MaxLength)
                throw new ArgumentException($"A tensor of shape [{string.Join(", ", shape)}] is too large: its entries exceed the {Array.MaxLength:N0} one buffer holds; use smaller layers.");
        }
        return (int)n;
    }

    private int[] CheckShape(IReadOnlyList<int> shape, string what)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
            if (d < 1) throw new ArgumentException($"{GetType().Name}: every {what} dimension must be at least 1, got [{string.Join(", ", shape)}].");
        return [.. shape];
    }
}
