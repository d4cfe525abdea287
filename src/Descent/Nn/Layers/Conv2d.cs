using System.Numerics;
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
/// pass rather than kept for the whole batch.
/// </remarks>
public sealed class Conv2d<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _c, _h, _w, _o, _kh, _kw, _stride, _padding, _ho, _wo;
    private readonly T[] _cols, _dcols;

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
        Declare("weight", _o, _c, _kh, _kw);
        Declare("bias", _o);
        _cols = new T[Depth * Positions];
        _dcols = new T[Depth * Positions];
    }

    /// <summary>The kernels, <c>[out, in, kh, kw]</c>.</summary>
    public Parameter<T> Weight => Parameter(0);

    /// <summary>The bias, <c>[out]</c>.</summary>
    public Parameter<T> Bias => Parameter(1);

    /// <summary>Rows of the unfolded matrix: inputs under one kernel.</summary>
    private int Depth => _c * _kh * _kw;

    /// <summary>Columns of the unfolded matrix: output positions.</summary>
    private int Positions => _ho * _wo;

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        var w = Weight.Value.Span;
        var bias = Bias.Value.Span;
        for (int b = 0; b < batch; b++)
        {
            Unfold(input.Slice(b * InputSize, InputSize), _cols);
            var yb = y.Slice(b * OutputSize, OutputSize);
            for (int o = 0; o < _o; o++) yb.Slice(o * Positions, Positions).Fill(bias[o]);
            Kernels.Gemm(yb, w, Depth, 1, _cols, _o, Positions, Depth, accumulate: true);
        }
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        var w = Weight.Value.Span;
        var dw = Weight.Grad.Span;
        var db = Bias.Grad.Span;
        if (!accumulate)
        {
            dw.Clear();
            db.Clear();
        }
        for (int b = 0; b < batch; b++)
        {
            var dy = outputGradient.Slice(b * OutputSize, OutputSize);
            for (int o = 0; o < _o; o++)
            {
                T sum = T.Zero;
                foreach (T v in dy.Slice(o * Positions, Positions)) sum += v;
                db[o] += sum;
            }
            Unfold(input.Slice(b * InputSize, InputSize), _cols);
            // dW[o, k] += sum_p dY[o, p] cols[k, p]: dot products of rows.
            Kernels.GemmNT(dw, dy, _cols, _o, Depth, Positions, accumulate: true);
            if (inputGradient.IsEmpty) continue;
            // dcols[k, p] = sum_o W[o, k] dY[o, p]: A = W^T read down its columns.
            Kernels.Gemm(_dcols, w, 1, Depth, dy, Depth, Positions, _o, accumulate: false);
            Fold(_dcols, inputGradient.Slice(b * InputSize, InputSize));
        }
    }

    /// <summary>
    /// Draws the kernels and then the biases by <paramref name="initialization"/>, with fan-in <c>in kh kw</c> and
    /// fan-out <c>out kh kw</c> (PyTorch's default, <c>kaiming_uniform_(a=sqrt(5))</c>, is the uniform bound
    /// <c>1/sqrt(fan_in)</c> of <see cref="Initialization.Torch"/>).
    /// </summary>
    public override void Initialize(Initialization initialization, Rng rng) =>
        Linear<T>.Initialize(Weight, Bias, Depth, _o * _kh * _kw, initialization, rng);

    /// <summary><c>cols[(c kh + i) kw + j, oy Wo + ox] = x[c, oy stride - padding + i, ox stride - padding + j]</c>, 0 outside.</summary>
    private void Unfold(ReadOnlySpan<T> x, Span<T> cols)
    {
        for (int c = 0; c < _c; c++)
            for (int i = 0; i < _kh; i++)
                for (int j = 0; j < _kw; j++)
                {
                    var row = cols.Slice(((c * _kh + i) * _kw + j) * Positions, Positions);
                    for (int oy = 0; oy < _ho; oy++)
                    {
                        int iy = oy * _stride - _padding + i;
                        var dest = row.Slice(oy * _wo, _wo);
                        if (iy < 0 || iy >= _h) { dest.Clear(); continue; }
                        var src = x.Slice((c * _h + iy) * _w, _w);
                        for (int ox = 0; ox < _wo; ox++)
                        {
                            int ix = ox * _stride - _padding + j;
                            dest[ox] = ix >= 0 && ix < _w ? src[ix] : T.Zero;
                        }
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Unfold"/>: <c>dx</c> set to the sum of every column entry taken from each input position.</summary>
    private void Fold(ReadOnlySpan<T> cols, Span<T> dx)
    {
        dx.Clear();
        for (int c = 0; c < _c; c++)
            for (int i = 0; i < _kh; i++)
                for (int j = 0; j < _kw; j++)
                {
                    var row = cols.Slice(((c * _kh + i) * _kw + j) * Positions, Positions);
                    for (int oy = 0; oy < _ho; oy++)
                    {
                        int iy = oy * _stride - _padding + i;
                        if (iy < 0 || iy >= _h) continue;
                        var dest = dx.Slice((c * _h + iy) * _w, _w);
                        var src = row.Slice(oy * _wo, _wo);
                        for (int ox = 0; ox < _wo; ox++)
                        {
                            int ix = ox * _stride - _padding + j;
                            if (ix >= 0 && ix < _w) dest[ix] += src[ox];
                        }
                    }
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
