using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>How <see cref="Pool2d{T}"/> combines the inputs under its window.</summary>
public enum Pooling
{
    /// <summary>The largest input (PyTorch's <c>nn.MaxPool2d</c>); the gradient goes to the first largest.</summary>
    Max,

    /// <summary>The mean of the inputs (PyTorch's <c>nn.AvgPool2d</c>).</summary>
    Average,
}

/// <summary>
/// 2-D max or average pooling over <c>[C, H, W]</c> examples with a square window of side <c>kernel_size</c>,
/// moved by <c>stride</c> (by default the window's side) without padding, as PyTorch's
/// <c>nn.MaxPool2d(kernel_size, stride)</c> and <c>nn.AvgPool2d(kernel_size, stride)</c>:
/// <c>Ho = (H - kernel_size) / stride + 1</c>, rounded down. No parameters.
/// </summary>
public sealed class Pool2d<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _c, _h, _w, _k, _stride, _ho, _wo;
    private AlignedArray<int> _argmax = AlignedArray<int>.Empty;
    private AlignedArray<T> _masked = AlignedArray<T>.Empty;

    /// <summary>Pools <paramref name="inputShape"/> (<c>[C, H, W]</c>) examples.</summary>
    public Pool2d(Pooling pooling, IReadOnlyList<int> inputShape, int kernelSize, int stride = 0)
        : base(inputShape, OutputShapeOf(inputShape, kernelSize, stride == 0 ? kernelSize : stride))
    {
        Pooling = pooling;
        (_c, _h, _w) = (inputShape[0], inputShape[1], inputShape[2]);
        (_k, _stride) = (kernelSize, stride == 0 ? kernelSize : stride);
        (_ho, _wo) = (OutputShape[1], OutputShape[2]);
    }

    /// <summary>Max or average.</summary>
    public Pooling Pooling { get; }

    /// <summary>
    /// Whether max pooling also applies the ReLU before it (set by <see cref="Sequential{T}"/>; see
    /// <see cref="Layer{T}.PassesThrough"/>): each output is <c>relu(max)</c>, equal to the max of the ReLU's
    /// outputs, and its gradient is passed back only where that output is above zero.
    /// </summary>
    internal bool Rectifies { get; set; }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        PoolPlanes(input[..(batch * InputSize)], y, Grow(ref _argmax, y.Length), batch * _c);
        return y;
    }

    /// <summary>
    /// Pools example <paramref name="example"/> of a batch of <paramref name="batch"/> from <paramref name="input"/>, which
    /// holds that example alone, into its place among this layer's outputs: for a convolution that hands each example
    /// to this pooling as soon as it has made it and keeps no batch of outputs (see <see cref="Conv2d{T}.ForwardThroughPooling"/>).
    /// Examples are to be pooled in order: the vector path's lanes past a row's end spill into the outputs that follow.
    /// </summary>
    internal void ForwardExample(ReadOnlySpan<T> input, int example, int batch)
    {
        var y = Output(batch);
        var argmax = Grow(ref _argmax, y.Length);
        int first = example * OutputSize;
        Kernels.PrefetchNext<T>(y, example, OutputSize);
        Kernels.PrefetchNext<int>(argmax, example, OutputSize);
        PoolPlanes(input[..InputSize], y[first..], argmax[first..], _c);
    }

    /// <summary>
    /// Whether <see cref="ForwardExampleChannelLast"/> can pool outputs kept channel-last with rows <paramref name="ld"/>
    /// apart: float max pooling over 2 x 2 windows at stride 2, the rows whole vectors of channels.
    /// </summary>
    internal bool PoolsChannelLast(int ld) => typeof(T) == typeof(float) && Vector.IsHardwareAccelerated && Pooling == Pooling.Max && _k == 2 && _stride == 2
        && ld >= _c && ld % Vector<float>.Count == 0;

    /// <summary>
    /// <see cref="ForwardExample"/> from the example's outputs stored channel-last, position after position with the channels
    /// of position <c>p</c> at <c>from[p * ld ..]</c>, as a Winograd convolution makes them (<see cref="PoolsChannelLast"/>):
    /// each window's four positions are whole vectors of channels, compared as <see cref="MaxWindows"/> compares them, and
    /// the pooled outputs are transposed into channel-first order once, where pooling
    /// the channel-first transpose of the example had needed that of four times as many outputs and rows too short for the
    /// wider vectors. The same numbers and places as <see cref="ForwardExample"/> on the transposed example. The places are
    /// kept channel-last, for <see cref="ExampleInputGradientChannelLast"/>, those of windows whose output the ReLU set to zero
    /// marked (<see cref="Masked"/>), so that pass needs no outputs; the channel-first places are made from them only when
    /// something asks for them (<see cref="Places"/>): of the four batch arrays this pass had written, two remain (the exercise
    /// CNN's second pooling: 1.6 MB less written a step, 0.8 MB less read back).
    /// </summary>
    internal void ForwardExampleChannelLast(ReadOnlySpan<T> from, int ld, int example, int batch)
    {
        if (!PoolsChannelLast(ld) || from.Length < _h * _w * ld)
            throw new ArgumentException($"Pool2d: {from.Length} channel-last inputs with rows {ld} apart cannot be pooled here.");
        var y = Output(batch);
        int lanes = Vector<float>.Count, positions = _ho * _wo;
        var tops = Grow(ref _channelLastTops, positions * ld);
        var places = Grow(ref _channelLastPlaces, batch * positions * ld).Slice(example * positions * ld, positions * ld);
        (_channelLastStride, _placesToMake) = (ld, batch);
        Kernels.PrefetchNext<int>(_channelLastPlaces.AsSpan(0, batch * positions * ld), example, positions * ld);
        Kernels.PrefetchNext<T>(y, example, OutputSize);
        ref float x0 = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(from));
        ref float t0 = ref MemoryMarshal.GetReference(tops);
        ref int p0 = ref MemoryMarshal.GetReference(places);
        for (int o = 0; o < positions; o++)
        {
            // The window's inputs in reading order, as places within the plane.
            int first = WindowStart(o);
            ref float x = ref Unsafe.Add(ref x0, first * ld);
            for (int k = 0; k < ld; k += lanes)
            {
                var (top, best) = Largest(Vector.LoadUnsafe(ref x, (nuint)k), Vector.LoadUnsafe(ref x, (nuint)(ld + k)),
                    Vector.LoadUnsafe(ref x, (nuint)(_w * ld + k)), Vector.LoadUnsafe(ref x, (nuint)((_w + 1) * ld + k)), new Vector<int>(first), _w, Rectifies);
                top.StoreUnsafe(ref t0, (nuint)(o * ld + k));
                if (Rectifies) best = Vector.ConditionalSelect(Vector.LessThanOrEqual(top, Vector<float>.Zero), best | new Vector<int>(Masked), best);
                best.StoreUnsafe(ref p0, (nuint)(o * ld + k));
            }
        }
        Kernels.Transpose<float>(tops, MemoryMarshal.Cast<T, float>(y.Slice(example * OutputSize, OutputSize)), positions, _c, ldFrom: ld);
    }

    /// <summary>
    /// The mark on a channel-last place (<see cref="ForwardExampleChannelLast"/>) whose window's output the ReLU set to zero: no
    /// gradient goes back through it. A bit above any place, so a marked place matches none of its window's inputs.
    /// </summary>
    private const int Masked = 1 << 30;

    /// <summary>
    /// The batch (its size) whose channel-first places of the largest inputs are still to be made from the channel-last ones
    /// that <see cref="ForwardExampleChannelLast"/> keeps, else 0.
    /// </summary>
    private int _placesToMake;

    /// <summary>
    /// The places within their planes of the largest inputs of the last forward pass's <paramref name="batch"/> examples,
    /// channel-first: made here from the channel-last ones (their marks dropped) the first time they are asked for after a
    /// forward pass that pooled channel-last inputs.
    /// </summary>
    private Span<int> Places(int batch)
    {
        if (_placesToMake > 0)
        {
            int made = _placesToMake, positions = _ho * _wo, ld = _channelLastStride;
            var argmax = Grow(ref _argmax, made * OutputSize);
            for (int e = 0; e < made; e++)
                // The places are moved as the floats' bits, not computed with.
                Kernels.Transpose<float>(MemoryMarshal.Cast<int, float>(_channelLastPlaces.AsSpan(e * positions * ld, positions * ld)),
                    MemoryMarshal.Cast<int, float>(argmax.Slice(e * OutputSize, OutputSize)), positions, _c, ldFrom: ld);
            foreach (ref int place in argmax) place &= ~Masked;
            _placesToMake = 0;
        }
        return _argmax.AsSpan(0, Math.Min(_argmax.Length, batch * OutputSize));
    }

    /// <summary>One example's pooled outputs, channel-last, before <see cref="ForwardExampleChannelLast"/> transposes them into the outputs.</summary>
    private AlignedArray<float> _channelLastTops = AlignedArray<float>.Empty;

    /// <summary>
    /// The places of the last forward pass's largest inputs, channel-last, example after example, marked where the ReLU set the
    /// output to zero, when it pooled channel-last inputs (<see cref="ForwardExampleChannelLast"/>; then
    /// <see cref="_channelLastStride"/> is their rows' stride).
    /// </summary>
    private AlignedArray<int> _channelLastPlaces = AlignedArray<int>.Empty;

    /// <summary>The stride of the rows of <see cref="_channelLastPlaces"/> when the last forward pass kept them, else 0.</summary>
    private int _channelLastStride;

    /// <summary>One example's output gradient, channel-last (<see cref="ExampleInputGradientChannelLast"/>).</summary>
    private AlignedArray<float> _channelLastGradient = AlignedArray<float>.Empty;

    /// <summary>
    /// Whether <see cref="ExampleInputGradientChannelLast"/> can write input gradients channel-last with rows <paramref name="ld"/>
    /// apart: the last forward pass pooled channel-last inputs of that stride.
    /// </summary>
    internal bool KeepsChannelLast(int ld) => _channelLastStride == ld && ld > 0;

    /// <summary>
    /// What <see cref="ExampleInputGradient"/> writes for example <paramref name="example"/>, but channel-last, position after
    /// position with the channels of position <c>p</c> at <c>to[p * ld ..]</c>, as a Winograd convolution reads its output
    /// gradient (<see cref="KeepsChannelLast"/>): each window's output gradient, a vector of channels, goes to the one of its
    /// four positions where its largest input was, and zero to the other three; positions under no window get zero. Only
    /// the example's output gradient is transposed, where the channel-first input gradient had to be transposed whole, four
    /// times as many values. The same numbers; the padding lanes past the last channel get zeros.
    /// </summary>
    internal void ExampleInputGradientChannelLast(ReadOnlySpan<T> outputGradient, int example, int batch, Span<T> to, int ld)
    {
        int positions = _ho * _wo, lanes = Vector<float>.Count;
        if (!KeepsChannelLast(ld) || to.Length < _h * _w * ld || outputGradient.Length < (example + 1) * OutputSize
            || _channelLastPlaces.Length < batch * positions * ld || (uint)example >= (uint)batch)
            throw new ArgumentException($"Pool2d: no channel-last input gradient with rows {ld} apart for example {example} of {batch} here.");
        Kernels.PrefetchNext(outputGradient, example, OutputSize);
        Kernels.PrefetchNext<int>(_channelLastPlaces.AsSpan(0, batch * positions * ld), example, positions * ld);
        var dy = Grow(ref _channelLastGradient, positions * ld);
        Kernels.Transpose<float>(MemoryMarshal.Cast<T, float>(outputGradient.Slice(example * OutputSize, OutputSize)), dy, _c, positions, ldTo: ld);
        var dx = MemoryMarshal.Cast<T, float>(to[..(_h * _w * ld)]);
        // An odd side leaves a last row or column under no window.
        if (_h != 2 * _ho || _w != 2 * _wo) dx.Clear();
        ref float g0 = ref MemoryMarshal.GetReference(dy);
        ref int p0 = ref _channelLastPlaces[example * positions * ld];
        ref float x0 = ref MemoryMarshal.GetReference(dx);
        for (int o = 0; o < positions; o++)
        {
            int first = WindowStart(o);
            ref float x = ref Unsafe.Add(ref x0, first * ld);
            for (int k = 0; k < ld; k += lanes)
            {
                nuint at = (nuint)(o * ld + k);
                // As added to a cleared plane: -0 becomes +0.
                var g = Vector.LoadUnsafe(ref g0, at) + Vector<float>.Zero;
                // Where the window's largest input was, from its top left: 0, 1, w or w + 1; none where the ReLU set the output
                // to zero (the place marked).
                var place = Vector.LoadUnsafe(ref p0, at) - new Vector<int>(first);
                Chosen(place, 0, g).StoreUnsafe(ref x, (nuint)k);
                Chosen(place, 1, g).StoreUnsafe(ref x, (nuint)(ld + k));
                Chosen(place, _w, g).StoreUnsafe(ref x, (nuint)(_w * ld + k));
                Chosen(place, _w + 1, g).StoreUnsafe(ref x, (nuint)((_w + 1) * ld + k));
            }
        }
    }

    /// <summary>The place within its plane of the top left input of 2 x 2 window <paramref name="o"/> at stride 2 (windows row by row).</summary>
    private int WindowStart(int o) => 2 * (o / _wo) * _w + 2 * (o % _wo);

    /// <summary>
    /// Pools the first <paramref name="planes"/> planes of <paramref name="input"/> into <paramref name="y"/> and, for max
    /// pooling, their largest inputs' places within their planes into <paramref name="argmax"/>.
    /// </summary>
    private void PoolPlanes(ReadOnlySpan<T> input, Span<T> y, Span<int> argmax, int planes)
    {
        (_channelLastStride, _placesToMake) = (0, 0);
        T area = T.CreateTruncating(_k * _k);
        // Element references without bounds tests: the shape checks of the constructor and CheckInput keep every
        // window inside its plane.
        ref T x0 = ref MemoryMarshal.GetReference(input);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        ref int a0 = ref MemoryMarshal.GetReference(argmax);
        // The 2 x 2 float path computes whole vectors of outputs; the lanes past a row's end spill into the outputs
        // that follow, written again later, so it runs while a vector's inputs and outputs stay inside the buffers.
        int lanes = Vector<float>.Count, inputs = input.Length;
        bool vectors = typeof(T) == typeof(float) && Vector.IsHardwareAccelerated && _k == 2 && _stride == 2;
        for (int plane = 0, o = 0; plane < planes; plane++)
        {
            ref T x = ref Unsafe.Add(ref x0, plane * _h * _w);
            if (Pooling == Pooling.Average)
            {
                for (int oy = 0; oy < _ho; oy++)
                    for (int ox = 0; ox < _wo; ox++, o++) Unsafe.Add(ref y0, o) = WindowMean(ref x, oy * _stride * _w + ox * _stride, area);
                continue;
            }
            for (int oy = 0; oy < _ho; oy++)
            {
                int rowStart = oy * _stride * _w;
                if (_k == 2 && _stride == 2)
                {
                    // The usual 2 x 2 window, unrolled: four candidates, compared in reading order.
                    int ox = 0;
                    for (; vectors && ox < _wo && plane * _h * _w + rowStart + _w + 2 * (ox + lanes) <= inputs && o + lanes <= y.Length; ox += lanes)
                    {
                        MaxWindows(ref Unsafe.As<T, float>(ref x), rowStart + 2 * ox, _w, ref Unsafe.As<T, float>(ref Unsafe.Add(ref y0, o)), ref Unsafe.Add(ref a0, o), Rectifies);
                        o += Math.Min(lanes, _wo - ox);
                    }
                    for (; ox < _wo; ox++, o++)
                    {
                        int first = rowStart + 2 * ox;
                        int best = first;
                        T top = Unsafe.Add(ref x, first);
                        Challenge(ref x, first + 1, ref best, ref top);
                        Challenge(ref x, first + _w, ref best, ref top);
                        Challenge(ref x, first + _w + 1, ref best, ref top);
                        Unsafe.Add(ref a0, o) = best;
                        Unsafe.Add(ref y0, o) = Rectified(top);
                    }
                    continue;
                }
                for (int ox = 0; ox < _wo; ox++, o++)
                {
                    int first = rowStart + ox * _stride;
                    int best = first;
                    T top = Unsafe.Add(ref x, first);
                    for (int i = 0; i < _k; i++)
                        for (int j = 0; j < _k; j++) Challenge(ref x, first + i * _w + j, ref best, ref top);
                    Unsafe.Add(ref a0, o) = best;
                    Unsafe.Add(ref y0, o) = Rectified(top);
                }
            }
        }
    }

    /// <summary>
    /// <c>R{y}</c>: the input's derivative at the window's largest input (which input is largest does not change along
    /// a direction, almost everywhere), or the mean of its derivatives under the window. Call after <see cref="Forward"/>.
    /// </summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        var ry = ROutput(batch);
        T area = T.CreateTruncating(_k * _k);
        var places = Pooling == Pooling.Max ? Places(batch) : [];
        for (int plane = 0, o = 0; plane < batch * _c; plane++)
        {
            ref T rx = ref MemoryMarshal.GetReference(rInput[(plane * _h * _w)..]);
            for (int oy = 0; oy < _ho; oy++)
                for (int ox = 0; ox < _wo; ox++, o++)
                    ry[o] = Pooling == Pooling.Max ? Unsafe.Add(ref rx, places[o]) : WindowMean(ref rx, oy * _stride * _w + ox * _stride, area);
        }
        return ry;
    }

    /// <summary>Pooling is linear in its input once the largest inputs are chosen, so <c>R{dx}</c> is <c>R{dy}</c> sent back the same way.</summary>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch) => Backward(input, rOutputGradient, rInputGradient, batch);

    /// <summary>
    /// Makes the input at <paramref name="at"/> the window's largest if it is larger than <paramref name="top"/>: the
    /// first largest wins, and a NaN wins over any number, as in PyTorch's kernel. Selects rather than a branch: which
    /// input is largest is data, and a mispredicted branch per window had made pooling take a tenth of a CNN step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Challenge(ref T x, int at, ref int best, ref T top)
    {
        T v = Unsafe.Add(ref x, at);
        bool larger = v > top | (T.IsNaN(v) & !T.IsNaN(top));
        best = larger ? at : best;
        top = larger ? v : top;
    }

    /// <summary>
    /// The 2 x 2 windows of <c>Vector&lt;float&gt;.Count</c> consecutive outputs of one row, whose first window starts at input
    /// <paramref name="first"/> of the plane <paramref name="x"/> (<paramref name="w"/> wide): each pair of adjacent inputs is read
    /// as one 64-bit lane and narrowed into the windows' left and right inputs, then the four candidates are compared in reading
    /// order as <see cref="Challenge(ref T, int, ref int, ref T)"/> does, lane by lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MaxWindows(ref float x, int first, int w, ref float y, ref int argmax, bool rectify)
    {
        var (left, right) = Pairs(ref Unsafe.Add(ref x, first));
        var (belowLeft, belowRight) = Pairs(ref Unsafe.Add(ref x, first + w));
        var (top, best) = Largest(left, right, belowLeft, belowRight, Vector<int>.Indices * 2 + new Vector<int>(first), w, rectify);
        top.StoreUnsafe(ref y);
        best.StoreUnsafe(ref argmax);
    }

    /// <summary>
    /// Lane by lane, the largest of a 2 x 2 window's inputs <paramref name="topLeft"/>, <paramref name="topRight"/>,
    /// <paramref name="bottomLeft"/>, <paramref name="bottomRight"/> (compared in that order, as
    /// <see cref="Challenge(ref T, int, ref int, ref T)"/> compares them), through the ReLU with <paramref name="rectify"/>,
    /// and its place: the top left input's place <paramref name="at"/> plus 0, 1, <paramref name="w"/> or <paramref name="w"/> + 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<float> Top, Vector<int> Best) Largest(Vector<float> topLeft, Vector<float> topRight, Vector<float> bottomLeft, Vector<float> bottomRight,
        Vector<int> at, int w, bool rectify)
    {
        Vector<float> top = topLeft;
        Vector<int> best = at;
        Challenge(topRight, at + Vector<int>.One, ref best, ref top);
        Challenge(bottomLeft, at + new Vector<int>(w), ref best, ref top);
        Challenge(bottomRight, at + new Vector<int>(w + 1), ref best, ref top);
        if (rectify) top = Vector.ConditionalSelect(Vector.LessThanOrEqual(top, Vector<float>.Zero), Vector<float>.Zero, top);
        return (top, best);
    }

    /// <summary>The even- and odd-indexed of the <c>2 Vector&lt;float&gt;.Count</c> floats from <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<float> Even, Vector<float> Odd) Pairs(ref float x)
    {
        ref ulong pairs = ref Unsafe.As<float, ulong>(ref x);
        var low = Vector.LoadUnsafe(ref pairs);
        var high = Vector.LoadUnsafe(ref pairs, (nuint)Vector<ulong>.Count);
        return (Vector.AsVectorSingle(Vector.Narrow(low, high)),
            Vector.AsVectorSingle(Vector.Narrow(Vector.ShiftRightLogical(low, 32), Vector.ShiftRightLogical(high, 32))));
    }

    /// <summary><see cref="Challenge(ref T, int, ref int, ref T)"/> lane by lane: <paramref name="v"/>, at inputs <paramref name="at"/>, against the largest so far.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Challenge(Vector<float> v, Vector<int> at, ref Vector<int> best, ref Vector<float> top)
    {
        var larger = Vector.GreaterThan(v, top) | (~Vector.Equals(v, v) & Vector.Equals(top, top));
        best = Vector.ConditionalSelect(larger, at, best);
        top = Vector.ConditionalSelect(larger, v, top);
    }

    private T WindowMean(ref T x, int first, T area)
    {
        T sum = T.Zero;
        for (int i = 0; i < _k; i++)
            for (int j = 0; j < _k; j++) sum += Unsafe.Add(ref x, first + i * _w + j);
        return sum / area;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        if (inputGradient.IsEmpty) return;
        BackwardPlanes(outputGradient, 0, batch * _c, inputGradient, batch);
    }

    /// <summary>
    /// What <see cref="Backward"/> writes for example <paramref name="example"/> of the last <see cref="Forward"/>'s
    /// <paramref name="batch"/>, into <paramref name="inputGradient"/> (one example's inputs), which it returns: for a
    /// convolution before this pooling that takes its output gradient an example at a time, so it reads it from the cache
    /// rather than from a whole batch written out first (see <see cref="Conv2d{T}.BackwardThroughPooling"/>).
    /// </summary>
    internal ReadOnlySpan<T> ExampleInputGradient(ReadOnlySpan<T> outputGradient, int example, int batch, Span<T> inputGradient)
    {
        var planes = inputGradient[..InputSize];
        AskNext(outputGradient, example, batch);
        BackwardPlanes(outputGradient, example * _c, _c, planes, batch);
        return planes;
    }

    /// <summary>
    /// For example <paramref name="example"/> of the last forward pass's <paramref name="batch"/>, under max pooling: the
    /// gradient each window sends back, from <paramref name="outputGradient"/> (through the ReLU this pooling applies, written
    /// into <paramref name="buffer"/>; zero where the output is not above zero, as <see cref="Backward"/> passes it), and the
    /// place within its plane of the input it goes to (<paramref name="places"/>), channel after channel: all of the input
    /// gradient that is not zero. The next example's are requested from memory meanwhile (<see cref="AskNext"/>).
    /// </summary>
    internal ReadOnlySpan<T> WindowGradients(ReadOnlySpan<T> outputGradient, int example, int batch, Span<T> buffer, out ReadOnlySpan<int> places)
    {
        var all = Pooling == Pooling.Max ? Places(batch) : [];
        if (all.Length < batch * OutputSize || (uint)example >= (uint)batch || outputGradient.Length < batch * OutputSize)
            throw new ArgumentException($"Pool2d: no window gradients for example {example} of {batch} here (max pooling after its forward pass only).");
        AskNext(outputGradient, example, batch);
        var dy = outputGradient.Slice(example * OutputSize, OutputSize);
        places = all.Slice(example * OutputSize, OutputSize);
        if (!Rectifies) return dy;
        var masked = buffer[..OutputSize];
        Activations.Relu(LastOutput(batch).Slice(example * OutputSize, OutputSize), dy, masked);
        return masked;
    }

    /// <summary>
    /// Asks for example <paramref name="example"/> + 1's output gradient and, for max pooling, the places of its largest inputs
    /// and (through the ReLU) its outputs while this example's backward pass runs (<see cref="Kernels.PrefetchNext"/>).
    /// </summary>
    private void AskNext(ReadOnlySpan<T> outputGradient, int example, int batch)
    {
        Kernels.PrefetchNext(outputGradient, example, OutputSize);
        if (Pooling != Pooling.Max) return;
        Kernels.PrefetchNext<int>(Places(batch), example, OutputSize);
        if (Rectifies) Kernels.PrefetchNext(LastOutput(batch), example, OutputSize);
    }

    /// <summary>
    /// The input gradient of planes <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1 of the
    /// batch, into <paramref name="inputGradient"/> from its start.
    /// </summary>
    private void BackwardPlanes(ReadOnlySpan<T> outputGradient, int first, int count, Span<T> inputGradient, int batch)
    {
        int outputs = _ho * _wo, inputs = _h * _w;
        var dy = outputGradient.Slice(first * outputs, count * outputs);
        var dx = inputGradient[..(count * inputs)];
        if (Pooling == Pooling.Max)
        {
            var argmax = Places(batch).Slice(first * outputs, dy.Length);
            // Each output's gradient to its window's largest input; the indices are inside their planes by construction.
            if (TilesWindows)
            {
                WriteWindows(MemoryMarshal.Cast<T, float>(dy), Rectifies ? MemoryMarshal.Cast<T, float>(LastOutput(batch).Slice(first * outputs, dy.Length)) : [],
                    argmax, MemoryMarshal.Cast<T, float>(dx));
                return;
            }
            // Otherwise each plane is cleared just before the scatter, which then finds it in the L1 cache.
            ref T dy0 = ref MemoryMarshal.GetReference(dy);
            ref int a0 = ref MemoryMarshal.GetReference(argmax);
            if (Rectifies)
            {
                // The ReLU's part first, in vectors, a plane at a time: no gradient where the output is not above zero.
                var masked = Grow(ref _masked, outputs);
                dy0 = ref _masked.Reference;
                var y = LastOutput(batch).Slice(first * outputs, dy.Length);
                for (int plane = 0, o = 0; plane < count; plane++, o += outputs)
                {
                    Activations.Relu(y.Slice(o, outputs), dy.Slice(o, outputs), masked);
                    Scatter(dx.Slice(plane * inputs, inputs), ref dy0, ref Unsafe.Add(ref a0, o), outputs);
                }
                return;
            }
            for (int plane = 0, o = 0; plane < count; plane++, o += outputs)
                Scatter(dx.Slice(plane * inputs, inputs), ref Unsafe.Add(ref dy0, o), ref Unsafe.Add(ref a0, o), outputs);
            return;
        }
        dx.Clear();
        T area = T.CreateTruncating(_k * _k);
        for (int plane = 0; plane < count; plane++)
        {
            var planeGradient = dx.Slice(plane * inputs, inputs);
            for (int oy = 0; oy < _ho; oy++)
                for (int ox = 0; ox < _wo; ox++)
                {
                    int o = (plane * _ho + oy) * _wo + ox, at = oy * _stride * _w + ox * _stride;
                    T share = dy[o] / area;
                    for (int i = 0; i < _k; i++)
                        for (int j = 0; j < _k; j++) planeGradient[at + i * _w + j] += share;
                }
        }
    }

    /// <summary>
    /// Whether the float backward pass of max pooling runs in <see cref="WriteWindows"/>: 2 x 2 windows at stride 2 that cover
    /// every input (even sides), at least eight to a row.
    /// </summary>
    private bool TilesWindows => typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated && _k == 2 && _stride == 2
        && _h == 2 * _ho && _w == 2 * _wo && _wo >= Vector256<float>.Count;

    /// <summary>
    /// Max pooling's input gradient where the windows tile every plane (<see cref="TilesWindows"/>): each input is written
    /// once, with its window's output gradient where it was the window's largest and zero elsewhere, eight windows at a time,
    /// so the planes need no clearing and no scatter. With <paramref name="y"/> (the pooled outputs, when the pooling applies
    /// the ReLU) a gradient passes only where the output is above zero or NaN, as <see cref="Activations.Relu{T}"/> passes it.
    /// The same numbers as clearing and scattering: a gradient of -0 is written as +0, as adding it to a cleared plane gives.
    /// </summary>
    private void WriteWindows(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, ReadOnlySpan<int> argmax, Span<float> dx)
    {
        int lanes = Vector256<float>.Count, planes = dx.Length / (_h * _w);
        bool rectify = !y.IsEmpty;
        if (dy.Length < planes * _ho * _wo || argmax.Length < dy.Length || (rectify && y.Length < dy.Length))
            throw new ArgumentException("WriteWindows: spans too short for the batch.");
        ref float g0 = ref MemoryMarshal.GetReference(dy);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        ref int a0 = ref MemoryMarshal.GetReference(argmax);
        ref float x0 = ref MemoryMarshal.GetReference(dx);
        var lefts = Vector256<int>.Indices * 2;
        for (int plane = 0, o = 0; plane < planes; plane++)
            for (int oy = 0; oy < _ho; oy++, o += _wo)
            {
                ref float top = ref Unsafe.Add(ref x0, (plane * _h + 2 * oy) * _w);
                // The row's last eight windows start where they end the row: they overlap the ones before and write the same again.
                for (int ox = 0; ; ox = Math.Min(ox + lanes, _wo - lanes))
                {
                    var g = Vector256.LoadUnsafe(ref g0, (nuint)(o + ox));
                    if (rectify) g = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(Vector256.LoadUnsafe(ref y0, (nuint)(o + ox)), Vector256<float>.Zero), Vector256<float>.Zero, g);
                    g += Vector256<float>.Zero;
                    // Where each window's largest input is, from its top left: 0, 1, w or w + 1.
                    var at = Vector256.LoadUnsafe(ref a0, (nuint)(o + ox)) - (lefts + Vector256.Create(2 * oy * _w + 2 * ox));
                    Interleave(ref Unsafe.Add(ref top, 2 * ox), Chosen(at, 0, g), Chosen(at, 1, g));
                    Interleave(ref Unsafe.Add(ref top, _w + 2 * ox), Chosen(at, _w, g), Chosen(at, _w + 1, g));
                    if (ox == _wo - lanes) break;
                }
            }
    }

    /// <summary><paramref name="g"/> in the windows whose largest input is <paramref name="offset"/> from their top left, zero in the others.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Chosen(Vector256<int> at, int offset, Vector256<float> g) =>
        Vector256.ConditionalSelect(Vector256.Equals(at, Vector256.Create(offset)).AsSingle(), g, Vector256<float>.Zero);

    /// <inheritdoc cref="Chosen(Vector256{int}, int, Vector256{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Chosen(Vector<int> at, int offset, Vector<float> g) =>
        Vector.ConditionalSelect(Vector.Equals(at, new Vector<int>(offset)), g, Vector<float>.Zero);

    /// <summary>Stores <c>left[0], right[0], left[1], right[1], ...</c>: sixteen floats from <paramref name="to"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave(ref float to, Vector256<float> left, Vector256<float> right)
    {
        var (leftLow, leftHigh) = Vector256.Widen(left.AsUInt32());
        var (rightLow, rightHigh) = Vector256.Widen(right.AsUInt32());
        ref ulong pairs = ref Unsafe.As<float, ulong>(ref to);
        (leftLow | (rightLow << 32)).StoreUnsafe(ref pairs);
        (leftHigh | (rightHigh << 32)).StoreUnsafe(ref pairs, (nuint)Vector256<ulong>.Count);
    }

    /// <summary>The window's largest input, through the ReLU when this pooling applies it (a NaN passes, as in PyTorch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private T Rectified(T top) => Rectifies && top <= T.Zero ? T.Zero : top;

    /// <summary><c>plane = 0</c>, then <c>plane[argmax[o]] += dy[o]</c> for the <paramref name="outputs"/> outputs of one plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scatter(Span<T> plane, ref T dy, ref int argmax, int outputs)
    {
        plane.Clear();
        ref T dx = ref MemoryMarshal.GetReference(plane);
        for (int o = 0; o < outputs; o++) Unsafe.Add(ref dx, Unsafe.Add(ref argmax, o)) += Unsafe.Add(ref dy, o);
    }

    private static int[] OutputShapeOf(IReadOnlyList<int> input, int k, int stride)
    {
        if (input.Count != 3) throw new ArgumentException($"Pooling takes examples of shape [C, H, W], got [{string.Join(", ", input)}].");
        if (k < 1 || stride < 1) throw new ArgumentException($"Pooling: kernel_size {k} and stride {stride} must be at least 1.");
        if (input[1] < k || input[2] < k) throw new ArgumentException($"Pooling: a {k}x{k} window does not fit a {input[1]}x{input[2]} image.");
        return [input[0], (input[1] - k) / stride + 1, (input[2] - k) / stride + 1];
    }
}
