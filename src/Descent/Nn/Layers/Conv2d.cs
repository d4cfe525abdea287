using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// 2-D convolution (cross-correlation) over <c>[C, H, W]</c> examples, as PyTorch's
/// <c>nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)</c> with dilation 1 and groups 1:
/// <c>weight</c> is <c>[out, in, kh, kw]</c>, <c>bias</c> <c>[out]</c>, the output <c>[out, Ho, Wo]</c> with
/// <c>Ho = (H + 2 padding - kh) / stride + 1</c> (rounded down), zeros outside the image.
/// </summary>
/// <remarks>
/// Each example is unfolded (im2col) into a <c>[in kh kw, Ho Wo]</c> matrix whose column <c>p</c> holds the
/// inputs under the kernel at output position <c>p</c>; then the output is one matrix product,
/// <c>Y = W cols + b</c>, through the same register-blocked kernel as the dense layers. Backward:
/// <c>dW += dY cols^T</c>, <c>db += sum_p dY</c>, and <c>dX = fold(W^T dY)</c>, where folding (col2im) adds each
/// column back onto the input positions it came from. The unfolded matrix is recomputed in the backward
/// pass rather than kept for the whole batch, so it stays in the L2 cache (one example of the exercise CNN's
/// second layer unfolds to 225 KB).
/// <para>
/// The image is copied once into a plane with zero borders (<c>Hp = H + 2 padding</c> by <c>Wp = W + 2 padding</c>).
/// With stride 1, the unfolded matrix has one column per position of a <c>Ho x Wp</c> grid: the input under kernel
/// entry <c>(c, i, j)</c> at grid position <c>q = oy Wp + ox</c> is <c>padded[c, i Wp + j + q]</c>, so each row of the
/// matrix is one contiguous copy of the plane (and folding one contiguous vector sum), with no bounds tests. The
/// grid's last <c>Wp - Wo</c> columns of each output row fall outside the output: their products are computed and
/// dropped, and the output gradient there is zero, so they add nothing to the gradients. Dropping them costs a copy
/// per output channel and row, so a layer with no more kernel entries (<c>in kh kw</c>) than output channels, such as a
/// first layer on one input channel, unfolds row by row onto a <c>Ho x Wo</c> grid instead, as other strides do.
/// </para>
/// <para>
/// On the padded grid, rows are padded to whole tiles of the matrix kernel (two vectors), so no column is left to its
/// one-row loop, and the weight gradient is taken as <c>dW^T = cols dY^T</c>, with the output channels as the vectorized
/// dimension, summed over the batch before it is transposed once. On the output's own grid, the product is written
/// straight into the output and the gradients read straight from the output gradient: the unfolded matrix has one more
/// row, of ones, so that <c>Y = [W b] [cols; 1]</c> adds the bias as the last step of each output's chain, and
/// <c>[dW db] += dY [cols; 1]^T</c> (dot products of rows, kept as vectors of partial sums over the batch and summed
/// across their lanes once, <see cref="Kernels.GemmNTLanes"/>) gives the bias gradient with the kernels'. For the
/// exercise CNN's first layer this replaced a copy of each example's output and a transpose of its gradient (2026-12-02, AMD EPYC of family 26, batch 64: forward 0.44-0.59 to 0.30 ms at 512 bits and 0.56-0.86 to
/// 0.38-0.48 ms at 256; backward 0.57-0.67 to 0.46-0.50 ms and 0.75-0.89 to 0.47-0.61 ms, three alternating rounds each).
/// Where such a layer is first (no input gradient) and a max pooling takes its outputs, its kernel and bias gradients come
/// from the pooling's windows instead, without the output gradient (<see cref="CorrelateWindows"/>).
/// </para>
/// </remarks>
public sealed class Conv2d<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _c, _h, _w, _o, _kh, _kw, _stride, _padding, _ho, _wo, _hp, _wp, _pitch, _row;
    private readonly AlignedArray<T> _cols, _dcols, _product, _dyRows, _dyColumns, _dwt, _weightsAndBias, _gradients, _gradientLanes, _padded, _dpadded;
    private ConvolutionAlgorithm _algorithm;
    private Winograd<T>? _winograd;

    /// <summary>A convolution of <paramref name="inputShape"/> (<c>[C, H, W]</c>) examples with square kernels of side <paramref name="kernelSize"/>.</summary>
    public Conv2d(IReadOnlyList<int> inputShape, int outChannels, int kernelSize, int stride = 1, int padding = 0)
        : this(inputShape, outChannels, kernelSize, kernelSize, stride, padding) { }

    /// <summary>A convolution of <paramref name="inputShape"/> (<c>[C, H, W]</c>) examples with <paramref name="kernelHeight"/> x <paramref name="kernelWidth"/> kernels.</summary>
    public Conv2d(IReadOnlyList<int> inputShape, int outChannels, int kernelHeight, int kernelWidth, int stride, int padding)
        : base(inputShape, OutputShapeOf(inputShape, outChannels, kernelHeight, kernelWidth, stride, padding))
    {
        (_c, _h, _w) = (inputShape[0], inputShape[1], inputShape[2]);
        (_o, _kh, _kw, _stride, _padding) = (outChannels, kernelHeight, kernelWidth, stride, padding);
        (_ho, _wo) = (OutputShape[1], OutputShape[2]);
        (_hp, _wp) = (_h + 2 * padding, _w + 2 * padding);
        Declare("weight", _o, _c, _kh, _kw);
        Declare("bias", _o);
        // The padded grid saves unfolding copies (one per kernel entry, not one per kernel entry and output row) but costs
        // a copy per output channel and row to drop its extra columns, forward and backward: it pays with more kernel
        // entries than output channels, and a first layer (one input channel, 9 entries, 32 outputs) is better without.
        _pitch = stride == 1 && Depth > _o ? _wp : _wo;
        int tile = 2 * Vector<T>.Count;
        _row = Direct ? Grid : (Grid + tile - 1) / tile * tile;
        // One more row than kernel entries, of ones: against the bias as one more column of the weights, it adds the bias
        // at the end of each output's chain in the forward pass and sums the output gradient into the bias gradient in the
        // backward pass (taken where the products are the outputs themselves, Direct).
        _cols = new AlignedArray<T>((Depth + (Direct ? 1 : 0)) * _row);
        if (Direct) _cols.AsSpan(Depth * _row).Fill(T.One);
        _weightsAndBias = Direct ? new AlignedArray<T>(_o * (Depth + 1)) : AlignedArray<T>.Empty;
        _gradients = Direct ? new AlignedArray<T>(_weightsAndBias.Length) : AlignedArray<T>.Empty;
        _gradientLanes = Direct ? new AlignedArray<T>(_weightsAndBias.Length * Vector<T>.Count) : AlignedArray<T>.Empty;
        // Zero borders around each input plane (never written); a stride-1 row of the unfolded matrix reads up to
        // kw - 1 entries past its plane, so the last plane has that slack.
        _padded = new AlignedArray<T>(_c * _hp * _wp + _kw);
        _dpadded = new AlignedArray<T>(_padded.Length);
        _dcols = new AlignedArray<T>(Depth * _row);
        _product = new AlignedArray<T>(_o * _row);
        // The output gradient on the grid: zero in the columns outside the output, which nothing writes.
        _dyRows = Direct ? AlignedArray<T>.Empty : new AlignedArray<T>(_o * _row);
        _dyColumns = Direct ? AlignedArray<T>.Empty : new AlignedArray<T>(_row * _o);
        _dwt = Direct ? AlignedArray<T>.Empty : new AlignedArray<T>(Depth * _o);
    }

    /// <summary>The kernels, <c>[out, in, kh, kw]</c>.</summary>
    public Parameter<T> Weight => Parameter(0);

    /// <summary>The bias, <c>[out]</c>.</summary>
    public Parameter<T> Bias => Parameter(1);

    /// <summary>
    /// How <see cref="Forward"/> and <see cref="Backward"/> compute the convolution. <see cref="ConvolutionAlgorithm.Auto"/>,
    /// the default, takes Winograd's algorithm for 3 x 3 kernels at stride 1 with at least
    /// <see cref="WinogradChannels"/> input and output channels (F(4x4, 3x3), with blocks of 2 for the one or two rows or
    /// columns that whole blocks leave at an edge, when its tiles need at most four fifths of F(2x2, 3x3)'s
    /// multiplications, and then F(6x6, 3x3) when its tiles need at most five sixths of F(4x4, 3x3)'s, as for the exercise
    /// CNN's 14 x 14 outputs, 400 against 484 and 784 per channel pair; else F(2x2, 3x3)), and the unfolded product
    /// otherwise (the
    /// R-operator's own terms, <see cref="RForward"/> and <see cref="RBackward"/>, always take the unfolded product; the
    /// plain passes of a Hessian-vector product take what this chooses).
    /// </summary>
    /// <exception cref="ArgumentException">Winograd asked for a kernel other than 3 x 3 at stride 1.</exception>
    public ConvolutionAlgorithm Algorithm
    {
        get => _algorithm;
        set
        {
            if (WinogradSide(value) > 0 && !Winograd<T>.Fits(_kh, _kw, _stride))
                throw new ArgumentException($"Conv2d: Winograd's algorithm takes 3x3 kernels at stride 1, not {_kh}x{_kw} at stride {_stride}; use ConvolutionAlgorithm.Unfold or Auto.");
            if (value != _algorithm) _winograd = null;
            _algorithm = value;
        }
    }

    /// <summary>The fewest input and output channels for which <see cref="ConvolutionAlgorithm.Auto"/> takes Winograd's algorithm.</summary>
    public const int WinogradChannels = 8;

    /// <summary>Winograd's algorithm for this layer when <see cref="Algorithm"/> chooses it, else null.</summary>
    private Winograd<T>? Fast =>
        WinogradSide(_algorithm) > 0
        || (_algorithm == ConvolutionAlgorithm.Auto && Winograd<T>.Fits(_kh, _kw, _stride) && _c >= WinogradChannels && _o >= WinogradChannels)
            ? _winograd ??= new Winograd<T>(_c, _h, _w, _o, _padding, WinogradBlock)
            : null;

    /// <summary>The side of the blocks of outputs of the Winograd algorithm <paramref name="algorithm"/> names (2, 4 or 6), else 0.</summary>
    internal static int WinogradSide(ConvolutionAlgorithm algorithm) => algorithm switch
    {
        ConvolutionAlgorithm.Winograd => 2,
        ConvolutionAlgorithm.Winograd4x4 => 4,
        ConvolutionAlgorithm.Winograd6x6 => 6,
        _ => 0,
    };

    /// <summary>
    /// The side of Winograd's blocks of outputs: as asked for, or under <see cref="ConvolutionAlgorithm.Auto"/> 4 when
    /// F(4x4, 3x3)'s tiles (36 multiplications per 4 x 4 block, and the edge's blocks of 2) need at most four fifths of
    /// F(2x2, 3x3)'s (16 per 2 x 2) over the output (<see cref="Winograd{T}.Multiplications"/>), and then 6 when
    /// F(6x6, 3x3)'s (64 per 6 x 6) need at most five sixths of F(4x4, 3x3)'s, which pays for its larger transforms and
    /// rounding (the exercise CNN, 400 against 484: 1.056x the steps in <c>bench/ab</c> at 512 bits and 1.032x at 256 on the
    /// family-25 host, 2026-12-05); else 2.
    /// </summary>
    private int WinogradBlock
    {
        get
        {
            if (_algorithm != ConvolutionAlgorithm.Auto) return WinogradSide(_algorithm);
            long two = Winograd<T>.Multiplications(_ho, _wo, 2), four = Winograd<T>.Multiplications(_ho, _wo, 4), six = Winograd<T>.Multiplications(_ho, _wo, 6);
            if (5 * four > 4 * two) return 2;
            return 6 * six <= 5 * four ? 6 : 4;
        }
    }

    /// <summary>Rows of the unfolded matrix: inputs under one kernel.</summary>
    private int Depth => _c * _kh * _kw;

    /// <summary>Output positions per channel.</summary>
    private int Positions => _ho * _wo;

    /// <summary>Pieces of an output channel that lie apart in the products: its rows on the padded grid, else one.</summary>
    private int Segments => _pitch == _wo ? 1 : _ho;

    /// <summary>Positions of the grid the products run over (<c>Ho</c> rows of <see cref="_pitch"/>).</summary>
    private int Grid => _ho * _pitch;

    /// <summary>
    /// Whether the grid is the output's own positions, so the products are written straight into the outputs and read
    /// straight from the output gradient, with no copies between.
    /// </summary>
    private bool Direct => _pitch == _wo;

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        var y = Output(batch);
        ForwardInto(input, y, batch, null, default);
        return y;
    }

    /// <summary>
    /// <see cref="Forward"/> followed by <paramref name="pool"/>'s (the max pooling that takes this layer's outputs, through a
    /// ReLU that it applies), whose outputs it returns: each example's outputs are made in a buffer of one example and pooled
    /// at once, while in the cache, and no batch of them is written out (the exercise CNN's first convolution: 6.4 MB a step,
    /// written and read again). Max pooling's backward pass needs only its own outputs and where its largest inputs were, and
    /// this layer's needs its inputs, so nothing reads the outputs it does not keep; until its next <see cref="Forward"/>,
    /// <see cref="LastOutput"/> says so. The same numbers as the two forward passes one after the other.
    /// </summary>
    internal ReadOnlySpan<T> ForwardThroughPooling(ReadOnlySpan<T> input, Pool2d<T> pool, int batch)
    {
        ForwardInto(input, [], batch, pool, Grow(ref _exampleOutput, OutputSize));
        return pool.LastOutput(batch);
    }

    /// <summary>The outputs into <paramref name="y"/>, or with <paramref name="pool"/> each example's into <paramref name="example"/> for the pooling.</summary>
    private void ForwardInto(ReadOnlySpan<T> input, Span<T> y, int batch, Pool2d<T>? pool, Span<T> example)
    {
        CheckInput(input, batch);
        OutputsPooled = pool is not null;
        if (Fast is { } fast) fast.Forward(input, Weight.Value.Span, Bias.Value.Span, y, batch, pool, example);
        else Convolve(input, Weight.Value.Span, Bias.Value.Span, y, batch, accumulate: false, pool, example);
    }

    /// <summary>One example's outputs, when a pooling after this layer takes them as they are made (<see cref="ForwardThroughPooling"/>).</summary>
    private AlignedArray<T> _exampleOutput = AlignedArray<T>.Empty;

    /// <summary>Whether the last forward pass handed its outputs to a pooling without keeping them (<see cref="ForwardThroughPooling"/>).</summary>
    internal bool OutputsPooled { get; private set; }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> LastOutput(int batch) => OutputsPooled
        ? throw new InvalidOperationException("Conv2d: the last forward pass, inside a Sequential, handed each example's outputs to the max pooling after this layer without keeping them; call this layer's own Forward to have them.")
        : base.LastOutput(batch);

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true) =>
        BackwardFrom(input, outputGradient, null, inputGradient, batch, accumulate);

    /// <summary>
    /// <see cref="Backward"/> given the gradient of the outputs of <paramref name="pool"/>, the pooling that takes this layer's
    /// outputs (through a ReLU that it applies): the pooling writes each example's output gradient for this layer just before
    /// this layer reads it, so it is read from the cache instead of from a batch's worth written out first (the exercise CNN's
    /// first convolution: 6.4 MB a step). The same numbers as the two backward passes one after the other, but for a first
    /// layer on the output's own grid before max pooling, which takes its kernel and bias gradients from the pooling's
    /// windows (<see cref="CorrelateWindows"/>): the same sums in another order.
    /// </summary>
    internal void BackwardThroughPooling(ReadOnlySpan<T> input, ReadOnlySpan<T> pooledGradient, Pool2d<T> pool, Span<T> inputGradient, int batch, bool accumulate) =>
        BackwardFrom(input, pooledGradient, pool, inputGradient, batch, accumulate);

    private void BackwardFrom(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Pool2d<T>? pool, Span<T> inputGradient, int batch, bool accumulate)
    {
        // Room for one example's output gradient, which the pooling writes.
        Span<T> example = pool is null ? [] : Grow(ref _exampleGradient, OutputSize);
        if (Fast is not { } fast)
        {
            Correlate(input, outputGradient, Weight.Value.Span, Weight.Grad.Span, Bias.Grad.Span, inputGradient, batch, accumulate, accumulateInput: false, pool, example);
            return;
        }
        Span<T> dw = Weight.Grad.Span, db = Bias.Grad.Span;
        if (!accumulate)
        {
            dw.Clear();
            db.Clear();
        }
        fast.Backward(input, outputGradient, Weight.Value.Span, dw, db, inputGradient, batch, pool, example);
    }

    /// <summary>
    /// Example <paramref name="b"/>'s output gradient (<paramref name="size"/> elements): its slice of <paramref name="outputGradient"/>,
    /// or with <paramref name="pool"/> (<paramref name="outputGradient"/> being the pooling's) what the pooling sends back for it,
    /// written into <paramref name="buffer"/>.
    /// </summary>
    internal static ReadOnlySpan<T> ExampleGradient(ReadOnlySpan<T> outputGradient, Pool2d<T>? pool, int b, int batch, int size, Span<T> buffer) =>
        pool is null ? outputGradient.Slice(b * size, size) : pool.ExampleInputGradient(outputGradient, b, batch, buffer);

    /// <summary>One example's output gradient, when a pooling after this layer writes it (<see cref="BackwardThroughPooling"/>).</summary>
    private AlignedArray<T> _exampleGradient = AlignedArray<T>.Empty;

    /// <summary>
    /// <c>db[o] += sum dY[o, :]</c> for one example's output gradient (<paramref name="positions"/> per channel): the bias
    /// gradient, taken an example at a time where the backward pass reads the example anyway, so it is read from the cache.
    /// </summary>
    private static void AddChannelSums(ReadOnlySpan<T> example, Span<T> db, int positions)
    {
        for (int o = 0; o < db.Length; o++) db[o] += Kernels.Sum(example.Slice(o * positions, positions));
    }

    /// <summary>
    /// <c>R{y} = conv(x, V) + v_b + conv(R{x}, W)</c>, with <c>(V, v_b)</c> the direction's kernels and bias: the
    /// convolution is bilinear in its input and its kernels.
    /// </summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        var ry = ROutput(batch);
        int weights = _o * Depth;
        Convolve(input, direction[..weights], direction.Slice(weights, _o), ry, batch, accumulate: false);
        Convolve(rInput, Weight.Value.Span, [], ry, batch, accumulate: true);
        return ry;
    }

    /// <summary>
    /// The backward pass's two bilinear maps differentiated by the product rule: <c>R{dW} = R{dy} cols(x)^T + dy cols(R{x})^T</c>,
    /// <c>R{db} = sum R{dy}</c>, <c>R{dx} = fold(W^T R{dy} + V^T dy)</c>.
    /// </summary>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch)
    {
        int weights = _o * Depth;
        var rdw = rGradient[..weights];
        Correlate(input, rOutputGradient, Weight.Value.Span, rdw, rGradient.Slice(weights, _o), rInputGradient, batch, accumulate: true, accumulateInput: false);
        Correlate(rInput, outputGradient, direction[..weights], rdw, [], rInputGradient, batch, accumulate: true, accumulateInput: true);
    }

    /// <summary>
    /// <c>y = conv(x, w) + bias</c> example by example, or with <paramref name="accumulate"/> <c>y += conv(x, w)</c>
    /// (the bias unread).
    /// </summary>
    private void Convolve(ReadOnlySpan<T> input, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y, int batch, bool accumulate,
        Pool2d<T>? pool = null, Span<T> example = default)
    {
        if (Direct && !accumulate)
        {
            // Y = [W b] [cols; 1]: each output one chain over the kernel's inputs, then the bias, written in place.
            int depth = Depth + 1;
            for (int o = 0; o < _o; o++)
            {
                w.Slice(o * Depth, Depth).CopyTo(_weightsAndBias.AsSpan(o * depth));
                _weightsAndBias[o * depth + Depth] = bias[o];
            }
            for (int b = 0; b < batch; b++)
            {
                Unfold(input.Slice(b * InputSize, InputSize));
                Kernels.Gemm<T>(pool is null ? y.Slice(b * OutputSize, OutputSize) : example, _weightsAndBias, depth, 1, _cols, _o, Grid, depth, accumulate: false);
                pool?.ForwardExample(example, b, batch);
            }
            return;
        }
        for (int b = 0; b < batch; b++)
        {
            Unfold(input.Slice(b * InputSize, InputSize));
            Kernels.Gemm<T>(_product, w, Depth, 1, _cols, _o, _row, Depth, accumulate: false);
            var yb = pool is null ? y.Slice(b * OutputSize, OutputSize) : example;
            for (int o = 0; o < _o; o++)
                for (int s = 0; s < Segments; s++)
                {
                    var from = _product.AsSpan(o * _row + s * _pitch, Positions / Segments);
                    var to = yb.Slice(o * Positions + s * _wo, from.Length);
                    if (accumulate) Kernels.Add(to, from);
                    else Kernels.AddScalar(from, bias[o], to);
                }
            pool?.ForwardExample(example, b, batch);
        }
    }

    /// <summary>
    /// The gradients of <see cref="Convolve"/> for output gradient <paramref name="outputGradient"/>: <c>dw (+)= dY cols^T</c>,
    /// <c>db (+)= sum dY</c> (skipped when <paramref name="db"/> is empty), and <c>dx (+)= fold(w^T dY)</c> (skipped when
    /// <paramref name="inputGradient"/> is empty; added to it with <paramref name="accumulateInput"/>).
    /// </summary>
    private void Correlate(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> w, Span<T> dw, Span<T> db, Span<T> inputGradient,
        int batch, bool accumulate, bool accumulateInput, Pool2d<T>? pool = null, Span<T> example = default)
    {
        if (!accumulate)
        {
            dw.Clear();
            db.Clear();
        }
        if (Direct && pool is { Pooling: Pooling.Max } && inputGradient.IsEmpty && Kernels.AllFinite(input[..(batch * InputSize)]))
        {
            CorrelateWindows(input, outputGradient, pool, dw, db, batch, example);
            return;
        }
        for (int b = 0; b < batch; b++)
        {
            var dy = ExampleGradient(outputGradient, pool, b, batch, OutputSize, example);
            Unfold(input.Slice(b * InputSize, InputSize));
            if (Direct)
            {
                // [dW db][o, :] += sum_q dY[o, q] [cols; 1][:, q]: dot products of dY's rows with the unfolded rows, the ones
                // row last, summed over the batch lane by lane, and across the lanes once after it.
                Kernels.GemmNTLanes<T>(_gradientLanes, dy, _cols, _o, Depth + 1, Grid, accumulate: b > 0);
            }
            else
            {
                // dW^T[k, o] += sum_q cols[k, q] dY^T[q, o], over the batch, with dY copied into rows of the grid's pitch.
                if (!db.IsEmpty) AddChannelSums(dy, db[.._o], Positions);
                for (int o = 0; o < _o; o++)
                    for (int s = 0; s < Segments; s++) dy.Slice(o * Positions + s * _wo, Positions / Segments).CopyTo(_dyRows.AsSpan(o * _row + s * _pitch));
                Kernels.Transpose<T>(_dyRows, _dyColumns, _o, _row);
                Kernels.Gemm<T>(_dwt, _cols, _row, 1, _dyColumns, Depth, _o, Grid, accumulate: b > 0);
            }
            if (inputGradient.IsEmpty) continue;
            // dcols[k, q] = sum_o W[o, k] dY[o, q]: A = W^T read down its columns.
            Kernels.Gemm<T>(_dcols, w, 1, Depth, Direct ? dy : _dyRows, Depth, _row, _o, accumulate: false);
            Fold(inputGradient.Slice(b * InputSize, InputSize), accumulateInput);
        }
        if (batch == 0) return;
        if (Direct)
        {
            Kernels.SumLanes<T>(_gradientLanes, _gradients, accumulate: false);
            AddKernelsAndBiases(_gradients, Depth + 1, dw, db);
            return;
        }
        for (int o = 0; o < _o; o++)
            for (int k = 0; k < Depth; k++) dw[o * Depth + k] += _dwt[k * _o + o];
    }

    /// <summary><c>dw[o, :] += sums[o, :Depth]</c> and <c>db[o] += sums[o, Depth]</c> (when wanted), for rows of sums <paramref name="stride"/> apart.</summary>
    private void AddKernelsAndBiases(ReadOnlySpan<T> sums, int stride, Span<T> dw, Span<T> db)
    {
        for (int o = 0; o < _o; o++)
        {
            Kernels.Add(dw.Slice(o * Depth, Depth), sums.Slice(o * stride, Depth));
            if (!db.IsEmpty) db[o] += sums[o * stride + Depth];
        }
    }

    /// <summary>
    /// <see cref="Correlate"/>'s kernel and bias gradients on the output's own grid (<see cref="Direct"/>) where no input gradient
    /// is wanted and a max pooling takes the outputs: its backward pass sends each window's gradient to one output and zero to
    /// the rest, so <c>[dW db][o, :] += sum_w g[o, w] [cols; 1][:, p(o, w)]</c> over the windows' gradients <c>g</c> and the
    /// places <c>p</c> of their largest inputs (<see cref="Pool2d{T}.WindowGradients"/>) gives the sums over all positions of the
    /// output gradient without making it or multiplying its zeros (the exercise CNN's first layer: a quarter of the
    /// products, and no 100 KB gradient written per example). The unfolded matrix is read transposed, a position's
    /// kernel entries and one side by side, as whole vectors; each sum is one chain over an example's windows in order, added
    /// up over the examples. The same sums as the dense product up to their order (and, where overlapping windows choose one
    /// output twice, its two products added rather than its gradient's sum multiplied), so not the same bits, for finite
    /// inputs: a batch with an infinite or NaN input takes the dense product, where zero times it gives NaN as in PyTorch.
    /// <paramref name="buffer"/> holds one example's window gradients.
    /// </summary>
    private void CorrelateWindows(ReadOnlySpan<T> input, ReadOnlySpan<T> pooledGradient, Pool2d<T> pool, Span<T> dw, Span<T> db, int batch, Span<T> buffer)
    {
        int lanes = Vector<T>.Count, width = (Depth + lanes) / lanes * lanes, windows = pool.OutputSize / _o;
        // Made at the first call, once, so its padding stays zero; only first layers before a max pooling have one.
        if (_positionRows.Length == 0) _positionRows = new AlignedArray<T>(Grid * width);
        var sums = Grow(ref _windowSums, _o * width);
        sums.Clear();
        for (int b = 0; b < batch; b++)
        {
            Unfold(input.Slice(b * InputSize, InputSize));
            // Row p of _positionRows: the inputs under the kernel at position p, then 1 (the row of ones), then the padding's zeros.
            Kernels.Transpose<T>(_cols, _positionRows, Depth + 1, Grid, ldFrom: _row, ldTo: width);
            var g = pool.WindowGradients(pooledGradient, b, batch, buffer, out var places);
            Kernels.AddChosenRows<T>(sums, g, places, _positionRows, _o, windows, width);
        }
        AddKernelsAndBiases(sums, width, dw, db);
    }

    /// <summary>
    /// The unfolded matrix of a <see cref="Direct"/> layer transposed, one row per output position of its kernel entries and
    /// the one, padded with zeros (never written) to whole vectors (<see cref="CorrelateWindows"/>).
    /// </summary>
    private AlignedArray<T> _positionRows = AlignedArray<T>.Empty;

    /// <summary>The kernel and bias gradients' sums of <see cref="CorrelateWindows"/>, one padded row per output channel.</summary>
    private AlignedArray<T> _windowSums = AlignedArray<T>.Empty;

    /// <summary>
    /// Draws the kernels and then the biases by <paramref name="initialization"/>, with fan-in <c>in kh kw</c> and
    /// fan-out <c>out kh kw</c> (PyTorch's default, <c>kaiming_uniform_(a=sqrt(5))</c>, is the uniform bound
    /// <c>1/sqrt(fan_in)</c> of <see cref="Initialization.Torch"/>).
    /// </summary>
    public override void Initialize(Initialization initialization, Rng rng) =>
        Linear<T>.Initialize(Weight, Bias, Depth, _o * _kh * _kw, initialization, rng);

    /// <summary>
    /// <c>cols[(c kh + i) kw + j, q]</c> = the input under kernel entry <c>(c, i, j)</c> at grid position <c>q</c>: with
    /// stride 1, <c>padded[c, i Wp + j + q]</c> for <c>q = oy Wp + ox</c>; otherwise
    /// <c>padded[c, oy stride + i, ox stride + j]</c> for <c>q = oy Wo + ox</c>.
    /// </summary>
    private void Unfold(ReadOnlySpan<T> x)
    {
        bool grid = _pitch == _wp && _stride == 1;
        var padded = _padded.AsSpan();
        if (x.Length < _c * _h * _w) throw new ArgumentException("Unfold: the example is shorter than the layer's input.");
        // Row copies without bounds tests: every row lies inside its plane (checked above for the example, and by the
        // padded plane's shape for the copy and for the unfolded rows below).
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T p0 = ref _padded.Reference;
        for (int c = 0; c < _c; c++)
            for (int y = 0; y < _h; y++) Kernels.CopyRow(ref Unsafe.Add(ref x0, (c * _h + y) * _w), ref Unsafe.Add(ref p0, ((c * _hp) + y + _padding) * _wp + _padding), _w);
        for (int c = 0; c < _c; c++)
            for (int i = 0; i < _kh; i++)
                for (int j = 0; j < _kw; j++)
                {
                    var row = _cols.AsSpan(((c * _kh + i) * _kw + j) * _row, Grid);
                    var plane = padded[((c * _hp + i) * _wp + j)..];
                    if (grid)
                    {
                        plane[..Grid].CopyTo(row);
                        continue;
                    }
                    if (_stride == 1)
                    {
                        // Row oy of the window's inputs: wo entries at (oy + i, j) of the plane, i + ho <= hp and j + wo <= wp.
                        ref T from = ref MemoryMarshal.GetReference(plane);
                        ref T to = ref MemoryMarshal.GetReference(row);
                        for (int oy = 0; oy < _ho; oy++) Kernels.CopyRow(ref Unsafe.Add(ref from, oy * _wp), ref Unsafe.Add(ref to, oy * _wo), _wo);
                        continue;
                    }
                    for (int oy = 0; oy < _ho; oy++)
                        for (int ox = 0; ox < _wo; ox++) row[oy * _wo + ox] = plane[oy * _stride * _wp + ox * _stride];
                }
    }

    /// <summary>
    /// The adjoint of <see cref="Unfold"/>: <c>dx</c> set to (or with <paramref name="accumulate"/> increased by) the sum
    /// of the entries of <c>dcols</c> taken from each input position.
    /// </summary>
    private void Fold(Span<T> dx, bool accumulate)
    {
        var padded = _dpadded.AsSpan();
        padded.Clear();
        bool grid = _pitch == _wp && _stride == 1;
        for (int c = 0; c < _c; c++)
            for (int i = 0; i < _kh; i++)
                for (int j = 0; j < _kw; j++)
                {
                    var row = _dcols.AsSpan(((c * _kh + i) * _kw + j) * _row, Grid);
                    var plane = padded[((c * _hp + i) * _wp + j)..];
                    if (grid)
                    {
                        Kernels.Add(plane[..Grid], row);
                        continue;
                    }
                    if (_stride == 1)
                    {
                        for (int oy = 0; oy < _ho; oy++) Kernels.Add(plane.Slice(oy * _wp, _wo), row.Slice(oy * _wo, _wo));
                        continue;
                    }
                    for (int oy = 0; oy < _ho; oy++)
                        for (int ox = 0; ox < _wo; ox++) plane[oy * _stride * _wp + ox * _stride] += row[oy * _wo + ox];
                }
        for (int c = 0; c < _c; c++)
            for (int y = 0; y < _h; y++)
            {
                var from = padded.Slice(((c * _hp) + y + _padding) * _wp + _padding, _w);
                var to = dx.Slice((c * _h + y) * _w, _w);
                if (accumulate) Kernels.Add(to, from);
                else from.CopyTo(to);
            }
    }

    private static int[] OutputShapeOf(IReadOnlyList<int> input, int outChannels, int kh, int kw, int stride, int padding)
    {
        if (input.Count != 3) throw new ArgumentException($"Conv2d takes examples of shape [C, H, W], got [{string.Join(", ", input)}].");
        if (outChannels < 1 || kh < 1 || kw < 1 || stride < 1 || padding < 0)
            throw new ArgumentException($"Conv2d: out_channels {outChannels}, kernel {kh}x{kw} and stride {stride} must be at least 1 and padding {padding} at least 0.");
        int ho = (input[1] + 2 * padding - kh) / stride + 1, wo = (input[2] + 2 * padding - kw) / stride + 1;
        if (input[1] + 2 * padding < kh || input[2] + 2 * padding < kw)
            throw new ArgumentException($"Conv2d: a {kh}x{kw} kernel does not fit a {input[1]}x{input[2]} image with padding {padding}.");
        return [outChannels, ho, wo];
    }
}

/// <summary>How a <see cref="Conv2d{T}"/> computes its forward and backward passes.</summary>
public enum ConvolutionAlgorithm
{
    /// <summary>Winograd's algorithm where it applies and pays (3 x 3 kernels, stride 1, enough channels), else <see cref="Unfold"/>.</summary>
    Auto,

    /// <summary>Each example unfolded (im2col) into a matrix, then one matrix product.</summary>
    Unfold,

    /// <summary>Winograd's minimal filtering F(2x2, 3x3): 3 x 3 kernels at stride 1 only.</summary>
    Winograd,

    /// <summary>
    /// Winograd's F(4x4, 3x3): 36 multiplications per 4 x 4 outputs and channel pair (F(2x2, 3x3) takes 64, the direct
    /// sum 144), with larger transforms and more rounding (its transforms multiply by up to 8 and divide by 24). Where
    /// whole blocks leave one or two rows (or columns) at the output's edge, blocks of 2 take them along that axis
    /// (F(4x2, 3x3), F(2x4, 3x3), F(2x2, 3x3)). 3 x 3 kernels at stride 1 only.
    /// </summary>
    Winograd4x4,

    /// <summary>
    /// Winograd's F(6x6, 3x3): 64 multiplications per 6 x 6 outputs and channel pair (F(4x4, 3x3) takes 81 for as many), with
    /// transforms that multiply by up to 32 and kernels' by 2/9 to 1/90, so the most rounding of the three in float (within
    /// the same bound as F(4x4, 3x3)'s against the unfolded product in the tests). Blocks of 2 take the one or two rows (or columns) that whole blocks leave at an edge
    /// (F(6x2, 3x3), F(2x6, 3x3), F(2x2, 3x3)). 3 x 3 kernels at stride 1 only.
    /// </summary>
    Winograd6x6,
}
