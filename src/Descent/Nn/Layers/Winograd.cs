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
/// fewer, with transforms that multiply by up to 8 (and the kernels' by 1/24), so more rounding in float; F(6x6, 3x3) on
/// 8 x 8 tiles with 64 entries, 64 multiplications per 6 x 6 outputs: 5.06 times fewer, with transforms that multiply by
/// up to 32 (and the kernels' by 2/9 to 1/90), so more rounding again (against the unfolded product in the tests, within
/// the same bound as F(4x4, 3x3)).
/// </summary>
/// <remarks>
/// <para>
/// The two-dimensional transforms are one-dimensional ones down the columns and along the rows, so a block may take
/// another size along each axis: with blocks of 4, the one or two rows (or columns) that whole blocks leave at the
/// output's bottom (or right) edge are taken by blocks of 2 along that axis, F(4x2, 3x3), F(2x4, 3x3) or F(2x2, 3x3),
/// rather than by blocks of 4 cut short. The exercise CNN's 14 x 14 outputs then take 3 x 3 blocks of 4 x 4, three of
/// 4 x 2, three of 2 x 4 and one of 2 x 2: 22 x 22 = 484 multiplications per channel pair, where 4 x 4 blocks of 4 x 4
/// take 24 x 24 = 576; with blocks of 6, two of 6 and one of 2 along each axis, 20 x 20 = 400. Each kind of block has its
/// own transformed kernels, tiles and products.
/// </para>
/// <para>
/// The transforms are sums and differences (and halves for F(2x2, 3x3)'s kernels; for F(4x4, 3x3) and F(6x6, 3x3) small
/// multiples and fractions, and for their kernels sixths to twenty-fourths, and ninths to ninetieths), so in exact arithmetic the result is the convolution; in floating point
/// the rounding differs from the direct sum, as it does between any two orders of summation (PyTorch's own CPU
/// convolutions choose among such algorithms). Non-finite inputs spread further: a NaN reaches every output of each
/// tile whose inputs hold it (4 outputs from 4 x 4 inputs, 8 from 6 x 4 or 4 x 6, 16 from 6 x 6, 12 from 8 x 4 or 4 x 8, 36 from
/// 8 x 8), and an infinity can give NaN (infinity
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
/// <c>dU[xi] += V[xi]^T dM[xi]</c> over the batch (then <c>dg = G^T dU G</c> once, summed over the kinds of block),
/// <c>dV[xi] = dM[xi] U[xi]^T</c>, and <c>dd = B dV B^T</c> added onto the input positions of each tile; the transformed
/// inputs are recomputed there rather than kept for the whole batch.
/// </para>
/// </remarks>
internal sealed class Winograd<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// Bytes of transformed tiles (<c>V</c> and <c>M</c>) per group of examples: about the L2 cache of the machines
    /// measured (the exercise CNN's second convolution takes six examples, 54 tiles of F(6x6, 3x3) and its edge blocks,
    /// 0.9 MB; by F(4x4, 3x3) five, 80 tiles, 0.9 MB; by F(2x2, 3x3) three, 147 tiles, 0.9 MB).
    /// </summary>
    private const int GroupBytes = 1 << 20;

    private readonly int _c, _h, _w, _o, _padding, _ho, _wo, _hp, _wp, _cp, _op, _group;

    /// <summary>The kinds of block (by their sides along each axis) that cover the output, each with its tiles and buffers.</summary>
    private readonly Blocks[] _blocks;

    /// <summary>
    /// Elements from one entry's matrix of the transformed kernels to the next: of <c>U^T</c> (and its gradient), and of
    /// <c>U</c>. Padded (<see cref="Apart"/>): each kernel's transform writes one vector into every entry's matrix.
    /// </summary>
    private readonly int _utStride, _uStride;

    /// <summary>
    /// <paramref name="length"/> elements, or a cache line more when they make a multiple of 1 KB: a tile writes (and
    /// reads) one vector in each entry's matrix of <c>V</c> and <c>U</c>, and a product reads or writes the rows of <c>M</c>
    /// a tile apart; at a stride of a multiple of 4 KB all of them fall into one set of the L1 cache, which holds only a
    /// few (F(4x4, 3x3) on the exercise CNN's second layer, before blocks of 2 took its edge: 64 tiles of 32 channels in
    /// float, 8 KB apart, made its transforms slower than its products).
    /// </summary>
    private static int Apart(int length)
    {
        int size = Unsafe.SizeOf<T>();
        return (long)length * size % 1024 == 0 ? length + 64 / size : length;
    }

    private readonly AlignedArray<T> _xp, _dxp, _xl, _dxl, _yl, _bias, _biasSums, _gt, _gu, _dgt, _g;

    /// <summary>
    /// Room for an 8 x 8 tile's intermediate rows (64 vectors), which the tile operations pass through, and for a kernel's
    /// (24 vectors); one buffer for all of them, so they have no stack allocation of their own (which kept them from being
    /// inlined and was cleared at every call).
    /// </summary>
    private readonly AlignedArray<T> _scratch = new(64 * Vector<T>.Count);

    /// <summary>
    /// Buffers for <paramref name="c"/> x <paramref name="h"/> x <paramref name="w"/> inputs, <paramref name="o"/> output
    /// channels, and <paramref name="padding"/>, with blocks of <paramref name="size"/> x <paramref name="size"/> outputs:
    /// F(2x2, 3x3), or F(4x4, 3x3) or F(6x6, 3x3) with blocks of 2 along an axis where the output's edge leaves one or two
    /// rows or columns.
    /// </summary>
    public Winograd(int c, int h, int w, int o, int padding, int size = 2)
    {
        if (size is not (2 or 4 or 6)) throw new ArgumentException($"Winograd: blocks of 2x2, 4x4 or 6x6 outputs, not {size}x{size}.");
        (_c, _h, _w, _o, _padding) = (c, h, w, o, padding);
        (_ho, _wo) = (h + 2 * padding - 2, w + 2 * padding - 2);
        var (down, across) = (Sides(_ho, size), Sides(_wo, size));
        // A tile reads its block's rows and two more: an output height that the blocks do not fill reads rows past the padded image.
        (_hp, _wp) = (Math.Max(h + 2 * padding, down[^1].Start + down[^1].Size + 2), Math.Max(w + 2 * padding, across[^1].Start + across[^1].Size + 2));
        int lanes = Vector<T>.Count;
        (_cp, _op) = ((c + lanes - 1) / lanes * lanes, (o + lanes - 1) / lanes * lanes);
        (_utStride, _uStride) = (Apart(_cp * _op), Apart(_o * _cp));
        // The kinds of block in the order a row-major walk over the output meets them, each with the places of its blocks.
        var kinds = new List<(int Rows, int Columns, List<(int Top, int Left)> At)>();
        foreach (var (top, rows) in down)
            foreach (var (left, columns) in across)
            {
                int kind = kinds.FindIndex(k => k.Rows == rows && k.Columns == columns);
                if (kind < 0)
                {
                    kind = kinds.Count;
                    kinds.Add((rows, columns, []));
                }
                kinds[kind].At.Add((top, left));
            }
        long perExample = kinds.Sum(k => (long)k.At.Count * (k.Rows + 2) * (k.Columns + 2)) * (_cp + _op) * Unsafe.SizeOf<T>();
        _group = (int)Math.Max(1, GroupBytes / perExample);
        _blocks = [.. kinds.Select(k => new Blocks(k.Rows, k.Columns, k.At, _group, _cp, _op, _utStride, _uStride))];
        _gt = new(c * 9 * _op);
        _gu = new(o * 9 * _cp);
        _dgt = new(_gt.Length);
        _g = new(o * c * 9);
        _xp = new(_group * _hp * _wp * _cp);
        _dxp = new(_xp.Length);
        _xl = new(_h * _w * _cp);
        _dxl = new(_xl.Length);
        _yl = new(_ho * _wo * _op);
        _bias = new(_op);
        _biasSums = new(_o);
    }

    /// <summary>
    /// Groups for a batch of <paramref name="batch"/> examples: as few as hold at most <see cref="_group"/> each, of sizes
    /// that differ by one at most (<see cref="Group"/>), rather than full groups and a short last one, whose products
    /// have few rows (a core's half of the exercise CNN's batch, 32 examples, had taken five groups of six and one of two).
    /// </summary>
    private int Groups(int batch) => (batch + _group - 1) / _group;

    /// <summary>The first example and the number of examples of group <paramref name="g"/> of <paramref name="groups"/> over <paramref name="batch"/> examples.</summary>
    private static (int First, int Count) Group(int batch, int groups, int g)
    {
        int first = (int)((long)batch * g / groups);
        return (first, (int)((long)batch * (g + 1) / groups) - first);
    }

    /// <summary>
    /// The blocks along an axis of <paramref name="n"/> outputs: their first output and their side, <paramref name="size"/>
    /// each, but 2 for the last where it would hold only one or two outputs.
    /// </summary>
    private static List<(int Start, int Size)> Sides(int n, int size)
    {
        var sides = new List<(int, int)>();
        for (int start = 0; start < n; start += size) sides.Add((start, n - start <= 2 ? 2 : size));
        return sides;
    }

    /// <summary>
    /// Multiplications per channel pair of Winograd's algorithm with blocks of <paramref name="size"/> over
    /// <paramref name="ho"/> x <paramref name="wo"/> outputs: the entries of all its tiles, which is the product of the
    /// two axes' sums of tile sides (a block's side plus two).
    /// </summary>
    public static long Multiplications(int ho, int wo, int size) => (long)Sides(ho, size).Sum(s => s.Size + 2) * Sides(wo, size).Sum(s => s.Size + 2);

    /// <summary>
    /// One kind of block, <see cref="Rows"/> x <see cref="Columns"/> outputs from <c>(Rows + 2) x (Columns + 2)</c> input
    /// tiles: where its blocks lie in each example's output, and its transformed kernels, tiles and products for a group of
    /// examples. <c>V[xi][t, c]</c> at <c>xi VStride + t cp + c</c>; <c>M[xi][t, o]</c> (and its gradient) at
    /// <c>t MTile + xi op + o</c>, a tile's entries side by side, so each entry's matrix is a product's operand with rows a
    /// tile apart, and the output transform and its adjoint, which take all the entries of a tile, read and write one
    /// stretch of memory per tile rather than a vector in each entry's matrix (the exercise CNN, 2026-12-03: 1.01x at 256
    /// bits and 1.03x at 512; <c>V</c> laid out the same way measured slower, as its products lost more than its transforms
    /// gained). The kernels' <c>U^T[xi][c, o]</c> (and its gradient) and <c>U[xi][o, c]</c> lie an entry's padded matrix apart.
    /// </summary>
    private sealed class Blocks
    {
        /// <summary>The block's sides in outputs (2, 4 or 6), and the entries of its tiles.</summary>
        public readonly int Rows, Columns, Entries;

        /// <summary>The first output row and column of each of an example's blocks of this kind.</summary>
        public readonly int[] Top, Left;

        /// <summary>Elements from one entry's matrix of <c>V</c> to the next, and from one tile's entries of <c>M</c> to the next.</summary>
        public readonly int VStride, MTile;

        public readonly AlignedArray<T> V, M, U, Ut, DUt;

        public Blocks(int rows, int columns, List<(int Top, int Left)> at, int group, int cp, int op, int utStride, int uStride)
        {
            (Rows, Columns, Entries) = (rows, columns, (rows + 2) * (columns + 2));
            (Top, Left) = ([.. at.Select(a => a.Top)], [.. at.Select(a => a.Left)]);
            (VStride, MTile) = (Apart(group * Tiles * cp), Apart(Entries * op));
            V = new(Entries * VStride);
            M = new(group * Tiles * MTile);
            U = new(Entries * uStride);
            Ut = new(Entries * utStride);
            DUt = new(Ut.Length);
        }

        /// <summary>Blocks of this kind in an example's output.</summary>
        public int Tiles => Top.Length;
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
        for (int g = 0, groups = Groups(batch); g < groups; g++)
        {
            var (b0, examples) = Group(batch, groups, g);
            TransformInputs(input, b0, examples);
            foreach (var k in _blocks)
                for (int xi = 0; xi < k.Entries; xi++)
                    Kernels.Gemm<T>(k.M.AsSpan(xi * _op), k.V.AsSpan(xi * k.VStride), _cp, 1, k.Ut.AsSpan(xi * _utStride), examples * k.Tiles, _op, _cp, accumulate: false, ldc: k.MTile);
            for (int e = 0; e < examples; e++)
            {
                foreach (var k in _blocks) Each(k, Pass.Outputs, e);
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
        foreach (var k in _blocks) k.DUt.AsSpan().Clear();
        for (int g = 0, groups = Groups(batch); g < groups; g++)
        {
            var (b0, examples) = Group(batch, groups, g);
            TransformInputs(input, b0, examples);
            for (int e = 0; e < examples; e++)
            {
                // The example's output gradient, channel-last: straight from a pooling that kept its forward pass channel-last,
                // else transposed.
                if (pool is not null && pool.KeepsChannelLast(_op)) pool.ExampleInputGradientChannelLast(dy, b0 + e, batch, _yl, _op);
                else Kernels.Transpose(Conv2d<T>.ExampleGradient(dy, pool, b0 + e, batch, OutputSize, example), _yl, _o, _ho * _wo, ldTo: _op);
                AddBiasGradient(db);
                foreach (var k in _blocks) Each(k, Pass.OutputGradients, e);
            }
            foreach (var k in _blocks)
                for (int xi = 0, tiles = examples * k.Tiles; xi < k.Entries; xi++)
                {
                    // dU^T[c, o] += sum_t V[t, c] dM[t, o]; then V's place takes dV[t, c] = sum_o dM[t, o] U[o, c].
                    Kernels.Gemm<T>(k.DUt.AsSpan(xi * _utStride), k.V.AsSpan(xi * k.VStride), 1, _cp, k.M.AsSpan(xi * _op), _cp, _op, tiles, accumulate: true, ldb: k.MTile);
                    if (!dx.IsEmpty)
                        Kernels.Gemm<T>(k.V.AsSpan(xi * k.VStride), k.M.AsSpan(xi * _op), k.MTile, 1, k.U.AsSpan(xi * _uStride), tiles, _cp, _o, accumulate: false);
                }
            if (dx.IsEmpty) continue;
            _dxp.AsSpan().Clear();
            foreach (var k in _blocks) Each(k, Pass.InputGradients, examples);
            for (int e = 0; e < examples; e++)
            {
                var plane = _dxp.AsSpan(e * _hp * _wp * _cp);
                for (int y = 0; y < _h; y++)
                    plane.Slice(((y + _padding) * _wp + _padding) * _cp, _w * _cp).CopyTo(_dxl.AsSpan(y * _w * _cp));
                Kernels.PrefetchNext<T>(dx, b0 + e, InputSize);
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
    /// <c>U[xi] = G g G^T</c> for every kernel <c>g = weight[o, c]</c> and every kind of block, written as <c>U^T[xi][c, o]</c>
    /// for the forward product, or with <paramref name="backward"/> as <c>U[xi][o, c]</c> for the backward one. The kernels are
    /// first transposed to <c>[c, 3, 3][o]</c> (or, for <c>U</c>, each output channel's to <c>[3, 3][c]</c>), so a vector holds
    /// one kernel entry of consecutive output (or input) channels and every kernel is transformed lane by lane, with the sums
    /// in the order one kernel at a time would take them: <c>U</c> holds the same numbers as <c>U^T</c> transposed.
    /// </summary>
    private void TransformKernels(ReadOnlySpan<T> weight, bool backward)
    {
        if (backward)
            for (int o = 0; o < _o; o++) Transpose(weight.Slice(o * _c * 9, _c * 9), _gu.AsSpan(o * 9 * _cp), _c, 9, ldTo: _cp);
        else Transpose(weight[..(_o * _c * 9)], _gt, _o, _c * 9, ldTo: _op);
        foreach (var k in _blocks) Each(k, backward ? Pass.TransposedKernels : Pass.Kernels, 0);
    }

    /// <summary>
    /// <c>dw (+)= sum G^T dU G</c> for every kernel, from the <c>dU^T</c> of each kind of block summed over the batch (each
    /// kind's transform added onto the kinds' before it, in their order): lane by lane over output channels into
    /// <c>[c, 3, 3][o]</c> (<see cref="_dgt"/>, not <see cref="_gt"/>, whose extra channels stay zero), then transposed to the
    /// weights' layout and added.
    /// </summary>
    private void KernelGradients(Span<T> dw)
    {
        foreach (var k in _blocks) Each(k, Pass.KernelGradients, 0);
        Transpose<T>(_dgt, _g, _c * 9, _o, ldFrom: _op);
        Add(dw[.._g.Length], _g);
    }

    /// <summary>
    /// Copies examples <paramref name="b0"/> .. of the group into their channel-last planes and writes
    /// <c>V[xi][t, c] = (B^T d B)[xi]</c> for each tile <c>t</c> of every kind of block.
    /// </summary>
    private void TransformInputs(ReadOnlySpan<T> input, int b0, int examples)
    {
        for (int e = 0; e < examples; e++)
        {
            Kernels.PrefetchNext(input, b0 + e, InputSize);
            Kernels.Transpose(input.Slice((b0 + e) * InputSize, InputSize), _xl, _c, _h * _w, ldTo: _cp);
            var plane = _xp.AsSpan(e * _hp * _wp * _cp);
            for (int y = 0; y < _h; y++)
                _xl.AsSpan(y * _w * _cp, _w * _cp).CopyTo(plane[(((y + _padding) * _wp + _padding) * _cp)..]);
        }
        foreach (var k in _blocks) Each(k, Pass.Inputs, examples);
    }

    /// <summary>The steps of the algorithm that go tile by tile or kernel by kernel, each for one kind of block.</summary>
    private enum Pass
    {
        /// <summary><c>V = B^T d B</c> for the tiles of the group's first <c>n</c> examples.</summary>
        Inputs,

        /// <summary><c>d += B dV B^T</c>, the adjoint of <see cref="Inputs"/>, onto the gradient planes.</summary>
        InputGradients,

        /// <summary><c>Y = A^T M A + bias</c> for example <c>n</c> of the group, channel-last, the positions past the output's edge dropped.</summary>
        Outputs,

        /// <summary><c>dM = A dY A^T</c>, the adjoint of <see cref="Outputs"/>, the outputs past the edge taken as zero.</summary>
        OutputGradients,

        /// <summary><c>U = G g G^T</c> for every kernel, as <c>U^T[xi][c, o]</c>.</summary>
        Kernels,

        /// <summary><c>U = G g G^T</c> for every kernel, as <c>U[xi][o, c]</c>.</summary>
        TransposedKernels,

        /// <summary><c>dg = G^T dU G</c> for every kernel, written by the first kind of block and added by the others.</summary>
        KernelGradients,
    }

    /// <summary><paramref name="pass"/> for the blocks of kind <paramref name="k"/>, with the one-dimensional transforms of its two sides.</summary>
    private void Each(Blocks k, Pass pass, int n)
    {
        switch (k.Rows, k.Columns)
        {
            case (6, 6): Each<Axis6, Axis6>(k, pass, n); break;
            case (6, 2): Each<Axis6, Axis2>(k, pass, n); break;
            case (2, 6): Each<Axis2, Axis6>(k, pass, n); break;
            case (4, 4): Each<Axis4, Axis4>(k, pass, n); break;
            case (4, 2): Each<Axis4, Axis2>(k, pass, n); break;
            case (2, 4): Each<Axis2, Axis4>(k, pass, n); break;
            default: Each<Axis2, Axis2>(k, pass, n); break;
        }
    }

    private void Each<TV, TH>(Blocks k, Pass pass, int n) where TV : IAxis where TH : IAxis
    {
        switch (pass)
        {
            case Pass.Inputs: EachTile<InputTransform<TV, TH>>(k, _xp, n); break;
            case Pass.InputGradients: EachTile<InputGradientTransform<TV, TH>>(k, _dxp, n); break;
            case Pass.Outputs: EachOutputTile<OutputTransform<TV, TH>>(k, n); break;
            case Pass.OutputGradients: EachOutputTile<OutputGradientTransform<TV, TH>>(k, n); break;
            case Pass.Kernels: EachKernel<KernelTransform<TV, TH>>(_gt, k.Ut, _c, _op, _utStride, add: false); break;
            case Pass.TransposedKernels: EachKernel<KernelTransform<TV, TH>>(_gu, k.U, _o, _cp, _uStride, add: false); break;
            default: EachKernel<KernelGradient<TV, TH>>(_dgt, k.DUt, _c, _op, _utStride, add: k != _blocks[0]); break;
        }
    }

    /// <summary>
    /// <typeparamref name="TOp"/> on every kernel, lane by lane over <paramref name="lanes"/> channels (rounded up to whole
    /// vectors) for each of <paramref name="channels"/> others: <paramref name="kernels"/> as <c>[channel, 3, 3][lane]</c>
    /// (entries <paramref name="lanes"/> apart), <paramref name="transformed"/> as <c>[xi][channel, lane]</c> (entries
    /// <paramref name="plane"/> apart): over output channels for <c>U^T</c> and its gradient, over input channels for <c>U</c>.
    /// With <paramref name="add"/>, what it writes to the kernels is added.
    /// </summary>
    private void EachKernel<TOp>(AlignedArray<T> kernels, AlignedArray<T> transformed, int channels, int lanes, nint plane, bool add) where TOp : IKernelOp
    {
        ref T g0 = ref kernels.Reference;
        ref T u0 = ref transformed.Reference;
        ref Vector<T> scratch = ref Scratch;
        for (int a = 0; a < channels; a++)
            for (int v = 0; v < lanes; v += Vector<T>.Count)
                TOp.Apply(ref Unsafe.Add(ref g0, a * 9 * lanes + v), lanes, ref Unsafe.Add(ref u0, a * lanes + v), plane, ref scratch, add);
    }

    /// <summary>What <see cref="EachKernel"/> does with one vector of kernels.</summary>
    private interface IKernelOp
    {
        /// <summary>
        /// One vector of kernels: <paramref name="g"/> their first entry (entries <paramref name="ld"/> apart, row by row),
        /// <paramref name="u"/> their first transformed entry (entries <paramref name="plane"/> apart), room for 24
        /// intermediate vectors at <paramref name="t"/>, and whether to add to the kernels rather than overwrite them.
        /// </summary>
        static abstract void Apply(ref T g, nint ld, ref T u, nint plane, ref Vector<T> t, bool add);
    }

    /// <summary><c>U = G_V g G_H^T</c>: down the kernel's columns, then along the rows of the result.</summary>
    private readonly struct KernelTransform<TV, TH> : IKernelOp where TV : IAxis where TH : IAxis
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T g, nint ld, ref T u, nint plane, ref Vector<T> t, bool add)
        {
            nint l = Vector<T>.Count;
            ref T r = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int j = 0; j < 3; j++) TV.G(ref Unsafe.Add(ref g, j * ld), 3 * ld, ref Unsafe.Add(ref r, j * l), 3 * l);
            for (int i = 0; i < TV.Size + 2; i++) TH.G(ref Unsafe.Add(ref r, 3 * i * l), l, ref Unsafe.Add(ref u, (TH.Size + 2) * i * plane), plane);
        }
    }

    /// <summary><c>dg (+)= G_V^T dU G_H</c>, the adjoint of <see cref="KernelTransform{TV, TH}"/>: along the rows of <c>dU</c>, then down the columns.</summary>
    private readonly struct KernelGradient<TV, TH> : IKernelOp where TV : IAxis where TH : IAxis
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T g, nint ld, ref T u, nint plane, ref Vector<T> t, bool add)
        {
            nint l = Vector<T>.Count;
            ref T q = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < TV.Size + 2; i++) TH.GTransposed(ref Unsafe.Add(ref u, (TH.Size + 2) * i * plane), plane, ref Unsafe.Add(ref q, 3 * i * l), l, add: false);
            for (int j = 0; j < 3; j++) TV.GTransposed(ref Unsafe.Add(ref q, j * l), 3 * l, ref Unsafe.Add(ref g, j * ld), 3 * ld, add);
        }
    }

    /// <summary>
    /// <typeparamref name="TOp"/> on every tile of kind <paramref name="k"/> in the group's first <paramref name="examples"/>
    /// planes (<paramref name="planes"/>, channel-last) and its rows of <c>V</c>, a vector of channels at a time.
    /// </summary>
    private void EachTile<TOp>(Blocks k, AlignedArray<T> planes, int examples) where TOp : ITileOp
    {
        int lanes = Vector<T>.Count;
        nint row = _wp * _cp, column = _cp, stride = k.VStride;
        ref T x0 = ref planes.Reference;
        ref T v0 = ref k.V.Reference;
        ref Vector<T> scratch = ref Scratch;
        for (int e = 0, t = 0; e < examples; e++)
            for (int i = 0; i < k.Tiles; i++, t++)
                for (int c = 0; c < _cp; c += lanes)
                    TOp.Apply(ref Unsafe.Add(ref x0, (e * _hp * _wp + k.Top[i] * _wp + k.Left[i]) * _cp + c), row, column, ref Unsafe.Add(ref v0, (nint)t * _cp + c), stride, ref scratch);
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

    /// <summary>
    /// <c>V = B_V^T d B_H</c>: along each row of the tile into the scratch rows, then down each column. The
    /// one-dimensional transforms take vectors and store their results, rather than return six of them: a six-vector
    /// tuple is not kept in registers, and returning them had made this transform slower than the products.
    /// </summary>
    private readonly struct InputTransform<TV, TH> : ITileOp where TV : IAxis where TH : IAxis
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T d, nint row, nint column, ref T v, nint stride, ref Vector<T> t)
        {
            nint l = Vector<T>.Count, side = TH.Size + 2;
            ref T s = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < TV.Size + 2; i++) TH.BTransposed(ref Unsafe.Add(ref d, i * row), column, ref Unsafe.Add(ref s, side * i * l), l);
            for (int j = 0; j < side; j++) TV.BTransposed(ref Unsafe.Add(ref s, j * l), side * l, ref Unsafe.Add(ref v, j * stride), side * stride);
        }
    }

    /// <summary><c>d += B_V dV B_H^T</c>: along each row of <c>dV</c>, then down each column, added in place.</summary>
    private readonly struct InputGradientTransform<TV, TH> : ITileOp where TV : IAxis where TH : IAxis
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T d, nint row, nint column, ref T v, nint stride, ref Vector<T> t)
        {
            nint l = Vector<T>.Count, side = TH.Size + 2;
            ref T s = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < TV.Size + 2; i++) TH.B(ref Unsafe.Add(ref v, side * i * stride), stride, ref Unsafe.Add(ref s, side * i * l), l, add: false);
            for (int j = 0; j < side; j++) TV.B(ref Unsafe.Add(ref s, j * l), side * l, ref Unsafe.Add(ref d, j * column), row, add: true);
        }
    }

    /// <summary>
    /// <typeparamref name="TOp"/> on every tile of kind <paramref name="k"/> in example <paramref name="e"/> of the group: its
    /// entries of <c>M</c> and its block of channel-last outputs (how many of its rows and columns lie inside the output), a
    /// vector of output channels at a time.
    /// </summary>
    private void EachOutputTile<TOp>(Blocks k, int e) where TOp : IOutputTileOp
    {
        int lanes = Vector<T>.Count;
        nint stride = _op, row = _wo * _op, column = _op;
        ref T m0 = ref k.M.Reference;
        ref T y0 = ref _yl.Reference;
        ref T bias = ref _bias.Reference;
        ref Vector<T> scratch = ref Scratch;
        for (int i = 0, t = e * k.Tiles; i < k.Tiles; i++, t++)
        {
            int top = k.Top[i], left = k.Left[i], rows = Math.Min(k.Rows, _ho - top), columns = Math.Min(k.Columns, _wo - left);
            for (int o = 0; o < _op; o += lanes)
                TOp.Apply(ref Unsafe.Add(ref m0, (nint)t * k.MTile + o), stride, ref Unsafe.Add(ref y0, (top * _wo + left) * _op + o), row, column, rows, columns, Load(ref bias, o), ref scratch);
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

    /// <summary><c>Y = A_V^T M A_H + bias</c>: along each row of <c>M</c>, then down each column that exists.</summary>
    private readonly struct OutputTransform<TV, TH> : IOutputTileOp where TV : IAxis where TH : IAxis
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T m, nint stride, ref T y, nint row, nint column, int rows, int columns, Vector<T> bias, ref Vector<T> t)
        {
            nint l = Vector<T>.Count, size = TH.Size;
            ref T s = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < TV.Size + 2; i++) TH.ATransposed(ref Unsafe.Add(ref m, (size + 2) * i * stride), stride, ref Unsafe.Add(ref s, size * i * l), l, TH.Size, default, biased: false);
            for (int j = 0; j < columns; j++) TV.ATransposed(ref Unsafe.Add(ref s, j * l), size * l, ref Unsafe.Add(ref y, j * column), row, rows, bias, biased: true);
        }
    }

    /// <summary><c>dM = A_V dY A_H^T</c>, the outputs past the edge taken as zero: along each row of <c>dY</c>, then down each column.</summary>
    private readonly struct OutputGradientTransform<TV, TH> : IOutputTileOp where TV : IAxis where TH : IAxis
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Apply(ref T m, nint stride, ref T y, nint row, nint column, int rows, int columns, Vector<T> bias, ref Vector<T> t)
        {
            nint l = Vector<T>.Count, side = TH.Size + 2;
            ref T s = ref Unsafe.As<Vector<T>, T>(ref t);
            for (int i = 0; i < TV.Size; i++) TH.A(ref Unsafe.Add(ref y, i * row), column, i < rows ? columns : 0, ref Unsafe.Add(ref s, side * i * l), l);
            for (int j = 0; j < side; j++) TV.A(ref Unsafe.Add(ref s, j * l), side * l, TV.Size, ref Unsafe.Add(ref m, j * stride), side * stride);
        }
    }

    /// <summary>
    /// The one-dimensional transforms of blocks of <see cref="Size"/> outputs along one axis of a tile, on vectors
    /// <c>fromStep</c> apart, their results stored (or added) <c>step</c> apart.
    /// </summary>
    private interface IAxis
    {
        /// <summary>The block's outputs along the axis (2, 4 or 6); its tiles have two more inputs and entries.</summary>
        static abstract int Size { get; }

        /// <summary><c>B^T x</c>: the tile's inputs to its entries.</summary>
        static abstract void BTransposed(ref T from, nint fromStep, ref T to, nint step);

        /// <summary><c>B x</c>, the adjoint of <see cref="BTransposed"/>, stored or with <c>add</c> added.</summary>
        static abstract void B(ref T from, nint fromStep, ref T to, nint step, bool add);

        /// <summary><c>A^T x</c>: the entries to the first <c>count</c> outputs, each plus <c>bias</c> when <c>biased</c>.</summary>
        static abstract void ATransposed(ref T from, nint fromStep, ref T to, nint step, int count, Vector<T> bias, bool biased);

        /// <summary><c>A x</c>, the adjoint of <see cref="ATransposed"/>: the first <c>count</c> output gradients (zero past them) to the entries.</summary>
        static abstract void A(ref T from, nint fromStep, int count, ref T to, nint step);

        /// <summary><c>G x</c>: three entries of a kernel's row or column to the tile's entries.</summary>
        static abstract void G(ref T from, nint fromStep, ref T to, nint step);

        /// <summary><c>G^T x</c>, the adjoint of <see cref="G"/>: the entries to three, stored or with <c>add</c> added.</summary>
        static abstract void GTransposed(ref T from, nint fromStep, ref T to, nint step, bool add);
    }

    /// <summary>
    /// F(2, 3): <c>B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]</c>, <c>A^T = [1 1 1 0; 0 1 -1 -1]</c>,
    /// <c>G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]</c>.
    /// </summary>
    private readonly struct Axis2 : IAxis
    {
        public static int Size => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void BTransposed(ref T from, nint fromStep, ref T to, nint step)
        {
            var (a, b, c, d) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep), Load(ref from, 3 * fromStep));
            Store(ref to, 0, a - c);
            Store(ref to, step, b + c);
            Store(ref to, 2 * step, c - b);
            Store(ref to, 3 * step, b - d);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void B(ref T from, nint fromStep, ref T to, nint step, bool add)
        {
            var (a, b, c, d) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep), Load(ref from, 3 * fromStep));
            Put(ref to, 0, a, add);
            Put(ref to, step, b - c + d, add);
            Put(ref to, 2 * step, b + c - a, add);
            Put(ref to, 3 * step, -d, add);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void ATransposed(ref T from, nint fromStep, ref T to, nint step, int count, Vector<T> bias, bool biased)
        {
            var (m0, m1, m2, m3) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep), Load(ref from, 3 * fromStep));
            Vector<T> y0 = m0 + m1 + m2, y1 = m1 - m2 - m3;
            Output(ref to, 0, y0, bias, biased);
            if (count > 1) Output(ref to, step, y1, bias, biased);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void A(ref T from, nint fromStep, int count, ref T to, nint step)
        {
            Vector<T> g0 = Given(ref from, 0, count > 0), g1 = Given(ref from, fromStep, count > 1);
            Store(ref to, 0, g0);
            SumAndDifference(ref to, step, step, g0, g1);
            Store(ref to, 3 * step, -g1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void G(ref T from, nint fromStep, ref T to, nint step)
        {
            var half = Constant(1, 2);
            var (g0, g1, g2) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep));
            Store(ref to, 0, g0);
            Store(ref to, step, (g0 + g1 + g2) * half);
            Store(ref to, 2 * step, (g0 - g1 + g2) * half);
            Store(ref to, 3 * step, g2);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void GTransposed(ref T from, nint fromStep, ref T to, nint step, bool add)
        {
            var half = Constant(1, 2);
            var (u0, u1, u2, u3) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep), Load(ref from, 3 * fromStep));
            Put(ref to, 0, u0 + (u1 + u2) * half, add);
            Put(ref to, step, (u1 - u2) * half, add);
            Put(ref to, 2 * step, (u1 + u2) * half + u3, add);
        }
    }

    /// <summary>
    /// F(4, 3): <c>B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]</c>,
    /// <c>A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]</c>,
    /// <c>G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]</c>.
    /// </summary>
    private readonly struct Axis4 : IAxis
    {
        public static int Size => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void BTransposed(ref T from, nint fromStep, ref T to, nint step)
        {
            var (d0, d1, d2, d3, d4, d5) = Six(ref from, fromStep);
            Vector<T> four = Constant(4, 1), five = Constant(5, 1);
            Vector<T> even = d4 - four * d2, odd = d3 - four * d1, near = d4 - d2, far = (d3 - d1) + (d3 - d1);
            Store(ref to, 0, four * d0 - five * d2 + d4);
            SumAndDifference(ref to, step, step, even, odd);
            SumAndDifference(ref to, 3 * step, step, near, far);
            Store(ref to, 5 * step, four * d1 - five * d3 + d5);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void B(ref T from, nint fromStep, ref T to, nint step, bool add)
        {
            var (y0, y1, y2, y3, y4, y5) = Six(ref from, fromStep);
            Vector<T> four = Constant(4, 1), five = Constant(5, 1);
            Vector<T> sum = y1 + y2, rise = y2 - y1, sum2 = y3 + y4, rise2 = y4 - y3;
            Put(ref to, 0, four * y0, add);
            Put(ref to, step, four * rise + (rise2 + rise2) + four * y5, add);
            Put(ref to, 2 * step, -(five * y0) - four * sum - sum2, add);
            Put(ref to, 3 * step, -rise - (rise2 + rise2) - five * y5, add);
            Put(ref to, 4 * step, y0 + sum + sum2, add);
            Put(ref to, 5 * step, y5, add);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void ATransposed(ref T from, nint fromStep, ref T to, nint step, int count, Vector<T> bias, bool biased)
        {
            var (m0, m1, m2, m3, m4, m5) = Six(ref from, fromStep);
            Vector<T> sum = m1 + m2, difference = m1 - m2, sum2 = m3 + m4, difference2 = m3 - m4;
            Vector<T> y0 = m0 + sum + sum2, y1 = difference + (difference2 + difference2);
            Vector<T> y2 = sum + Constant(4, 1) * sum2, y3 = difference + Constant(8, 1) * difference2 + m5;
            Output(ref to, 0, y0, bias, biased);
            if (count > 1) Output(ref to, step, y1, bias, biased);
            if (count > 2) Output(ref to, 2 * step, y2, bias, biased);
            if (count > 3) Output(ref to, 3 * step, y3, bias, biased);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void A(ref T from, nint fromStep, int count, ref T to, nint step)
        {
            Vector<T> g0 = Given(ref from, 0, count > 0), g1 = Given(ref from, fromStep, count > 1);
            Vector<T> g2 = Given(ref from, 2 * fromStep, count > 2), g3 = Given(ref from, 3 * fromStep, count > 3);
            Vector<T> even = g0 + g2, odd = g1 + g3, even4 = g0 + Constant(4, 1) * g2, odd4 = (g1 + g1) + Constant(8, 1) * g3;
            Store(ref to, 0, g0);
            SumAndDifference(ref to, step, step, even, odd);
            SumAndDifference(ref to, 3 * step, step, even4, odd4);
            Store(ref to, 5 * step, g3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void G(ref T from, nint fromStep, ref T to, nint step)
        {
            var (g0, g1, g2) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep));
            Vector<T> quarter = Constant(1, 4), sixth = Constant(1, 6), twentyFourth = Constant(1, 24);
            Vector<T> outer = g0 + g2, twice = g1 + g1, four = g2 * Constant(4, 1);
            Store(ref to, 0, g0 * quarter);
            Store(ref to, step, -(outer + g1) * sixth);
            Store(ref to, 2 * step, -(outer - g1) * sixth);
            Store(ref to, 3 * step, (g0 + twice + four) * twentyFourth);
            Store(ref to, 4 * step, (g0 - twice + four) * twentyFourth);
            Store(ref to, 5 * step, g2);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void GTransposed(ref T from, nint fromStep, ref T to, nint step, bool add)
        {
            var (u0, u1, u2, u3, u4, u5) = Six(ref from, fromStep);
            Vector<T> quarter = Constant(1, 4), sixth = Constant(1, 6);
            Vector<T> twelfth = Constant(1, 12), twentyFourth = Constant(1, 24);
            Vector<T> low = u1 + u2, high = u3 + u4;
            Put(ref to, 0, u0 * quarter - low * sixth + high * twentyFourth, add);
            Put(ref to, step, (u2 - u1) * sixth + (u3 - u4) * twelfth, add);
            Put(ref to, 2 * step, (high - low) * sixth + u5, add);
        }

        /// <summary>Six vectors from <paramref name="from"/>, <paramref name="step"/> apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector<T>, Vector<T>, Vector<T>, Vector<T>, Vector<T>, Vector<T>) Six(ref T from, nint step) =>
            (Load(ref from, 0), Load(ref from, step), Load(ref from, 2 * step), Load(ref from, 3 * step), Load(ref from, 4 * step), Load(ref from, 5 * step));
    }

    /// <summary>
    /// F(6, 3), on the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity (the order of the rows of <c>B^T</c> and <c>G</c>):
    /// <c>B^T = [1 0 -21/4 0 21/4 0 -1 0; 0 1 1 -17/4 -17/4 1 1 0; 0 -1 1 17/4 -17/4 -1 1 0; 0 1/2 1/4 -5/2 -5/4 2 1 0;
    /// 0 -1/2 1/4 5/2 -5/4 -2 1 0; 0 2 4 -5/2 -5 1/2 1 0; 0 -2 4 5/2 -5 -1/2 1 0; 0 -1 0 21/4 0 -21/4 0 1]</c>,
    /// <c>A^T = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 0; 0 1 1 4 4 1/4 1/4 0; 0 1 -1 8 -8 1/8 -1/8 0;
    /// 0 1 1 16 16 1/16 1/16 0; 0 1 -1 32 -32 1/32 -1/32 1]</c>,
    /// <c>G = [1 0 0; -2/9 -2/9 -2/9; -2/9 2/9 -2/9; 1/90 1/45 2/45; 1/90 -1/45 2/45; 32/45 16/45 8/45; 32/45 -16/45 8/45; 0 0 1]</c>.
    /// </summary>
    private readonly struct Axis6 : IAxis
    {
        public static int Size => 6;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void BTransposed(ref T from, nint fromStep, ref T to, nint step)
        {
            var (d0, d1, d2, d3, d4, d5, d6, d7) = Eight(ref from, fromStep);
            Vector<T> quarter = Constant(1, 4), half = Constant(1, 2), two = Constant(2, 1), four = Constant(4, 1), five = Constant(5, 1);
            Vector<T> fiveHalves = Constant(5, 2), fiveQuarters = Constant(5, 4), seventeenQuarters = Constant(17, 4), twentyOneQuarters = Constant(21, 4);
            Vector<T> even1 = d2 + d6 - seventeenQuarters * d4, odd1 = d1 + d5 - seventeenQuarters * d3;
            Vector<T> even2 = d6 + quarter * d2 - fiveQuarters * d4, odd2 = half * d1 - fiveHalves * d3 + two * d5;
            Vector<T> even3 = d6 + four * d2 - five * d4, odd3 = two * d1 - fiveHalves * d3 + half * d5;
            Store(ref to, 0, d0 - d6 + twentyOneQuarters * (d4 - d2));
            SumAndDifference(ref to, step, step, even1, odd1);
            SumAndDifference(ref to, 3 * step, step, even2, odd2);
            SumAndDifference(ref to, 5 * step, step, even3, odd3);
            Store(ref to, 7 * step, d7 - d1 + twentyOneQuarters * (d3 - d5));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void B(ref T from, nint fromStep, ref T to, nint step, bool add)
        {
            var (y0, y1, y2, y3, y4, y5, y6, y7) = Eight(ref from, fromStep);
            Vector<T> quarter = Constant(1, 4), half = Constant(1, 2), two = Constant(2, 1), four = Constant(4, 1), five = Constant(5, 1);
            Vector<T> fiveHalves = Constant(5, 2), fiveQuarters = Constant(5, 4), seventeenQuarters = Constant(17, 4), twentyOneQuarters = Constant(21, 4);
            Vector<T> sum1 = y1 + y2, difference1 = y1 - y2, sum2 = y3 + y4, difference2 = y3 - y4, sum3 = y5 + y6, difference3 = y5 - y6;
            Put(ref to, 0, y0, add);
            Put(ref to, step, difference1 + half * difference2 + two * difference3 - y7, add);
            Put(ref to, 2 * step, sum1 + quarter * sum2 + four * sum3 - twentyOneQuarters * y0, add);
            Put(ref to, 3 * step, twentyOneQuarters * y7 - seventeenQuarters * difference1 - fiveHalves * (difference2 + difference3), add);
            Put(ref to, 4 * step, twentyOneQuarters * y0 - seventeenQuarters * sum1 - fiveQuarters * sum2 - five * sum3, add);
            Put(ref to, 5 * step, difference1 + two * difference2 + half * difference3 - twentyOneQuarters * y7, add);
            Put(ref to, 6 * step, sum1 + sum2 + sum3 - y0, add);
            Put(ref to, 7 * step, y7, add);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void ATransposed(ref T from, nint fromStep, ref T to, nint step, int count, Vector<T> bias, bool biased)
        {
            var (m0, m1, m2, m3, m4, m5, m6, m7) = Eight(ref from, fromStep);
            Vector<T> sum1 = m1 + m2, difference1 = m1 - m2, sum2 = m3 + m4, difference2 = m3 - m4, sum3 = m5 + m6, difference3 = m5 - m6;
            Vector<T> y0 = m0 + sum1 + sum2 + sum3;
            Vector<T> y1 = difference1 + Constant(2, 1) * difference2 + Constant(1, 2) * difference3;
            Vector<T> y2 = sum1 + Constant(4, 1) * sum2 + Constant(1, 4) * sum3;
            Vector<T> y3 = difference1 + Constant(8, 1) * difference2 + Constant(1, 8) * difference3;
            Vector<T> y4 = sum1 + Constant(16, 1) * sum2 + Constant(1, 16) * sum3;
            Vector<T> y5 = difference1 + Constant(32, 1) * difference2 + Constant(1, 32) * difference3 + m7;
            Output(ref to, 0, y0, bias, biased);
            if (count > 1) Output(ref to, step, y1, bias, biased);
            if (count > 2) Output(ref to, 2 * step, y2, bias, biased);
            if (count > 3) Output(ref to, 3 * step, y3, bias, biased);
            if (count > 4) Output(ref to, 4 * step, y4, bias, biased);
            if (count > 5) Output(ref to, 5 * step, y5, bias, biased);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void A(ref T from, nint fromStep, int count, ref T to, nint step)
        {
            Vector<T> g0 = Given(ref from, 0, count > 0), g1 = Given(ref from, fromStep, count > 1);
            Vector<T> g2 = Given(ref from, 2 * fromStep, count > 2), g3 = Given(ref from, 3 * fromStep, count > 3);
            Vector<T> g4 = Given(ref from, 4 * fromStep, count > 4), g5 = Given(ref from, 5 * fromStep, count > 5);
            Vector<T> even1 = g0 + g2 + g4, odd1 = g1 + g3 + g5;
            Vector<T> even2 = g0 + Constant(4, 1) * g2 + Constant(16, 1) * g4, odd2 = Constant(2, 1) * g1 + Constant(8, 1) * g3 + Constant(32, 1) * g5;
            Vector<T> even3 = g0 + Constant(1, 4) * g2 + Constant(1, 16) * g4, odd3 = Constant(1, 2) * g1 + Constant(1, 8) * g3 + Constant(1, 32) * g5;
            Store(ref to, 0, g0);
            SumAndDifference(ref to, step, step, even1, odd1);
            SumAndDifference(ref to, 3 * step, step, even2, odd2);
            SumAndDifference(ref to, 5 * step, step, even3, odd3);
            Store(ref to, 7 * step, g5);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void G(ref T from, nint fromStep, ref T to, nint step)
        {
            var (g0, g1, g2) = (Load(ref from, 0), Load(ref from, fromStep), Load(ref from, 2 * fromStep));
            Vector<T> outer = g0 + g2, twoNinths = Constant(2, 9);
            Vector<T> near = Constant(1, 90) * g0 + Constant(2, 45) * g2, nearOdd = Constant(1, 45) * g1;
            Vector<T> far = Constant(32, 45) * g0 + Constant(8, 45) * g2, farOdd = Constant(16, 45) * g1;
            Store(ref to, 0, g0);
            Store(ref to, step, -(outer + g1) * twoNinths);
            Store(ref to, 2 * step, -(outer - g1) * twoNinths);
            SumAndDifference(ref to, 3 * step, step, near, nearOdd);
            SumAndDifference(ref to, 5 * step, step, far, farOdd);
            Store(ref to, 7 * step, g2);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void GTransposed(ref T from, nint fromStep, ref T to, nint step, bool add)
        {
            var (u0, u1, u2, u3, u4, u5, u6, u7) = Eight(ref from, fromStep);
            Vector<T> twoNinths = Constant(2, 9);
            Vector<T> sum1 = u1 + u2, difference1 = u2 - u1, sum2 = u3 + u4, difference2 = u3 - u4, sum3 = u5 + u6, difference3 = u5 - u6;
            Put(ref to, 0, u0 - twoNinths * sum1 + Constant(1, 90) * sum2 + Constant(32, 45) * sum3, add);
            Put(ref to, step, twoNinths * difference1 + Constant(1, 45) * difference2 + Constant(16, 45) * difference3, add);
            Put(ref to, 2 * step, Constant(2, 45) * sum2 + Constant(8, 45) * sum3 - twoNinths * sum1 + u7, add);
        }

        /// <summary>Eight vectors from <paramref name="from"/>, <paramref name="step"/> apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector<T>, Vector<T>, Vector<T>, Vector<T>, Vector<T>, Vector<T>, Vector<T>, Vector<T>) Eight(ref T from, nint step) =>
            (Load(ref from, 0), Load(ref from, step), Load(ref from, 2 * step), Load(ref from, 3 * step),
             Load(ref from, 4 * step), Load(ref from, 5 * step), Load(ref from, 6 * step), Load(ref from, 7 * step));
    }

    /// <summary><paramref name="numerator"/> / <paramref name="denominator"/> in every lane, rounded once: a transform's coefficient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Constant(int numerator, int denominator) => new(T.CreateTruncating(numerator) / T.CreateTruncating(denominator));

    /// <summary>Stores output <paramref name="y"/> at <paramref name="offset"/>, plus <paramref name="bias"/> when <paramref name="biased"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Output(ref T to, nint offset, Vector<T> y, Vector<T> bias, bool biased) => Store(ref to, offset, biased ? y + bias : y);

    /// <summary>The vector at <paramref name="offset"/> when <paramref name="present"/> (an output inside the edge), else zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Given(ref T from, nint offset, bool present) => present ? Load(ref from, offset) : default;

    /// <summary>Stores <c>even + odd</c> at <paramref name="offset"/> and <c>even - odd</c> <paramref name="step"/> after it: the pairs of entries at opposite points.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SumAndDifference(ref T to, nint offset, nint step, Vector<T> even, Vector<T> odd)
    {
        Store(ref to, offset, even + odd);
        Store(ref to, offset + step, even - odd);
    }

    /// <summary>Stores <paramref name="x"/> at <paramref name="offset"/>, or adds it to what is there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ref T to, nint offset, Vector<T> x, bool add) => Store(ref to, offset, add ? Load(ref to, offset) + x : x);
}
