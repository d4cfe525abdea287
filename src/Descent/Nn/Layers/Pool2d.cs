using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
    private int[] _argmax = [];

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

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        var argmax = Grow(ref _argmax, y.Length);
        T area = T.CreateTruncating(_k * _k);
        // Element references without bounds tests: the shape checks of the constructor and CheckInput keep every
        // window inside its plane.
        ref T x0 = ref MemoryMarshal.GetReference(input);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        ref int a0 = ref MemoryMarshal.GetReference(argmax);
        for (int plane = 0, o = 0; plane < batch * _c; plane++)
        {
            ref T x = ref Unsafe.Add(ref x0, plane * _h * _w);
            for (int oy = 0; oy < _ho; oy++)
                for (int ox = 0; ox < _wo; ox++, o++)
                {
                    int first = oy * _stride * _w + ox * _stride;
                    if (Pooling == Pooling.Max)
                    {
                        // The first largest wins, and a NaN wins over any number, as in PyTorch's kernel.
                        int best = first;
                        T top = Unsafe.Add(ref x, first);
                        for (int i = 0; i < _k; i++)
                            for (int j = 0; j < _k; j++)
                            {
                                int at = first + i * _w + j;
                                T v = Unsafe.Add(ref x, at);
                                // Selects rather than a branch: which input is largest is data, and a mispredicted
                                // branch per window had made this loop take a tenth of a CNN step.
                                bool larger = v > top | (T.IsNaN(v) & !T.IsNaN(top));
                                best = larger ? at : best;
                                top = larger ? v : top;
                            }
                        Unsafe.Add(ref a0, o) = best;
                        Unsafe.Add(ref y0, o) = top;
                    }
                    else Unsafe.Add(ref y0, o) = WindowMean(ref x, first, area);
                }
        }
        return y;
    }

    /// <summary>
    /// <c>R{y}</c>: the input's derivative at the window's largest input (which input is largest does not change along
    /// a direction, almost everywhere), or the mean of its derivatives under the window. Call after <see cref="Forward"/>.
    /// </summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        var ry = ROutput(batch);
        T area = T.CreateTruncating(_k * _k);
        for (int plane = 0, o = 0; plane < batch * _c; plane++)
        {
            ref T rx = ref MemoryMarshal.GetReference(rInput[(plane * _h * _w)..]);
            for (int oy = 0; oy < _ho; oy++)
                for (int ox = 0; ox < _wo; ox++, o++)
                    ry[o] = Pooling == Pooling.Max ? Unsafe.Add(ref rx, _argmax[o]) : WindowMean(ref rx, oy * _stride * _w + ox * _stride, area);
        }
        return ry;
    }

    /// <summary>Pooling is linear in its input once the largest inputs are chosen, so <c>R{dx}</c> is <c>R{dy}</c> sent back the same way.</summary>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch) => Backward(input, rOutputGradient, rInputGradient, batch);

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
        inputGradient[..(batch * InputSize)].Clear();
        T area = T.CreateTruncating(_k * _k);
        for (int plane = 0; plane < batch * _c; plane++)
        {
            var dx = inputGradient.Slice(plane * _h * _w, _h * _w);
            for (int oy = 0; oy < _ho; oy++)
                for (int ox = 0; ox < _wo; ox++)
                {
                    int o = (plane * _ho + oy) * _wo + ox, first = oy * _stride * _w + ox * _stride;
                    if (Pooling == Pooling.Max)
                    {
                        dx[_argmax[o]] += outputGradient[o];
                        continue;
                    }
                    T share = outputGradient[o] / area;
                    for (int i = 0; i < _k; i++)
                        for (int j = 0; j < _k; j++) dx[first + i * _w + j] += share;
                }
        }
    }

    private static int[] OutputShapeOf(IReadOnlyList<int> input, int k, int stride)
    {
        if (input.Count != 3) throw new ArgumentException($"Pooling takes examples of shape [C, H, W], got [{string.Join(", ", input)}].");
        if (k < 1 || stride < 1) throw new ArgumentException($"Pooling: kernel_size {k} and stride {stride} must be at least 1.");
        if (input[1] < k || input[2] < k) throw new ArgumentException($"Pooling: a {k}x{k} window does not fit a {input[1]}x{input[2]} image.");
        return [input[0], (input[1] - k) / stride + 1, (input[2] - k) / stride + 1];
    }
}
