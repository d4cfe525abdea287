using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Descent.Numerics;
using static Descent.Numerics.Kernels;

namespace Descent.Nn;

/// <summary>
/// A stride-1 3 x 3 convolution by Winograd's minimal filtering algorithm F(2x2, 3x3) (Lavin and Gray, "Fast
/// Algorithms for Convolutional Neural Networks", 2016): each 2 x 2 block of outputs is
/// <c>A^T [(G g G^T) . (B^T d B)] A</c> for the 4 x 4 input tile <c>d</c> under it and the 3 x 3 kernel <c>g</c>, where
/// <c>.</c> multiplies entry by entry. Summed over input channels, the 16 entries of the transformed tiles become 16
/// independent matrix products, <c>M[xi] = V[xi] U[xi]</c> (tiles x in-channels times in-channels x out-channels), with
/// 16 multiplications per 2 x 2 outputs and channel pair where the direct convolution needs 36: 2.25 times fewer.
/// F(4x4, 3x3) works the same way on 6 x 6 input tiles with 36 entries, 36 multiplications per 4 x 4 outputs: 4 times
/// fewer, with transforms that multiply by up to 8 (and the kernels' by 1/24), so more rounding in float.
/// </summary>
/// <remarks>
/// <para>
/// The transforms are sums and differences (and halves for F(2x2, 3x3)'s kernels; for F(4x4, 3x3) small multiples, and
/// sixths to twenty-fourths for its kernels), so in exact arithmetic the result is the convolution; in floating point
/// the rounding differs from the direct sum, as it does between any two orders of summation (PyTorch's own CPU
/// convolutions choose among such algorithms). Non-finite inputs spread further: a NaN reaches every output of each
/// tile whose inputs hold it (4 outputs from 4 x 4 inputs, or 16 from 6 x 6), and an infinity can give NaN (infinity
/// minus infinity in the transform) where the direct sum gives an infinity.
/// </para>
/// <para>
/// Everything runs channel-last: an example is transposed into a <c>[Hp, Wp, C]</c> plane with zero borders, so the
/// inputs of a tile are contiguous vectors of channels, and the transforms are vector sums over channels.
/// Channels are rounded up to whole vectors; the extra channels hold zeros in the input planes and the kernels (the
/// gradient planes have their own buffers, so nothing else is ever written there), and what the products leave in
/// the extra output channels never reaches an output or a gradient (a max pooling that reads the channel-last outputs
/// pools them, and the bias gradient sums them, both then dropping them). Examples go in groups whose transformed tiles fit in
/// the L2 cache (at least one example per group). The backward pass is the adjoint of each step: <c>dM = A dY A^T</c> per tile,
/// <c>dU[xi] += V[xi]^T dM[xi]</c> over the batch (then <c>dg = G^T dU G</c> once), <c>dV[xi] = dM[xi] U[xi]^T</c>, and
/// <c>dd = B dV B^T</c> added onto the input positions of each tile; the transformed inputs are recomputed there
/// rather than kept for the whole batch.
/// </para>
/// </remarks>
internal sealed class Winograd<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// Bytes of transformed tiles (<c>V</c> and <c>M</c>) per group of examples: about the L2 cache of the machines
    /// measured (the exercise CNN's second convolution takes four examples, 64 tiles of F(4x4, 3x3), 0.8 MB; by F(2x2, 3x3)
    /// three, 147 tiles, 0.9 MB).
    /// </summary>
    private const int GroupBytes = 1 << 20;

    private readonly int _c, _h, _w, _o, _padding, _ho, _wo, _th, _tw, _hp, _wp, _cp, _op, _group, _groupTiles;

    /// <summary>The side of a tile's block of outputs (2 or 4), of its inputs (<c>+ 2</c>), and the tile's entries.</summary>
    private readonly int _size, _side, _entries;

    /// <summary>Elements from one entry's matrix of <c>V</c> to the next.</summary>
    private readonly int _vStride;

    /// <summary>
    /// Elements from one tile's entries of <c>M</c> (and of its gradient) to the next tile's: a tile's 16 or 36 entries lie
    /// side by side, <c>M[xi][t, o]</c> at <c>t _mTile + xi _op + o</c>, so each entry's matrix is a product's operand with
    /// rows a tile apart, and the output transform and its adjoint, which take all the entries of a tile, read and write one
    /// stretch of memory per tile rather than a vector in each of 16 or 36 matrices (the exercise CNN, 2026-12-03: 1.01x at
    /// 256 bits and 1.03x at 512; <c>V</c> laid out the same way measured slower, as its products lost more than its
    /// transforms gained).
    /// </summary>
    private readonly int _mTile;

    /// <summary>
    /// Elements from one entry's matrix of the transformed kernels to the next: of <c>U^T</c> (and its gradient), and of
    /// <c>U</c>. Padded (<see cref="Apart"/>): each kernel's transform writes one vector into every entry's matrix.
    /// </summary>
    private readonly int _utStride, _uStride;

    /// <summary>
    /// <paramref name="length"/> elements, or a cache line more when they make a multiple of 1 KB: a tile writes (and
    /// reads) one vector in each entry's matrix of <c>V</c> and <c>U</c>, and a product reads or writes the rows of <c>M</c>
    /// a tile apart; at a stride of a multiple of 4 KB all of them fall into one set of the L1 cache, which holds only a
    /// few (F(4x4, 3x3) on the exercise CNN's second layer: 64 tiles of 32 channels in float, 8 KB apart, made its
    /// transforms slower than its products).
    /// </summary>
    private static int Apart(int length)
    {
        int size = Unsafe.SizeOf<T>();
        return (long)length * size % 1024 == 0 ? length + 64 / size : length;
    }
    private readonly AlignedArray<T> _u, _ut, _dut, _xp, _dxp, _v, _m, _xl, _dxl, _yl, _bias, _biasSums, _gt, _dgt, _g;

    /// <summary>
    /// Room for a 6 x 6 tile's intermediate rows (36 vectors), which F(4x4, 3x3)'s tile operations pass through; one
    /// buffer for all of them, so they have no stack allocation of their own (which kept them from being inlined and
    /// was cleared at every call).
    /// </summary>
    private readonly AlignedArray<T> _scratch = new(36 * Vector<T>.Count);

    /// <summary>
    /// Buffers for <paramref name="c"/> x <paramref name="h"/> x <paramref name="w"/> inputs, <paramref name="o"/> output
    /// channels, and <paramref name="padding"/>, with blocks of <paramref name="size"/> x <paramref name="size"/> outputs:
    /// F(2x2, 3x3) or F(4x4, 3x3).
    /// </summary>
    public Winograd(int c, int h, int w, int o, int padding, int size = 2)
    {
        if (size is not (2 or 4)) throw new ArgumentException($"Winograd: blocks of 2x2 or 4x4 outputs, not {size}x{size}.");
        (_c, _h, _w, _o, _padding) = (c, h, w, o, padding);
        (_size, _side) = (size, size + 2);
        _entries = _side * _side;
        (_ho, _wo) = (h + 2 * padding - 2, w + 2 * padding - 2);
        (_th, _tw) = ((_ho + size - 1) / size, (_wo + size - 1) / size);
        // A tile reads rows size ty .. size ty + size + 1: an output height that is not a multiple of the block reads rows
        // past the padded image.
        (_hp, _wp) = (Math.Max(h + 2 * padding, size * _th + 2), Math.Max(w + 2 * padding, size * _tw + 2));
        int lanes = Vector<T>.Count;
        (_cp, _op) = ((c + lanes - 1) / lanes * lanes, (o + lanes - 1) / lanes * lanes);
        _group = Math.Max(1, GroupBytes / (_th * _tw * _entries * (_cp + _op) * Unsafe.SizeOf<T>()));
        _groupTiles = _group * _th * _tw;
        (_vStride, _mTile) = (Apart(_groupTiles * _cp), Apart(_entries * _op));
        (_utStride, _uStride) = (Apart(_cp * _op), Apart(_o * _cp));
        _u = new(_entries * _uStride);
        _ut = new(_entries * _utStride);
        _dut = new(_entries * _utStride);
        _gt = new(c * 9 * _op);
        _dgt = new(_gt.Length);
        _g = new(o * c * 9);
        _xp = new(_group * _hp * _wp * _cp);
        _dxp = new(_xp.Length);
        _v = new(_entries * _vStride);
        _m = new(_groupTiles * _mTile);
        _xl = new(_h * _w * _cp);
        _dxl = new(_xl.Length);
        _yl = new(_ho * _wo * _op);
        _bias = new(_op);
        _biasSums = new(_o);
    }

    /// <summary>The first vector of <see cref="_scratch"/>.</summary>
    private ref Vector<T> Scratch => ref Unsafe.As<T, Vector<T>>(ref _scratch.Reference);

    /// <summary>Whether a convolution of this shape can run here: 3 x 3 kernels at stride 1.</summary>
    public static bool Fits(int kh, int kw, int stride) => kh == 3 && kw == 3 && stride == 1;

    private int InputSize => _c * _h * _w;

    private int OutputSize => _o * _ho * _wo;

    /// <summary><c>y = conv(x, weight) + bias</c> for a batch of <c>[C, H, W]</c> examples.</summary>
    public void Forward(ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, Span<T> y, int batch,
        Pool2d<T>? pool = null, Span<T> example = default)
    {
        TransformKernels(weight, backward: false);
        bias[.._o].CopyTo(_bias);
        for (int b0 = 0; b0 < batch; b0 += _group)
        {
            int examples = Math.Min(_group, batch - b0), tiles = examples * _th * _tw;
            TransformInputs(input, b0, examples);
            for (int xi = 0; xi < _entries; xi++)
                Kernels.Gemm<T>(_m.AsSpan(xi * _op), _v.AsSpan(xi * _vStride), _cp, 1, _ut.AsSpan(xi * _utStride), tiles, _op, _cp, accumulate: false, ldc: _mTile);
            for (int e = 0; e < examples; e++)
            {
                TransformOutputs(e);
                if (pool is not null && pool.PoolsChannelLast(_op))
                {
                    pool.ForwardExampleChannelLast(_yl, _op, b0 + e, batch);
                    continue;
                }
                Kernels.Transpose<T>(_yl, pool is null ? y.Slice((b0 + e) * OutputSize, OutputSize) : example, _ho * _wo, _o, ldFrom: _op);
                pool?.ForwardExample(example, b0 + e, batch);
            }
        }
    }

    /// <summary>
    /// <c>dw (+)= dL/dw</c>, <c>db (+)= dL/db</c> and, when <paramref name="dx"/> is not empty, <c>dx = dL/dx</c> for output
    /// gradient <paramref name="dy"/>; with <paramref name="pool"/>, <paramref name="dy"/> is the gradient of that pooling's
    /// outputs, which sends each example's back through it as the example is reached (see
    /// <see cref="Conv2d{T}.BackwardThroughPooling"/>): channel-last, straight into this layer's buffer, when its forward pass
    /// pooled this layer's channel-last outputs, else into <paramref name="example"/>.
    /// </summary>
    public void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> dy, ReadOnlySpan<T> weight, Span<T> dw, Span<T> db, Span<T> dx, int batch,
        Pool2d<T>? pool = null, Span<T> example = default)
    {
        if (!dx.IsEmpty) TransformKernels(weight, backward: true);
        _dut.AsSpan().Clear();
        for (int b0 = 0; b0 < batch; b0 += _group)
        {
            int examples = Math.Min(_group, batch - b0), tiles = examples * _th * _tw;
            TransformInputs(input, b0, examples);
            for (int e = 0; e < examples; e++)
            {
                // The example's output gradient, channel-last: straight from a pooling that kept its forward pass channel-last,
                // else transposed.
                if (pool is not null && pool.KeepsChannelLast(_op)) pool.ExampleInputGradientChannelLast(dy, b0 + e, batch, _yl, _op);
                else Kernels.Transpose(Conv2d<T>.ExampleGradient(dy, pool, b0 + e, batch, OutputSize, example), _yl, _o, _ho * _wo, ldTo: _op);
                AddBiasGradient(db);
                TransformOutputGradients(e);
            }
            for (int xi = 0; xi < _entries; xi++)
            {
                // dU^T[c, o] += sum_t V[t, c] dM[t, o]; then V's place takes dV[t, c] = sum_o dM[t, o] U[o, c].
                Kernels.Gemm<T>(_dut.AsSpan(xi * _utStride), _v.AsSpan(xi * _vStride), 1, _cp, _m.AsSpan(xi * _op), _cp, _op, tiles, accumulate: true, ldb: _mTile);
                if (!dx.IsEmpty)
                    Kernels.Gemm<T>(_v.AsSpan(xi * _vStride), _m.AsSpan(xi * _op), _mTile, 1, _u.AsSpan(xi * _uStride), tiles, _cp, _o, accumulate: false);
            }
            if (dx.IsEmpty) continue;
            _dxp.AsSpan().Clear();
            TransformInputGradients(examples);
            for (int e = 0; e < examples; e++)
            {
                var plane = _dxp.AsSpan(e * _hp * _wp * _cp);
                for (int y = 0; y < _h; y++)
                    plane.Slice(((y + _padding) * _wp + _padding) * _cp, _w * _cp).CopyTo(_dxl.AsSpan(y * _w * _cp));
                Kernels.Transpose<T>(_dxl, dx.Slice((b0 + e) * InputSize, InputSize), _h * _w, _c, ldFrom: _cp);
            }
        }
        KernelGradients(dw);
    }

    /// <summary>
    /// <c>db[o] += sum_p dY[p, o]</c> for the example's channel-last output gradient in <see cref="_yl"/>: each channel's sum one
    /// chain over the positions in order, from zero (the rows of positions added in vectors), then added to <paramref name="db"/>.
    /// </summary>
    private void AddBiasGradient(Span<T> db)
    {
        var sums = _biasSums.AsSpan();
        sums.Clear();
        for (int p = 0; p < _ho * _wo; p++) Add(sums, _yl.AsSpan(p * _op, _o));
        Add(db[.._o], sums);
    }

    /// <summary>
    /// <c>U[xi] = G g G^T</c> for every kernel <c>g = weight[o, c]</c>, written as <c>U^T[xi][c, o]</c> for the forward
    /// product, and with <paramref name="backward"/> also as <c>U[xi][o, c]</c> for the backward one.
    /// <c>G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]</c> for F(2x2, 3x3) (for F(4x4, 3x3), <see cref="G4"/>). The kernels are first transposed to
    /// <c>[c, 3, 3][o]</c>, so a vector holds one kernel entry of consecutive output channels and every kernel is
    /// transformed lane by lane, with the sums in the order one kernel at a time would take them.
    /// </summary>
    private void TransformKernels(ReadOnlySpan<T> weight, bool backward)
    {
        Transpose(weight[..(_o * _c * 9)], _gt, _o, _c * 9, ldTo: _op);
        if (_size == 4) EachKernel<KernelTransform4>(_gt, _ut);
        else EachKernel<KernelTransform2>(_gt, _ut);
        if (!backward) return;
        for (int xi = 0; xi < _entries; xi++)
            Transpose<T>(_ut.AsSpan(xi * _utStride), _u.AsSpan(xi * _uStride), _c, _o, ldFrom: _op, ldTo: _cp);
    }

    /// <summary>
    /// <typeparamref name="TOp"/> on every kernel, lane by lane over output channels: <paramref name="kernels"/> in the
    /// transposed layout <c>[c, 3, 3][o]</c> (entries <see cref="_op"/> apart), <paramref name="transformed"/> as
    /// <c>U^T[xi][c, o]</c> (entries <see cref="_utStride"/> apart).
    /// </summary>
    private void EachKernel<TOp>(AlignedArray<T> kernels, AlignedArray<T> transformed) where TOp : IKernelOp
    {
        ref T g0 = ref kernels.Reference;
        ref T u0 = ref transformed.Reference;
        nint plane = _utStride;
        Span<Vector<T>> r = stackalloc Vector<T>[18];
        for (int c = 0; c < _c; c++)
            for (int ov = 0; ov < _op; ov += Vector<T>.Count)
                TOp.Apply(ref Unsafe.Add(ref g0, c * 9 * _op + ov), _op, ref Unsafe.Add(ref u0, c * _op + ov), plane, r);
    }

    /// <summary>What <see cref="EachKernel"/> does with one vector of kernels.</summary>
    private interface IKernelOp
    {
        /// <summary>
        /// One vector of kernels: <paramref name="g"/> their first entry (entries <paramref name="ld"/> apart, row by row),
        /// <paramref name="u"/> their first transformed entry (entries <paramref name="plane"/> apart), and room for
        /// 18 intermediate vectors.
        /// </summary>
        static abstract void Apply(ref T g, nint ld, ref T u, nint plane, Span<Vector<T>> r);
    }

    /// <summary><c>U = G g G^T</c> for F(2x2, 3x3), <c>G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]</c>.</summary>
    private readonly struct KernelTransform2 : IKernelOp
    {
        public static void Apply(ref T g, nint ld, ref T u, nint plane, Span<Vector<T>> r)
        {
            var half = new Vector<T>(T.CreateTruncating(0.5));
            // r = G g: g's first row, the halved sum and difference of its rows, its last row.
            for (int j = 0; j < 3; j++)
            {
                Vector<T> top = Load(ref g, j * ld), middle = Load(ref g, (3 + j) * ld), bottom = Load(ref g, (6 + j) * ld);
                r[j] = top;
                r[3 + j] = (top + middle + bottom) * half;
                r[6 + j] = (top - middle + bottom) * half;
                r[9 + j] = bottom;
            }
            for (int i = 0; i < 4; i++)
            {
                Vector<T> r0 = r[3 * i], r1 = r[3 * i + 1], r2 = r[3 * i + 2];
                Store(ref u, 4 * i * plane, r0);
                Store(ref u, (4 * i + 1) * plane, (r0 + r1 + r2) * half);
                Store(ref u, (4 * i + 2) * plane, (r0 - r1 + r2) * half);
                Store(ref u, (4 * i + 3) * plane, r2);
            }
        }
    }

    /// <summary>
    /// <c>U = G g G^T</c> for F(4x4, 3x3), <c>G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]</c>:
    /// down the kernel's columns, then along the rows of the result.
    /// </summary>
    private readonly struct KernelTransform4 : IKernelOp
    {
        public static void Apply(ref T g, nint ld, ref T u, nint plane, Span<Vector<T>> r)
        {
            for (int j = 0; j < 3; j++)
            {
                var (a0, a1, a2, a3, a4, a5) = G4(Load(ref g, j * ld), Load(ref g, (3 + j) * ld), Load(ref g, (6 + j) * ld));
                (r[j], r[3 + j], r[6 + j], r[9 + j], r[12 + j], r[15 + j]) = (a0, a1, a2, a3, a4, a5);
            }
            for (int i = 0; i < 6; i++)
            {
                var (a0, a1, a2, a3, a4, a5) = G4(r[3 * i], r[3 * i + 1], r[3 * i + 2]);
                Store(ref u, 6 * i * plane, a0);
                Store(ref u, (6 * i + 1) * plane, a1);
                Store(ref u, (6 * i + 2) * plane, a2);
                Store(ref u, (6 * i + 3) * plane, a3);
                Store(ref u, (6 * i + 4) * plane, a4);
                Store(ref u, (6 * i + 5) * plane, a5);
            }
        }
    }

    /// <summary><c>dg = G^T dU G</c> for F(2x2, 3x3), the adjoint of <see cref="KernelTransform2"/>, written to <c>g</c>.</summary>
    private readonly struct KernelGradient2 : IKernelOp
    {
        public static void Apply(ref T g, nint ld, ref T u, nint plane, Span<Vector<T>> q)
        {
            var half = new Vector<T>(T.CreateTruncating(0.5));
            for (int i = 0; i < 4; i++)
            {
                Vector<T> e0 = Load(ref u, 4 * i * plane), e1 = Load(ref u, (4 * i + 1) * plane);
                Vector<T> e2 = Load(ref u, (4 * i + 2) * plane), e3 = Load(ref u, (4 * i + 3) * plane);
                q[3 * i] = e0 + (e1 + e2) * half;
                q[3 * i + 1] = (e1 - e2) * half;
                q[3 * i + 2] = (e1 + e2) * half + e3;
            }
            for (int j = 0; j < 3; j++)
            {
                Store(ref g, j * ld, q[j] + (q[3 + j] + q[6 + j]) * half);
                Store(ref g, (3 + j) * ld, (q[3 + j] - q[6 + j]) * half);
                Store(ref g, (6 + j) * ld, (q[3 + j] + q[6 + j]) * half + q[9 + j]);
            }
        }
    }

    /// <summary><c>dg = G^T dU G</c> for F(4x4, 3x3): along the rows of <c>dU</c>, then down the columns, written to <c>g</c>.</summary>
    private readonly struct KernelGradient4 : IKernelOp
    {
        public static void Apply(ref T g, nint ld, ref T u, nint plane, Span<Vector<T>> q)
        {
            for (int i = 0; i < 6; i++)
                (q[3 * i], q[3 * i + 1], q[3 * i + 2]) = G4Transposed(Load(ref u, 6 * i * plane), Load(ref u, (6 * i + 1) * plane), Load(ref u, (6 * i + 2) * plane),
                    Load(ref u, (6 * i + 3) * plane), Load(ref u, (6 * i + 4) * plane), Load(ref u, (6 * i + 5) * plane));
            for (int j = 0; j < 3; j++)
            {
                var (a0, a1, a2) = G4Transposed(q[j], q[3 + j], q[6 + j], q[9 + j], q[12 + j], q[15 + j]);
                Store(ref g, j * ld, a0);
                Store(ref g, (3 + j) * ld, a1);
                Store(ref g, (6 + j) * ld, a2);
            }
        }
    }

    /// <summary><c>G x</c> for F(4x4, 3x3): three entries of a kernel's row or column to six.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<T>, Vector<T>, Vector<T>, Vector<T>, Vector<T>, Vector<T>) G4(Vector<T> g0, Vector<T> g1, Vector<T> g2)
    {
        Vector<T> quarter = new(T.CreateTruncating(0.25)), sixth = new(T.One / T.CreateTruncating(6)), twentyFourth = new(T.One / T.CreateTruncating(24));
        Vector<T> outer = g0 + g2, twice = g1 + g1, four = g2 * new Vector<T>(T.CreateTruncating(4));
        return (g0 * quarter, -(outer + g1) * sixth, -(outer - g1) * sixth, (g0 + twice + four) * twentyFourth, (g0 - twice + four) * twentyFourth, g2);
    }

    /// <summary><c>G^T x</c> for F(4x4, 3x3), the adjoint of <see cref="G4"/>: six entries to three.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<T>, Vector<T>, Vector<T>) G4Transposed(Vector<T> u0, Vector<T> u1, Vector<T> u2, Vector<T> u3, Vector<T> u4, Vector<T> u5)
    {
        Vector<T> quarter = new(T.CreateTruncating(0.25)), sixth = new(T.One / T.CreateTruncating(6));
        Vector<T> twelfth = new(T.One / T.CreateTruncating(12)), twentyFourth = new(T.One / T.CreateTruncating(24));
        Vector<T> low = u1 + u2, high = u3 + u4;
        return (u0 * quarter - low * sixth + high * twentyFourth, (u2 - u1) * sixth + (u3 - u4) * twelfth, (high - low) * sixth + u5);
    }

    /// <summary>
    /// <c>dw (+)= G^T dU G</c> for every kernel, from the <c>dU^T</c> summed over the batch: lane by lane over output
    /// channels into <c>[c, 3, 3][o]</c> (<see cref="_dgt"/>, not <see cref="_gt"/>, whose extra channels stay zero), then
    /// transposed to the weights' layout and added.
    /// </summary>
    private void KernelGradients(Span<T> dw)
    {
        if (_size == 4) EachKernel<KernelGradient4>(_dgt, _dut);
        else EachKernel<KernelGradient2>(_dgt, _dut);
        Transpose<T>(_dgt, _g, _c * 9, _o, ldFrom: _op);
        Add(dw[.._g.Length], _g);
    }

    /// <summary>
    /// Copies examples <paramref name="b0"/> .. of the group into their channel-last planes and writes
    /// <c>V[xi][t, c] = (B^T d B)[xi]</c> for each tile <c>t</c>, with
    /// <c>B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]</c> for F(2x2, 3x3) (for F(4x4, 3x3), <see cref="BTransposed4"/>).
    /// </summary>
    private void TransformInputs(ReadOnlySpan<T> input, int b0, int examples)
    {
        for (int e = 0; e < examples; e++)
        {
            Kernels.Transpose(input.Slice((b0 + e) * InputSize, InputSize), _xl, _c, _h * _w, ldTo: _cp);
            var plane = _xp.AsSpan(e * _hp * _wp * _cp);
            for (int y = 0; y < _h; y++)
                _xl.AsSpan(y * _w * _cp, _w * _cp).CopyTo(plane[(((y + _padding) * _wp + _padding) * _cp)..]);
        }
        if (_size == 4) EachTile<InputTransform4>(_xp, examples);
        else EachTile<InputTransform>(_xp, examples);
    }

    /// <summary>
    /// Example <paramref name="e"/> of the group's outputs, channel-last: <c>Y = A^T M A + bias</c> for each tile,
    /// <c>A^T = [1 1 1 0; 0 1 -1 -1]</c> for F(2x2, 3x3) (for F(4x4, 3x3), <see cref="ATransposed4"/>), the positions
    /// past the output's last row or column dropped.
    /// </summary>
    private void TransformOutputs(int e)
    {
        if (_size == 4) EachOutputTile<OutputTransform4>(e);
        else EachOutputTile<OutputTransform>(e);
    }

    /// <summary>
    /// The adjoint of <see cref="TransformOutputs"/> for example <paramref name="e"/>: <c>dM = A dY A^T</c> for each tile,
    /// from the channel-last output gradient (zero past the output's edge).
    /// </summary>
    private void TransformOutputGradients(int e)
    {
        if (_size == 4) EachOutputTile<OutputGradientTransform4>(e);
        else EachOutputTile<OutputGradientTransform>(e);
    }

    /// <summary>
    /// <typeparamref name="TOp"/> on every tile of example <paramref name="e"/> of the group: its entries of <c>M</c>
    /// and its block of channel-last outputs (how many of its rows and columns lie inside the output), a vector of output
    /// channels at a time.
    /// </summary>
    private void EachOutputTile<TOp>(int e) where TOp : IOutputTileOp
    {
        int lanes = Vector<T>.Count;
        nint stride = _op, row = _wo * _op, column = _op;
        ref T m0 = ref _m.Reference;
        ref T y0 = ref _yl.Reference;
        ref T bias = ref _bias.Reference;
        ref Vector<T> scratch = ref Scratch;
        for (int ty = 0, t = e * _th * _tw; ty < _th; ty++)
            for (int tx = 0; tx < _tw; tx++, t++)
            {
                int rows = Math.Min(_size, _ho - _size * ty), columns = Math.Min(_size, _wo - _size * tx);
                for (int k = 0; k < _op; k += lanes)
                    TOp.Apply(ref Unsafe.Add(ref m0, (nint)t * _mTile + k), stride, ref Unsafe.Add(ref y0, (_size * ty * _wo + _size * tx) * _op + k), row, column, rows, columns, Load(ref bias, k), ref scratch);
            }
    }

    /// <summary>What <see cref="EachOutputTile"/> does with one tile.</summary>
    private interface IOutputTileOp
    {
        /// <summary>
        /// One tile: <paramref name="m"/> its first entry of <c>M</c> (entries <paramref name="stride"/> apart), <paramref name="y"/>
        /// its first output (rows <paramref name="row"/>, columns <paramref name="column"/> apart; the first <paramref name="rows"/>
        /// rows and <paramref name="columns"/> columns of the block exist), and the bias of its channels.
        /// </summary>
        static abstract void Apply(ref T m, nint stride, ref T y, nint row, nint column, int rows, int columns, Vector<T> bias, ref Vector<T> t);
    }

    /// <summary><c>Y = A^T M A + bias</c>, <c>A^T = [1 1 1 0; 0 1 -1 -1]</c>.</summary>
    private readonly struct OutputTransform : IOutputTileOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T m, nint stride, ref T y, nint row, nint column, int rows, int columns, Vector<T> bias, ref Vector<T> t)
        {
            bool down = rows > 1, right = columns > 1;
            // Rows first (output row 0 takes rows 0, 1, 2 of M; row 1 takes 1, -2, -3), then the same along each row.
            var (top0, bottom0) = Rows(ref m, 0, stride);
            var (top1, bottom1) = Rows(ref m, 1, stride);
            var (top2, bottom2) = Rows(ref m, 2, stride);
            var (top3, bottom3) = Rows(ref m, 3, stride);
            Store(ref y, 0, top0 + top1 + top2 + bias);
            if (right) Store(ref y, column, top1 - top2 - top3 + bias);
            if (!down) return;
            Store(ref y, row, bottom0 + bottom1 + bottom2 + bias);
            if (right) Store(ref y, row + column, bottom1 - bottom2 - bottom3 + bias);
        }
    }

    /// <summary><c>dM = A dY A^T</c>, the outputs past the edge taken as zero.</summary>
    private readonly struct OutputGradientTransform : IOutputTileOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T m, nint stride, ref T y, nint row, nint column, int rows, int columns, Vector<T> bias, ref Vector<T> t)
        {
            bool down = rows > 1, right = columns > 1;
            Vector<T> g00 = Load(ref y, 0), g01 = right ? Load(ref y, column) : default;
            Vector<T> g10 = down ? Load(ref y, row) : default, g11 = down && right ? Load(ref y, row + column) : default;
            // Rows of A: (1, 0), (1, 1), (1, -1), (0, -1), applied to the rows, then to the columns.
            Columns(ref m, 0, stride, g00, g01);
            Columns(ref m, 4, stride, g00 + g10, g01 + g11);
            Columns(ref m, 8, stride, g00 - g10, g01 - g11);
            Columns(ref m, 12, stride, -g10, -g11);
        }

        /// <summary>Row <c>xi / 4</c> of <c>dM</c> from the two columns of that row of <c>A dY</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Columns(ref T m, int xi, nint stride, Vector<T> left, Vector<T> right)
        {
            Store(ref m, xi * stride, left);
            Store(ref m, (xi + 1) * stride, left + right);
            Store(ref m, (xi + 2) * stride, left - right);
            Store(ref m, (xi + 3) * stride, -right);
        }
    }

    /// <summary>
    /// The adjoint of the input transform: <c>B dV B^T</c> of each tile added onto the input positions (4 x 4 or 6 x 6) it was
    /// read from, in the group's channel-last gradient planes.
    /// </summary>
    private void TransformInputGradients(int examples)
    {
        if (_size == 4) EachTile<InputGradientTransform4>(_dxp, examples);
        else EachTile<InputGradientTransform>(_dxp, examples);
    }

    /// <summary>
    /// <typeparamref name="TOp"/> on every tile of the group's first <paramref name="examples"/> planes
    /// (<paramref name="planes"/>, channel-last) and its rows of <c>V</c> (16 or 36), a vector of channels at a time.
    /// </summary>
    private void EachTile<TOp>(AlignedArray<T> planes, int examples) where TOp : ITileOp
    {
        int lanes = Vector<T>.Count;
        nint row = _wp * _cp, column = _cp, stride = _vStride;
        ref T x0 = ref planes.Reference;
        ref T v0 = ref _v.Reference;
        ref Vector<T> scratch = ref Scratch;
        for (int e = 0, t = 0; e < examples; e++)
            for (int ty = 0; ty < _th; ty++)
                for (int tx = 0; tx < _tw; tx++, t++)
                    for (int k = 0; k < _cp; k += lanes)
                        TOp.Apply(ref Unsafe.Add(ref x0, (e * _hp * _wp + _size * ty * _wp + _size * tx) * _cp + k), row, column, ref Unsafe.Add(ref v0, (nint)t * _cp + k), stride, ref scratch);
    }

    /// <summary>What <see cref="EachTile"/> does with one tile.</summary>
    private interface ITileOp
    {
        /// <summary>
        /// One tile: <paramref name="d"/> its first input (rows <paramref name="row"/>, columns <paramref name="column"/> apart),
        /// <paramref name="v"/> its first transformed entry (entries <paramref name="stride"/> apart).
        /// </summary>
        static abstract void Apply(ref T d, nint row, nint column, ref T v, nint stride, ref Vector<T> t);
    }

    /// <summary><c>V = B^T d B</c>: along each row of the tile (<c>d B</c>), then down each column.</summary>
    private readonly struct InputTransform : ITileOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T d, nint row, nint column, ref T v, nint stride, ref Vector<T> t)
        {
            var (s00, s01, s02, s03) = RowTimesB(ref d, 0, row, column);
            var (s10, s11, s12, s13) = RowTimesB(ref d, 1, row, column);
            var (s20, s21, s22, s23) = RowTimesB(ref d, 2, row, column);
            var (s30, s31, s32, s33) = RowTimesB(ref d, 3, row, column);
            StoreColumn(ref v, 0, stride, BTransposed(s00, s10, s20, s30));
            StoreColumn(ref v, 1, stride, BTransposed(s01, s11, s21, s31));
            StoreColumn(ref v, 2, stride, BTransposed(s02, s12, s22, s32));
            StoreColumn(ref v, 3, stride, BTransposed(s03, s13, s23, s33));
        }
    }

    /// <summary><c>d += B dV B^T</c>: down each column of <c>dV</c>, then along each row, added in place.</summary>
    private readonly struct InputGradientTransform : ITileOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T d, nint row, nint column, ref T v, nint stride, ref Vector<T> t)
        {
            var (f00, f10, f20, f30) = B(Load(ref v, 0), Load(ref v, 4 * stride), Load(ref v, 8 * stride), Load(ref v, 12 * stride));
            var (f01, f11, f21, f31) = B(Load(ref v, stride), Load(ref v, 5 * stride), Load(ref v, 9 * stride), Load(ref v, 13 * stride));
            var (f02, f12, f22, f32) = B(Load(ref v, 2 * stride), Load(ref v, 6 * stride), Load(ref v, 10 * stride), Load(ref v, 14 * stride));
            var (f03, f13, f23, f33) = B(Load(ref v, 3 * stride), Load(ref v, 7 * stride), Load(ref v, 11 * stride), Load(ref v, 15 * stride));
            AddRow(ref d, column, B(f00, f01, f02, f03));
            AddRow(ref Unsafe.Add(ref d, row), column, B(f10, f11, f12, f13));
            AddRow(ref Unsafe.Add(ref d, 2 * row), column, B(f20, f21, f22, f23));
            AddRow(ref Unsafe.Add(ref d, 3 * row), column, B(f30, f31, f32, f33));
        }
    }

    /// <summary><c>B^T x</c> for four entries <c>x</c> of a tile's row or column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<T>, Vector<T>, Vector<T>, Vector<T>) BTransposed(Vector<T> a, Vector<T> b, Vector<T> c, Vector<T> d) => (a - c, b + c, c - b, b - d);

    /// <summary><c>B x</c>, the adjoint of <see cref="BTransposed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<T>, Vector<T>, Vector<T>, Vector<T>) B(Vector<T> a, Vector<T> b, Vector<T> c, Vector<T> d) => (a, b - c + d, b + c - a, -d);

    /// <summary>Row <paramref name="i"/> of a tile (entries <paramref name="column"/> apart) times <c>B</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<T>, Vector<T>, Vector<T>, Vector<T>) RowTimesB(ref T d, int i, nint row, nint column)
    {
        ref T r = ref Unsafe.Add(ref d, i * row);
        return BTransposed(Load(ref r, 0), Load(ref r, column), Load(ref r, 2 * column), Load(ref r, 3 * column));
    }

    /// <summary>Stores column <paramref name="j"/> of a transformed tile: entries <c>4 i + j</c>, <paramref name="stride"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumn(ref T v, int j, nint stride, (Vector<T> V0, Vector<T> V1, Vector<T> V2, Vector<T> V3) x)
    {
        Store(ref v, j * stride, x.V0);
        Store(ref v, (4 + j) * stride, x.V1);
        Store(ref v, (8 + j) * stride, x.V2);
        Store(ref v, (12 + j) * stride, x.V3);
    }

    /// <summary>Adds four vectors onto a row of a gradient plane, <paramref name="column"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(ref T d, nint column, (Vector<T> V0, Vector<T> V1, Vector<T> V2, Vector<T> V3) x)
    {
        Store(ref d, 0, Load(ref d, 0) + x.V0);
        Store(ref d, column, Load(ref d, column) + x.V1);
        Store(ref d, 2 * column, Load(ref d, 2 * column) + x.V2);
        Store(ref d, 3 * column, Load(ref d, 3 * column) + x.V3);
    }

    /// <summary>Column <paramref name="j"/> of a tile of <c>M</c> multiplied by <c>A^T</c>: its two output rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<T> Top, Vector<T> Bottom) Rows(ref T m, int j, nint stride)
    {
        Vector<T> b = Load(ref m, (4 + j) * stride), c = Load(ref m, (8 + j) * stride);
        return (Load(ref m, j * stride) + b + c, b - c - Load(ref m, (12 + j) * stride));
    }

    /// <summary>
    /// <c>V = B^T d B</c> for F(4x4, 3x3): along each row of the 6 x 6 tile into the scratch rows, then down each
    /// column. The one-dimensional transforms take vectors and store their results, rather than return six of them:
    /// a six-vector tuple is not kept in registers, and returning them had made this transform slower than the products.
    /// </summary>
    private readonly struct InputTransform4 : ITileOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T d, nint row, nint column, ref T v, nint stride, ref Vector<T> t)
        {
            nint l = Vector<T>.Count;
            ref T s = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < 6; i++) BTransposed4(ref Unsafe.Add(ref d, i * row), column, ref Unsafe.Add(ref s, 6 * i * l), l);
            for (int j = 0; j < 6; j++) BTransposed4(ref Unsafe.Add(ref s, j * l), 6 * l, ref Unsafe.Add(ref v, j * stride), 6 * stride);
        }
    }

    /// <summary><c>d += B dV B^T</c> for F(4x4, 3x3): along each row of <c>dV</c>, then down each column, added in place.</summary>
    private readonly struct InputGradientTransform4 : ITileOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T d, nint row, nint column, ref T v, nint stride, ref Vector<T> t)
        {
            nint l = Vector<T>.Count;
            ref T s = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < 6; i++) B4(ref Unsafe.Add(ref v, 6 * i * stride), stride, ref Unsafe.Add(ref s, 6 * i * l), l, add: false);
            for (int j = 0; j < 6; j++) B4(ref Unsafe.Add(ref s, j * l), 6 * l, ref Unsafe.Add(ref d, j * column), row, add: true);
        }
    }

    /// <summary><c>Y = A^T M A + bias</c> for F(4x4, 3x3), <c>A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]</c>.</summary>
    private readonly struct OutputTransform4 : IOutputTileOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T m, nint stride, ref T y, nint row, nint column, int rows, int columns, Vector<T> bias, ref Vector<T> t)
        {
            nint l = Vector<T>.Count;
            ref T s = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < 6; i++) ATransposed4(ref Unsafe.Add(ref m, 6 * i * stride), stride, ref Unsafe.Add(ref s, 4 * i * l), l, 4, default, biased: false);
            for (int j = 0; j < columns; j++) ATransposed4(ref Unsafe.Add(ref s, j * l), 4 * l, ref Unsafe.Add(ref y, j * column), row, rows, bias, biased: true);
        }
    }

    /// <summary><c>dM = A dY A^T</c> for F(4x4, 3x3), the outputs past the edge taken as zero.</summary>
    private readonly struct OutputGradientTransform4 : IOutputTileOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T m, nint stride, ref T y, nint row, nint column, int rows, int columns, Vector<T> bias, ref Vector<T> t)
        {
            nint l = Vector<T>.Count;
            ref T s = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < 4; i++)
            {
                ref T r = ref Unsafe.Add(ref y, i * row);
                bool inside = i < rows;
                A4(inside ? Load(ref r, 0) : default, inside && columns > 1 ? Load(ref r, column) : default,
                    inside && columns > 2 ? Load(ref r, 2 * column) : default, inside && columns > 3 ? Load(ref r, 3 * column) : default,
                    ref Unsafe.Add(ref s, 6 * i * l), l);
            }
            for (int j = 0; j < 6; j++)
            {
                ref T c = ref Unsafe.Add(ref s, j * l);
                A4(Load(ref c, 0), Load(ref c, 6 * l), Load(ref c, 12 * l), Load(ref c, 18 * l), ref Unsafe.Add(ref m, j * stride), 6 * stride);
            }
        }
    }

    /// <summary>
    /// <c>B^T x</c> for F(4x4, 3x3), <c>B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]</c>,
    /// of the six vectors <paramref name="from"/>, <paramref name="fromStep"/> apart, stored <paramref name="step"/> apart from <paramref name="to"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BTransposed4(ref T from, nint fromStep, ref T to, nint step)
    {
        var (d0, d1, d2, d3, d4, d5) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep), Load(ref from, 3 * fromStep), Load(ref from, 4 * fromStep),
            Load(ref from, 5 * fromStep));
        Vector<T> four = new(T.CreateTruncating(4)), five = new(T.CreateTruncating(5));
        Vector<T> even = d4 - four * d2, odd = d3 - four * d1, near = d4 - d2, far = (d3 - d1) + (d3 - d1);
        Store(ref to, 0, four * d0 - five * d2 + d4);
        Store(ref to, step, even + odd);
        Store(ref to, 2 * step, even - odd);
        Store(ref to, 3 * step, near + far);
        Store(ref to, 4 * step, near - far);
        Store(ref to, 5 * step, four * d1 - five * d3 + d5);
    }

    /// <summary>
    /// <c>B x</c> for F(4x4, 3x3), the adjoint of <see cref="BTransposed4"/>, of six vectors <paramref name="fromStep"/>
    /// apart, stored (or with <paramref name="add"/> added) <paramref name="step"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void B4(ref T from, nint fromStep, ref T to, nint step, bool add)
    {
        var (y0, y1, y2, y3, y4, y5) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep), Load(ref from, 3 * fromStep), Load(ref from, 4 * fromStep),
            Load(ref from, 5 * fromStep));
        Vector<T> four = new(T.CreateTruncating(4)), five = new(T.CreateTruncating(5));
        Vector<T> sum = y1 + y2, rise = y2 - y1, sum2 = y3 + y4, rise2 = y4 - y3;
        Put(ref to, 0, four * y0, add);
        Put(ref to, step, four * rise + (rise2 + rise2) + four * y5, add);
        Put(ref to, 2 * step, -(five * y0) - four * sum - sum2, add);
        Put(ref to, 3 * step, -rise - (rise2 + rise2) - five * y5, add);
        Put(ref to, 4 * step, y0 + sum + sum2, add);
        Put(ref to, 5 * step, y5, add);
    }

    /// <summary>Stores <paramref name="x"/> at <paramref name="offset"/>, or adds it to what is there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ref T to, nint offset, Vector<T> x, bool add) => Store(ref to, offset, add ? Load(ref to, offset) + x : x);

    /// <summary>
    /// <c>A^T x</c> for F(4x4, 3x3): six entries of a row or column of <c>M</c> (<paramref name="fromStep"/> apart) to the
    /// first <paramref name="count"/> of its four outputs, each plus <paramref name="bias"/> when <paramref name="biased"/>,
    /// stored <paramref name="step"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ATransposed4(ref T from, nint fromStep, ref T to, nint step, int count, Vector<T> bias, bool biased)
    {
        var (m0, m1, m2, m3, m4, m5) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep), Load(ref from, 3 * fromStep), Load(ref from, 4 * fromStep),
            Load(ref from, 5 * fromStep));
        Vector<T> sum = m1 + m2, difference = m1 - m2, sum2 = m3 + m4, difference2 = m3 - m4;
        Vector<T> y0 = m0 + sum + sum2, y1 = difference + (difference2 + difference2);
        Vector<T> y2 = sum + new Vector<T>(T.CreateTruncating(4)) * sum2, y3 = difference + new Vector<T>(T.CreateTruncating(8)) * difference2 + m5;
        Store(ref to, 0, biased ? y0 + bias : y0);
        if (count > 1) Store(ref to, step, biased ? y1 + bias : y1);
        if (count > 2) Store(ref to, 2 * step, biased ? y2 + bias : y2);
        if (count > 3) Store(ref to, 3 * step, biased ? y3 + bias : y3);
    }

    /// <summary><c>A x</c> for F(4x4, 3x3), the adjoint of <see cref="ATransposed4"/>: four output gradients to six, stored <paramref name="step"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void A4(Vector<T> g0, Vector<T> g1, Vector<T> g2, Vector<T> g3, ref T to, nint step)
    {
        Vector<T> even = g0 + g2, odd = g1 + g3, even4 = g0 + new Vector<T>(T.CreateTruncating(4)) * g2, odd4 = (g1 + g1) + new Vector<T>(T.CreateTruncating(8)) * g3;
        Store(ref to, 0, g0);
        Store(ref to, step, even + odd);
        Store(ref to, 2 * step, even - odd);
        Store(ref to, 3 * step, even4 + odd4);
        Store(ref to, 4 * step, even4 - odd4);
        Store(ref to, 5 * step, g3);
    }
}
