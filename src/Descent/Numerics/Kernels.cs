using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Descent.Numerics;

/// <summary>
/// Dense-layer matrix kernels on row-major spans, generic over float and double, vectorized with
/// <see cref="Vector{T}"/>. Shapes follow PyTorch's <c>nn.Linear</c>: inputs <c>X[B, n]</c>, weights
/// <c>W[m, n]</c>, outputs <c>Y[B, m] = X W^T + b</c>.
/// </summary>
/// <remarks>
/// Two register-blocked products do the work. <see cref="Gemm"/> (<c>C (+)= A B</c>, A read through strides
/// so it serves <c>X W^T</c>, <c>dY^T X</c> and <c>dY W</c>) keeps a tile of up to 6 rows x 2 vectors of C in twelve
/// accumulators: each step of the reduction loads two vectors of B and broadcasts six entries of A for twelve
/// fused multiply-adds, enough independent chains to cover the FMA latency on two pipes; the reduction runs in
/// panels of B that stay in the L2 cache. One or two rows left over go through <see cref="Combine"/> (one row, eight accumulators), and the
/// columns right of the last whole tile through the tile on a padded copy (<see cref="NarrowColumns"/>). <see cref="GemmNT"/>
/// (<c>C = A B^T</c>, dot products of rows) serves narrow outputs and single examples, where a transposed
/// copy of the weights would not pay for itself; it keeps tiles of up to 2 x 10 dot products in vectors (2 x 5 with
/// 256-bit vectors, which have half the registers) and reduces them across lanes at the end (<see cref="GemmNTLanes"/>
/// leaves them as vectors, for sums over many calls).
/// </remarks>
public static class Kernels
{
    /// <summary>
    /// <c>Y = X W^T + bias</c>; <paramref name="scratch"/> (at least <c>n * m</c>, as <see cref="LinearBackward"/> takes) holds
    /// panels of <c>W^T</c> for large batches.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LinearForward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y, int batch, int n, int m, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Transposes(batch, n, m, scratch))
        {
            // Wide outputs: Y = bias + X (W^T), with rows of W^T as the vectorized operand. Worth the transposition
            // from a few examples on, or at once when the rows are too short for dot products in vectors. A panel of the
            // reduction at a time, as Gemm takes a long one, each transposed just before its product reads it, so it is
            // read back from the L2 cache rather than from a whole W^T written past it (the exercise CNN's 3,136 x 128 layer:
            // 1.6 MB); the same products in the same order as one product over the whole reduction.
            int panel = PanelDepth<T>(m);
            for (int p = 0; p == 0 || p < n; p += panel)
            {
                int count = Math.Min(panel, n - p);
                var wt = scratch[..(count * m)];
                Transpose(w[p..], wt, m, count, ldFrom: n);
                Gemm(y, x[p..], n, 1, wt, batch, m, count, accumulate: p > 0, bias: p == 0 ? bias[..m] : default);
            }
            return;
        }
        // Narrow outputs (such as 10 classes) and small batches: dot products of rows of X and rows of W.
        FillRows(bias, y, batch, m);
        GemmNT(y, x, w, batch, m, n, accumulate: true);
    }

    /// <summary>
    /// <see cref="LinearForward"/> on rows <paramref name="index"/> of <paramref name="source"/>, copied into <paramref name="x"/>:
    /// by dot products that gather the rows as they read them (<see cref="GemmNTRows"/>) where <see cref="LinearForward"/> takes
    /// dot products, otherwise a copy first. The same numbers either way.
    /// </summary>
    public static void LinearForwardRows<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> index, Span<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y,
        int n, int m, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = index.Length;
        if (Transposes(batch, n, m, scratch))
        {
            Gather(source, index, n, x);
            LinearForward(x, w, bias, y, batch, n, m, scratch);
            return;
        }
        FillRows(bias, y, batch, m);
        GemmNTRows(y, source, index, x, w, m, n, accumulate: true);
    }

    /// <summary>
    /// <see cref="LinearForwardRows"/> by dot products on the first <paramref name="rows"/> of <paramref name="index"/>, requesting
    /// the rows after them from memory too, and keeping no copy of them: a minibatch worked through in slices
    /// (<see cref="Nn.Linear{T}.CrossEntropyRows"/>, which checks every row of the minibatch once, before its first slice), whose
    /// backward pass reads the slice's rows again through the index while the cache still holds them
    /// (<see cref="LinearBackwardSlice"/>). Storing a copy as the rows arrived had kept the forward pass from overlapping their
    /// fetch with its arithmetic (2026-12-04, AMD EPYC family 25, 512 bits: the fetching forward pass alone took the time of the
    /// fetch plus that of the arithmetic on rows in the cache; without the stores within about a fifth of the fetch alone).
    /// </summary>
    internal static void LinearForwardSlice<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> index, int rows, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, Span<T> y,
        int n, int m) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows <= 0) return;
        if (rows > index.Length || y.Length < rows * m || w.Length < m * n)
            throw new ArgumentException($"LinearForwardSlice: spans too short for {rows} x {m} outputs of {n} inputs.");
        FillRows(bias, y, rows, m);
        DotProducts<T, Fetched>(y, source, index, [], w, rows, m, n, accumulate: true);
    }

    /// <summary>
    /// <see cref="LinearBackward"/> without an input gradient for the slice of <see cref="LinearForwardSlice"/>: <c>dW (+)= dY^T X</c>
    /// and <c>db (+)= sum_b dY</c>, X's rows read through the index (<see cref="WeightGradientRows"/>). The same numbers. The
    /// caller has checked the rows (<see cref="CheckRows"/>): they are read unchecked.
    /// </summary>
    internal static void LinearBackwardSlice<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> index, int rows, ReadOnlySpan<T> dy, Span<T> dw, Span<T> db, int n, int m, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows > index.Length || dy.Length < rows * m || dw.Length < m * n || db.Length < m)
            throw new ArgumentException($"LinearBackwardSlice: spans too short for the gradients of {rows} x {m} outputs of {n} inputs.");
        BiasGradient(dy, db, rows, m, accumulate);
        WeightGradientRows(dw, dy, source, index, rows, m, n, accumulate);
    }

    /// <summary>Whether <see cref="LinearForward"/> transposes the weights for <see cref="Gemm"/> rather than taking dot products.</summary>
    private static bool Transposes<T>(int batch, int n, int m, Span<T> scratch) where T : unmanaged =>
        (batch >= TransposeBatch || n < Vector<T>.Count) && !FewOutputs<T>(m) && scratch.Length >= n * m;

    /// <summary>Whether a dense layer with <paramref name="m"/> outputs takes dot products at every batch size (fewer outputs than two vectors hold).</summary>
    internal static bool FewOutputs<T>(int m) where T : unmanaged => m < 2 * Vector<T>.Count;

    /// <summary><c>x *= s</c> element by element; nothing when <paramref name="s"/> is one (a shard's share of a whole minibatch).</summary>
    internal static void Scale<T>(Span<T> x, T s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (s == T.One) return;
        for (int j = 0; j < x.Length; j++) x[j] *= s;
    }

    /// <summary>
    /// Copies <paramref name="row"/> (<paramref name="m"/> elements) into each of the first <paramref name="rows"/>
    /// rows of <paramref name="y"/>, in vectors (a copy call per row of a few hundred bytes had cost a tenth of a batch-500 step).
    /// </summary>
    private static void FillRows<T>(ReadOnlySpan<T> row, Span<T> y, int rows, int m) where T : unmanaged
    {
        if (row.Length < m || y.Length < rows * m)
            throw new ArgumentException($"FillRows: {rows} rows of {m} need a row of {m} and {rows * m} outputs; got {row.Length} and {y.Length}.");
        int whole = m - m % Vector<T>.Count;
        ref T src = ref MemoryMarshal.GetReference(row);
        ref T dst = ref MemoryMarshal.GetReference(y);
        for (int b = 0; b < rows; b++, dst = ref Unsafe.Add(ref dst, m))
        {
            int j = 0;
            for (; j < whole; j += Vector<T>.Count) Vector.StoreUnsafe(Vector.LoadUnsafe(ref src, (nuint)j), ref dst, (nuint)j);
            for (; j < m; j++) Unsafe.Add(ref dst, j) = Unsafe.Add(ref src, j);
        }
    }

    /// <summary>The batch from which the forward pass transposes the weights to use <see cref="Gemm"/>.</summary>
    private const int TransposeBatch = 8;

    /// <summary>
    /// Gradients of <see cref="LinearForward"/>: <c>dW += dY^T X</c>, <c>db += sum_b dY</c> (or <c>=</c> without
    /// <paramref name="accumulate"/>, which saves zeroing them first), and, when <paramref name="dx"/> is not empty,
    /// <c>dX = dY W</c>. <paramref name="scratch"/> (<c>n * m</c>) holds <c>dW^T</c> when the layer has more outputs than inputs.
    /// Either way each entry of dW is one chain of fused multiply-adds over the batch, from its old value when accumulating
    /// (until 2026-12-02 a layer with fewer inputs than a vector holds added the chain from 0 to the old value instead).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LinearBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> dy, Span<T> dw, Span<T> db, Span<T> dx, int batch, int n, int m, Span<T> scratch, bool accumulate = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        BiasGradient(dy, db, batch, m, accumulate);
        if (m > n && m >= Vector<T>.Count && scratch.Length >= n * m)
        {
            // More outputs than inputs: (dW^T)[j, o] = sum_b X[b, j] dY[b, o], vectorized along the outputs, then
            // transposed. The product's columns are the wider side, so each block of X^T it packs serves more of
            // them (2,048 x 128 -> 512 at 512 bits: 101 GFLOP/s as dY^T X, 155 this way). Every entry takes the same
            // products in the same order as dY^T X, from the same start (dW transposed in first when accumulating).
            var dwt = scratch[..(n * m)];
            if (accumulate) Transpose<T>(dw, dwt, m, n);
            Gemm(dwt, x, 1, n, dy, n, m, batch, accumulate);
            Transpose<T>(dwt, dw, n, m);
        }
        else
        {
            // dW[o, j] += sum_b dY[b, o] X[b, j]: A = dY^T read down its columns.
            Gemm(dw, dy, 1, m, x, m, n, batch, accumulate);
        }
        if (dx.IsEmpty) return;
        // dX[b, j] = sum_o dY[b, o] W[o, j].
        Gemm(dx, dy, m, 1, w, batch, n, m, accumulate: false);
    }

    /// <summary><c>db (+)= sum_b dY[b, :]</c> over <paramref name="batch"/> rows of <paramref name="m"/> output gradients, in order.</summary>
    private static void BiasGradient<T>(ReadOnlySpan<T> dy, Span<T> db, int batch, int m, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!accumulate) db[..m].Clear();
        for (int b = 0; b < batch; b++) Add(db, dy.Slice(b * m, m));
    }

    /// <summary>Whether a vector of <typeparamref name="T"/> fills a 64-byte cache line (512-bit vectors), which also means 32 vector registers.</summary>
    private static bool LineVectors<T>() => Vector<T>.Count * Unsafe.SizeOf<T>() >= 64;

    /// <summary>
    /// <c>C[i, j] (+)= sum_p A[i * aRow + p * aColumn] * B[p * ldb + j]</c> for a <paramref name="rows"/> x
    /// <paramref name="columns"/> row-major <paramref name="c"/> (rows <paramref name="ldc"/> apart) and a
    /// <paramref name="depth"/> x <paramref name="columns"/> row-major <paramref name="b"/> (rows <paramref name="ldb"/>
    /// apart); the strides let A be a matrix or the transpose of one, and B and C blocks of wider matrices. The row
    /// strides of B and C are <paramref name="columns"/> when left at 0. Without <paramref name="accumulate"/>, each row
    /// of C starts from <paramref name="bias"/> (<paramref name="columns"/> entries) when it is given, else from zero: the
    /// same numbers as filling C's rows with it and accumulating, without writing C and reading it back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gemm<T>(Span<T> c, ReadOnlySpan<T> a, int aRow, int aColumn, ReadOnlySpan<T> b, int rows, int columns, int depth, bool accumulate,
        int ldb = 0, int ldc = 0, ReadOnlySpan<T> bias = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows <= 0 || columns <= 0) return;
        if (ldb == 0) ldb = columns;
        if (ldc == 0) ldc = columns;
        if (ldb < columns || ldc < columns || c.Length < (rows - 1) * ldc + columns || (depth > 0 && b.Length < (depth - 1) * ldb + columns)
            || (depth > 0 && a.Length <= (rows - 1) * aRow + (depth - 1) * aColumn))
            throw new ArgumentException($"Gemm: spans too short for {rows} x {columns} += ({rows} x {depth}) ({depth} x {columns}) with rows of B {ldb} and of C {ldc} apart.");
        if (accumulate) bias = default;
        if (!bias.IsEmpty && bias.Length < columns) throw new ArgumentException($"Gemm: a bias of {bias.Length} for {columns} columns.");
        int size = Unsafe.SizeOf<T>();
        // Each column block of C reads all of A's rows, so A should stay in the L2 cache: when it fits, one pass.
        if ((long)rows * depth * size <= PanelBytes)
        {
            Block(c, ldc, a, aRow, aColumn, b, ldb, rows, columns, depth, accumulate, bias, strips: null);
            return;
        }
        // Otherwise the reduction in panels of B small enough to stay in the L2 cache, each over blocks of rows (whole
        // tiles) whose part of A fits there too. Every entry of C still takes its products in the same order.
        // A panel's strips of B, where they are copied, are copied once for all its blocks of rows.
        int panel = PanelDepth<T>(columns);
        for (int p = 0; p == 0 || p < depth; p += panel)
        {
            int count = Math.Min(panel, depth - p);
            int block = Math.Max(6, PanelBytes / (count * size) / 6 * 6);
            var strips = block < rows && CopiesStrips<T>(block, columns, count, ldb) ? PackStrips(b[(p * ldb)..], ldb, count, columns) : null;
            for (int r = 0; r < rows; r += block)
                Block(c[(r * ldc)..], ldc, a[(p * aColumn + r * aRow)..], aRow, aColumn, b[(p * ldb)..], ldb, Math.Min(block, rows - r), columns, count, accumulate || p > 0, bias, strips);
            if (strips is not null) Packed<T>.Return(strips);
        }
    }

    /// <summary>
    /// <see cref="GemmPanel"/> on one block of A. An A read down its columns (the transpose of a row-major matrix, as
    /// <c>dY^T</c> in a weight gradient) is first copied in the order its tiles read it (<see cref="PackTiles"/>) when its
    /// reduction is long and enough column blocks of C will read it: a tile then reads its part of A as one stream, where it
    /// had taken a new cache line of A at every step of the reduction, more than the L1 cache holds. (Measured on single
    /// products, 2026-12-01, AMD EPYC: a 512 x 128 weight gradient over 2,048 rows 65-72 to 81-84 GFLOP/s at 256 bits,
    /// copied row-major; with reductions of 64 to 147 the copy cost more than it saved, 10-12%. In the tiles' order rather
    /// than row-major, 2026-12-03: 128 x 128 over 2,048 rows 111 to 165 GFLOP/s at 512 bits and 73-77 to 92 at 256, 65 x 128
    /// 110 to 158 and 78 to 98.) The products and their order are the same either way.
    /// </summary>
    private static void Block<T>(Span<T> c, int ldc, ReadOnlySpan<T> a, int aRow, int aColumn, ReadOnlySpan<T> b, int ldb, int rows, int columns, int depth, bool accumulate,
        ReadOnlySpan<T> bias, AlignedArray<T>? strips)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (aRow == 1 && aColumn > 1 && depth >= PackDepth && columns >= PackColumns * Vector<T>.Count)
        {
            var packed = Packed<T>.Rent((rows + TileRows - 1) / TileRows * TileRows * depth);
            PackTiles(a, aColumn, packed, rows, depth);
            Strips(c, ldc, packed, 1, TileRows, TileRows * depth, b, ldb, rows, columns, depth, accumulate, bias, strips);
            Packed<T>.Return(packed);
            return;
        }
        Strips(c, ldc, a, aRow, aColumn, TileRows * aRow, b, ldb, rows, columns, depth, accumulate, bias, strips);
    }

    /// <summary>
    /// <see cref="GemmPanel"/>, whose row tiles each read a whole column strip of B (two vectors wide), which should stay
    /// in the L1 cache meanwhile. Where it would not and many tiles read it (<see cref="CopiesStrips"/>), the strips are
    /// read from consecutive memory, in pieces along the reduction that fit half the L1 cache: strips deeper than that,
    /// and strips whose row stride is a multiple of 512 bytes (a 128-wide float matrix and its multiples), which maps their
    /// rows onto a few sets of the L1 cache (its 64 sets repeat every 4 KB, so such rows start in at most 8 of them) that
    /// then hold only some of them, so every tile fetched its strip again from L2 (2,048 x 512 x 128 at 256 bits: 52-54
    /// GFLOP/s in place, 79-88 copied; 2,048 rows through a 128 -> 384 and a 128 -> 128 layer at 512 bits, 2026-12-03:
    /// forward 165-180 to 188-206 GFLOP/s and 171-177 to 188-201, the latter's input gradient 167-188 to 200-236; at 256
    /// bits the same within the spread). They are copied piece by piece just before their tiles read them, or, for a
    /// product in several blocks of rows, taken from <paramref name="strips"/> (<see cref="PackStrips"/>), copied once
    /// for all the blocks. Each sum takes its products in the same order either way: the tiles store their sums after a
    /// piece and reload them for the next. <paramref name="aGroup"/> is as for <see cref="GemmPanel"/>.
    /// </summary>
    private static void Strips<T>(Span<T> c, int ldc, ReadOnlySpan<T> a, int aRow, int aColumn, int aGroup, ReadOnlySpan<T> b, int ldb, int rows, int columns, int depth,
        bool accumulate, ReadOnlySpan<T> bias, AlignedArray<T>? strips)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = 2 * Vector<T>.Count, blocked = columns / width * width;
        if (strips is null && !CopiesStrips<T>(rows, columns, depth, ldb))
        {
            GemmPanel(c, ldc, a, aRow, aColumn, aGroup, b, ldb, rows, columns, depth, accumulate, bias);
            return;
        }
        int piece = Math.Max(1, StripBytes / (width * Unsafe.SizeOf<T>()));
        var copy = strips is null ? Packed<T>.Rent(Math.Min(depth, piece) * width) : null;
        for (int j = 0; j < blocked; j += width)
            for (int p = 0; p < depth; p += piece)
            {
                int count = Math.Min(piece, depth - p);
                ReadOnlySpan<T> from;
                if (copy is null) from = strips!.AsSpan(j * depth + p * width);   // the strip of columns j.. starts at j * depth
                else
                {
                    CopyStrip(b[(p * ldb + j)..], ldb, copy, count);
                    from = copy;
                }
                GemmPanel<T>(c[j..], ldc, a[(p * aColumn)..], aRow, aColumn, aGroup, from, width, rows, width, count, accumulate || p > 0, bias.IsEmpty ? default : bias[j..]);
            }
        if (copy is not null) Packed<T>.Return(copy);
        if (blocked < columns) GemmPanel(c[blocked..], ldc, a, aRow, aColumn, aGroup, b[blocked..], ldb, rows, columns - blocked, depth, accumulate, bias.IsEmpty ? default : bias[blocked..]);
    }

    /// <summary>Whether <see cref="Strips"/> reads a <paramref name="depth"/>-deep strip of B (rows <paramref name="ldb"/> apart) from a copy for <paramref name="rows"/> rows of C.</summary>
    private static bool CopiesStrips<T>(int rows, int columns, int depth, int ldb)
    {
        int size = Unsafe.SizeOf<T>(), width = 2 * Vector<T>.Count;
        return rows >= PackRows && columns >= width && depth > 0 && ((long)depth * width * size > StripBytes || ldb * size % 512 == 0);
    }

    /// <summary>The strips of the first <paramref name="depth"/> rows of B for <see cref="Strips"/>, one after another, each its <paramref name="depth"/> x 2-vector block in consecutive rows.</summary>
    private static AlignedArray<T> PackStrips<T>(ReadOnlySpan<T> b, int ldb, int depth, int columns) where T : unmanaged
    {
        int width = 2 * Vector<T>.Count, blocked = columns / width * width;
        var strips = Packed<T>.Rent(depth * blocked);
        for (int j = 0; j < blocked; j += width) CopyStrip(b[j..], ldb, strips.AsSpan(j * depth), depth);
        return strips;
    }

    /// <summary>
    /// A stored down its columns (<c>A[i, p]</c> at <c>p * ld + i</c>: the transpose of a row-major matrix) copied as
    /// <see cref="GemmPanel"/>'s tiles read it: each group of <see cref="TileRows"/> rows a <c>depth x 6</c> block, a step's
    /// six entries side by side, so that a tile reads its part of A as one stream (<c>aRow</c> 1, <c>aColumn</c> 6, groups
    /// <c>6 depth</c> apart). Reads A row by row; a group's six entries are two overlapping vector moves.
    /// </summary>
    private static void PackTiles<T>(ReadOnlySpan<T> a, int ld, Span<T> packed, int rows, int depth) where T : unmanaged
    {
        int groups = rows / TileRows, rest = rows - groups * TileRows, size = Unsafe.SizeOf<T>(), bytes = TileRows * size;
        if (a.Length < (depth - 1) * ld + rows || packed.Length < (rows + TileRows - 1) / TileRows * TileRows * depth)
            throw new ArgumentException($"PackTiles: spans too short for {rows} x {depth} with columns {ld} apart.");
        ref byte from = ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(a));
        ref byte to = ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(packed));
        // A few rows of A at a time (they stay in the L1 cache) for every group, each group's part written in one run: the
        // groups' blocks lie 6 depth elements apart, which maps them onto the same sets of the L1 cache, so writing all
        // groups' entries for one row of A at a time evicted what it wrote.
        for (int p0 = 0; p0 < depth; p0 += PackTilesRows)
        {
            int p1 = Math.Min(depth, p0 + PackTilesRows);
            for (int g = 0; g < groups; g++)
            {
                ref byte source = ref Unsafe.Add(ref from, ((nint)p0 * ld + g * TileRows) * size);
                ref byte target = ref Unsafe.Add(ref to, ((nint)g * depth + p0) * bytes);
                for (int p = p0; p < p1; p++, source = ref Unsafe.Add(ref source, (nint)ld * size), target = ref Unsafe.Add(ref target, bytes))
                {
                    if (bytes is > 16 and <= 32)
                    {
                        var (v0, v1) = (Vector128.LoadUnsafe(ref source), Vector128.LoadUnsafe(ref source, (nuint)(bytes - 16)));
                        v0.StoreUnsafe(ref target);
                        v1.StoreUnsafe(ref target, (nuint)(bytes - 16));
                    }
                    else if (bytes is > 32 and <= 64)
                    {
                        var (v0, v1) = (Vector256.LoadUnsafe(ref source), Vector256.LoadUnsafe(ref source, (nuint)(bytes - 32)));
                        v0.StoreUnsafe(ref target);
                        v1.StoreUnsafe(ref target, (nuint)(bytes - 32));
                    }
                    else Unsafe.CopyBlockUnaligned(ref target, ref source, (uint)bytes);
                }
            }
            for (int p = p0; p < p1; p++)
                for (int r = 0; r < rest; r++) packed[(groups * depth + p) * TileRows + r] = a[p * ld + groups * TileRows + r];
        }
    }

    /// <summary>Rows of A <see cref="PackTiles"/> copies for all groups before the next rows.</summary>
    private const int PackTilesRows = 32;

    /// <summary>Rows of C a tile of <see cref="GemmPanel"/> covers at most.</summary>
    private const int TileRows = 6;

    /// <summary>Columns of C, in vectors, from which a transposed A is packed: four column blocks of the tile read it.</summary>
    private const int PackColumns = 8;

    /// <summary>The shortest reduction for which a transposed A is packed.</summary>
    private const int PackDepth = 256;

    /// <summary>
    /// Buffers for packed blocks of A and strips of B, shared by all threads: one is taken for a block or a panel and put
    /// back after, so once as many exist as products run at once, none is allocated again, whichever pool thread runs a product.
    /// </summary>
    private static class Packed<T> where T : unmanaged
    {
        private static readonly AlignedArray<T>?[] Slots = new AlignedArray<T>?[4 * Math.Max(2, Environment.ProcessorCount)];

        /// <summary>A free buffer of at least <paramref name="length"/> (and of <see cref="PanelBytes"/>), made when none is free.</summary>
        public static AlignedArray<T> Rent(int length)
        {
            for (int i = 0; i < Slots.Length; i++)
                if (Volatile.Read(ref Slots[i]) is { } candidate && candidate.Length >= length
                    && ReferenceEquals(Interlocked.CompareExchange(ref Slots[i], null, candidate), candidate))
                    return candidate;
            return new AlignedArray<T>(Math.Max(length, PanelBytes / Unsafe.SizeOf<T>()));
        }

        /// <summary>Puts <paramref name="buffer"/> back in the first empty slot (or leaves it to the collector when all are full).</summary>
        public static void Return(AlignedArray<T> buffer)
        {
            for (int i = 0; i < Slots.Length; i++)
                if (Interlocked.CompareExchange(ref Slots[i], buffer, null) is null) return;
        }
    }

    /// <summary>Rows of B (<paramref name="columns"/> wide) in a panel of <see cref="PanelBytes"/>, at least 16: the reduction's pieces in <see cref="Gemm"/>.</summary>
    private static int PanelDepth<T>(int columns) => Math.Max(16, PanelBytes / (columns * Unsafe.SizeOf<T>()));

    /// <summary>Bytes of B one pass of <see cref="Gemm"/> works on: half of a typical 512 KiB L2 cache.</summary>
    private const int PanelBytes = 256 * 1024;

    /// <summary>
    /// <see cref="Gemm"/>'s products on one panel: for each strip of two vectors of columns, the rows in tiles of up to
    /// <see cref="TileRows"/> (<see cref="Tile{T, R}"/>), the columns past the last strip through <see cref="NarrowColumns"/>,
    /// and whatever is left one row at a time (<see cref="Combine"/>). Row <c>i</c> of A starts at
    /// <c>(i / 6) aGroup + (i % 6) aRow</c>: <paramref name="aGroup"/> is <c>6 aRow</c> for A read in place, and
    /// <c>6 depth</c> for an A packed in the tiles' order (<see cref="PackTiles"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemmPanel<T>(Span<T> c, int ldc, ReadOnlySpan<T> a, int aRow, int aColumn, int aGroup, ReadOnlySpan<T> b, int ldb, int rows, int columns, int depth,
        bool accumulate, ReadOnlySpan<T> bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The tiles' start: C itself (accumulating), the bias row (the same for every row: stride 0), or zero.
        bool start = accumulate || !bias.IsEmpty;
        ref T s0 = ref accumulate ? ref MemoryMarshal.GetReference(c) : ref MemoryMarshal.GetReference(bias);
        nint sRow = accumulate ? ldc : 0;
        int lanes = Vector<T>.Count, blocked = columns / (2 * lanes) * (2 * lanes), tiled = 0;
        // Two rows left over in a matrix too narrow for the one-row kernel's eight accumulators: one more tile.
        bool narrow = columns < 8 * lanes;
        ref T c0 = ref MemoryMarshal.GetReference(c);
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        // One or two rows past the last six-row tile, where any row of A may begin a tile (A read in place, not packed in
        // groups of six): the last seven or eight rows as a tile of four and one of three or four, rather than one or two
        // rows of the one-row kernel, which loads B again for each row, or a tile of two in a narrow matrix (a 32 x 3,136
        // product over 128, a half-batch's dense layer: the last two rows had cost as much as six in a tile).
        int sixes = rows / TileRows * TileRows;
        if (aGroup == TileRows * aRow && sixes > 0 && rows - sixes is 1 or 2) sixes -= TileRows;
        for (int j = 0; j < blocked; j += 2 * lanes)
        {
            int i = 0;
            for (; i < sixes; i += TileRows)
                Tile<T, Six>(ref Unsafe.Add(ref c0, i * ldc + j), ldc, ref Unsafe.Add(ref a0, i / TileRows * aGroup), aRow, aColumn, ref Unsafe.Add(ref b0, j), ldb, depth, start, ref Unsafe.Add(ref s0, i * sRow + j), sRow);
            // Then three to five rows as one shorter tile, two as one where the rows are narrow, and seven or eight (above)
            // as two. One or two otherwise: the one-row kernel below.
            while (i < rows)
            {
                int height = rows - i > 5 ? 4 : rows - i;
                ref T rest = ref Unsafe.Add(ref a0, i / TileRows * aGroup + i % TileRows * aRow);
                if (height == 5) Tile<T, Five>(ref Unsafe.Add(ref c0, i * ldc + j), ldc, ref rest, aRow, aColumn, ref Unsafe.Add(ref b0, j), ldb, depth, start, ref Unsafe.Add(ref s0, i * sRow + j), sRow);
                else if (height == 4) Tile<T, Four>(ref Unsafe.Add(ref c0, i * ldc + j), ldc, ref rest, aRow, aColumn, ref Unsafe.Add(ref b0, j), ldb, depth, start, ref Unsafe.Add(ref s0, i * sRow + j), sRow);
                else if (height == 3) Tile<T, Three>(ref Unsafe.Add(ref c0, i * ldc + j), ldc, ref rest, aRow, aColumn, ref Unsafe.Add(ref b0, j), ldb, depth, start, ref Unsafe.Add(ref s0, i * sRow + j), sRow);
                else if (height == 2 && narrow) Tile<T, Two>(ref Unsafe.Add(ref c0, i * ldc + j), ldc, ref rest, aRow, aColumn, ref Unsafe.Add(ref b0, j), ldb, depth, start, ref Unsafe.Add(ref s0, i * sRow + j), sRow);
                else break;
                i += height;
            }
            tiled = i;
        }
        int narrowTiled = blocked < columns && rows >= NarrowRows && depth > 0 ? NarrowColumns(c, ldc, a, aRow, aColumn, aGroup, b, ldb, rows, columns, blocked, depth, accumulate, bias) : 0;
        // Rows outside the tiles, and the columns right of them in the rows NarrowColumns did not take: one row at a time.
        for (int r = 0; r < rows; r++)
        {
            int from = r < tiled ? blocked : 0, to = r < narrowTiled ? blocked : columns;
            if (from >= to) continue;
            Combine(c.Slice(r * ldc + from, to - from), a[(r / TileRows * aGroup + r % TileRows * aRow)..], aColumn, b[from..], ldb, depth, accumulate, bias.IsEmpty ? default : bias[from..to]);
        }
    }

    /// <summary>
    /// The columns of <see cref="GemmPanel"/> right of its last whole tile (fewer than two vectors, such as the 65th
    /// output of a 65-letter alphabet), for whole tiles of rows: the six-row tile over a copy of those columns of B padded
    /// with zeros to the tile's width, into a padded copy of C's columns, a chunk of rows at a time, which is then copied
    /// back. The copy of C starts as C (accumulating), the bias or zero, and the reduction goes in pieces of
    /// <see cref="StripBytes"/> of B, the tiles storing their sums after a piece and reloading them for the next, so the
    /// copies stay in the L1 cache whatever the depth. Row by row, each entry had been a dependent chain of multiply-adds
    /// (a 2,048 x 65 product over 128 took twice the time of 2,048 x 64). Each entry takes the same fused multiply-adds in
    /// the same order from the same start as the one-row kernel, so the numbers are the same. Returns how many rows it did.
    /// </summary>
    private static int NarrowColumns<T>(Span<T> c, int ldc, ReadOnlySpan<T> a, int aRow, int aColumn, int aGroup, ReadOnlySpan<T> b, int ldb, int rows, int columns,
        int blocked, int depth, bool accumulate, ReadOnlySpan<T> bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int width = 2 * Vector<T>.Count, count = columns - blocked, tiled = rows / TileRows * TileRows;
        int piece = Math.Min(depth, Math.Max(1, StripBytes / (width * Unsafe.SizeOf<T>())));
        var buffer = Packed<T>.Rent((piece + NarrowChunk + 1) * width);
        var strip = buffer.AsSpan(0, piece * width);
        var tiles = buffer.AsSpan(piece * width, NarrowChunk * width);
        var start = buffer.AsSpan((piece + NarrowChunk) * width, width);
        // The padding columns of the copies of B and of the bias stay 0: only the first count columns of a row are written.
        strip.Clear();
        start.Clear();
        bool fromBias = !accumulate && !bias.IsEmpty;
        if (fromBias) bias.Slice(blocked, count).CopyTo(start);
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T s0 = ref MemoryMarshal.GetReference(strip);
        // Rows in chunks whose copy of C stays in the L1 cache with the strip; a reduction in one piece copies it once.
        for (int r0 = 0; r0 < tiled; r0 += NarrowChunk)
        {
            int chunk = Math.Min(NarrowChunk, tiled - r0);
            if (accumulate)
            {
                tiles.Clear();
                for (int r = 0; r < chunk; r++) c.Slice((r0 + r) * ldc + blocked, count).CopyTo(tiles.Slice(r * width, count));
            }
            for (int p0 = 0; p0 < depth; p0 += piece)
            {
                int steps = Math.Min(piece, depth - p0);
                if (r0 == 0 || piece < depth)
                    for (int p = 0; p < steps; p++) b.Slice((p0 + p) * ldb + blocked, count).CopyTo(strip.Slice(p * width, count));
                // The first piece starts from C's copy, the bias row (for every row: stride 0) or zero; the others from the sums.
                bool fromTiles = accumulate || p0 > 0;
                for (int i = 0; i < chunk; i += TileRows)
                {
                    ref T t0 = ref MemoryMarshal.GetReference(tiles[(i * width)..]);
                    Tile<T, Six>(ref t0, width, ref Unsafe.Add(ref a0, (r0 + i) / TileRows * aGroup + p0 * aColumn), aRow, aColumn, ref s0, width, steps,
                        fromTiles || fromBias, ref fromTiles ? ref t0 : ref MemoryMarshal.GetReference(start), fromTiles ? width : 0);
                }
            }
            for (int r = 0; r < chunk; r++) tiles.Slice(r * width, count).CopyTo(c.Slice((r0 + r) * ldc + blocked, count));
        }
        Packed<T>.Return(buffer);
        return tiled;
    }

    /// <summary>Rows of C whose padded copy <see cref="NarrowColumns"/> keeps at once (a multiple of <see cref="TileRows"/>).</summary>
    private const int NarrowChunk = 96;

    /// <summary>The fewest rows for which <see cref="NarrowColumns"/> takes the columns right of the tiles: two tiles.</summary>
    private const int NarrowRows = 12;

    /// <summary>
    /// Rows of C from which <see cref="Strips"/> copies a column strip of B that would not stay in the L1 cache before
    /// its tiles read it: sixteen tiles (with fewer, reading the strip from L2 in place measured as fast as copying it).
    /// </summary>
    private const int PackRows = 96;

    /// <summary>Bytes of a packed strip of B: half of a 32 KB L1 data cache.</summary>
    private const int StripBytes = 16 * 1024;

    /// <summary>The <paramref name="depth"/> x 2-vector block at the start of <paramref name="b"/> (rows <paramref name="ldb"/> apart) into consecutive rows of <paramref name="strip"/>.</summary>
    private static void CopyStrip<T>(ReadOnlySpan<T> b, int ldb, Span<T> strip, int depth) where T : unmanaged
    {
        int l = Vector<T>.Count;
        if (b.Length < (depth - 1) * ldb + 2 * l || strip.Length < depth * 2 * l) throw new ArgumentException("CopyStrip: spans too short.");
        ref T from = ref MemoryMarshal.GetReference(b);
        ref T to = ref MemoryMarshal.GetReference(strip);
        for (int p = 0; p < depth; p++)
        {
            Store(ref to, 2 * p * l, Load(ref from, (nint)p * ldb));
            Store(ref to, (2 * p + 1) * l, Load(ref from, (nint)p * ldb + l));
        }
    }

    /// <summary>
    /// An R x 2-vector tile of <see cref="Gemm"/> (R &lt;= 6) in up to twelve accumulators across the whole reduction;
    /// R is a type parameter so each height compiles with its constant folded. With <paramref name="start"/> the
    /// accumulators start from the rows at <paramref name="from"/>, <paramref name="sRow"/> apart (C itself, or one bias row
    /// for all with 0), else from zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<T, R>(ref T c, int ldc, ref T a, int aRow, int aColumn, ref T b, int ldb, int depth, bool start, ref T from, nint sRow)
        where T : unmanaged, IFloatingPointIeee754<T> where R : struct, ICount
    {
        int l = Vector<T>.Count;
        Vector<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (start)
        {
            c00 = Load(ref from, 0); c01 = Load(ref from, l);
            if (R.N > 1) { c10 = Load(ref from, sRow); c11 = Load(ref from, sRow + l); }
            if (R.N > 2) { c20 = Load(ref from, 2 * sRow); c21 = Load(ref from, 2 * sRow + l); }
            if (R.N > 3) { c30 = Load(ref from, 3 * sRow); c31 = Load(ref from, 3 * sRow + l); }
            if (R.N > 4) { c40 = Load(ref from, 4 * sRow); c41 = Load(ref from, 4 * sRow + l); }
            if (R.N > 5) { c50 = Load(ref from, 5 * sRow); c51 = Load(ref from, 5 * sRow + l); }
        }
        // Pointers advance by their strides and row offsets are computed once, so the loop body is the
        // loads and the fused multiply-adds.
        nint r1 = aRow, r2 = 2 * r1, r3 = 3 * r1, r4 = 4 * r1, r5 = 5 * r1, bStep = ldb, aStep = aColumn;
        ref T bp = ref b;
        ref T ap = ref a;
        for (int p = 0; p < depth; p++)
        {
            Vector<T> b0 = Load(ref bp, 0), b1 = Load(ref bp, l);
            var s = new Vector<T>(ap);
            c00 = Fma(s, b0, c00); c01 = Fma(s, b1, c01);
            if (R.N > 1) { s = new Vector<T>(Unsafe.Add(ref ap, r1)); c10 = Fma(s, b0, c10); c11 = Fma(s, b1, c11); }
            if (R.N > 2) { s = new Vector<T>(Unsafe.Add(ref ap, r2)); c20 = Fma(s, b0, c20); c21 = Fma(s, b1, c21); }
            if (R.N > 3) { s = new Vector<T>(Unsafe.Add(ref ap, r3)); c30 = Fma(s, b0, c30); c31 = Fma(s, b1, c31); }
            if (R.N > 4) { s = new Vector<T>(Unsafe.Add(ref ap, r4)); c40 = Fma(s, b0, c40); c41 = Fma(s, b1, c41); }
            if (R.N > 5) { s = new Vector<T>(Unsafe.Add(ref ap, r5)); c50 = Fma(s, b0, c50); c51 = Fma(s, b1, c51); }
            bp = ref Unsafe.Add(ref bp, bStep);
            ap = ref Unsafe.Add(ref ap, aStep);
        }
        Store(ref c, 0, c00); Store(ref c, l, c01);
        if (R.N > 1) { Store(ref c, ldc, c10); Store(ref c, ldc + l, c11); }
        if (R.N > 2) { Store(ref c, 2 * ldc, c20); Store(ref c, 2 * ldc + l, c21); }
        if (R.N > 3) { Store(ref c, 3 * ldc, c30); Store(ref c, 3 * ldc + l, c31); }
        if (R.N > 4) { Store(ref c, 4 * ldc, c40); Store(ref c, 4 * ldc + l, c41); }
        if (R.N > 5) { Store(ref c, 5 * ldc, c50); Store(ref c, 5 * ldc + l, c51); }
    }

    /// <summary>
    /// <c>C[i, j] (+)= sum_p A[i, p] B[j, p]</c>: dot products of the rows of a <paramref name="rows"/> x
    /// <paramref name="depth"/> matrix with the rows of a <paramref name="columns"/> x <paramref name="depth"/> one.
    /// </summary>
    public static void GemmNT<T>(Span<T> c, ReadOnlySpan<T> a, ReadOnlySpan<T> b, int rows, int columns, int depth, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows <= 0 || columns <= 0) return;
        if (c.Length < rows * columns || a.Length < rows * depth || b.Length < columns * depth)
            throw new ArgumentException($"GemmNT: spans too short for {rows} x {columns} += ({rows} x {depth}) ({columns} x {depth})^T.");
        DotProducts<T, InPlace>(c, a, [], [], b, rows, columns, depth, accumulate);
    }

    /// <summary>
    /// <see cref="GemmNT"/> on rows <paramref name="index"/> of <paramref name="source"/> (<paramref name="depth"/> wide), which it
    /// copies into <paramref name="copy"/> as it reads them: a minibatch's first dense layer gathers its scattered examples
    /// itself, so fetching them from memory overlaps its arithmetic instead of preceding it, and the copy is left for the
    /// backward pass. The same numbers as a copy followed by <see cref="GemmNT"/>.
    /// </summary>
    public static void GemmNTRows<T>(Span<T> c, ReadOnlySpan<T> source, ReadOnlySpan<int> index, Span<T> copy, ReadOnlySpan<T> b, int columns, int depth, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckRows(source, index, depth);
        int rows = index.Length;
        if (rows <= 0 || columns <= 0) return;
        if (c.Length < rows * columns || copy.Length < rows * depth || b.Length < columns * depth)
            throw new ArgumentException($"GemmNTRows: spans too short for {rows} x {columns} += ({rows} x {depth}) ({columns} x {depth})^T.");
        DotProducts<T, Gathered>(c, source, index, copy, b, rows, columns, depth, accumulate);
    }

    /// <summary>
    /// <see cref="GemmNT"/> with each dot product left as a vector of partial sums: <c>lanes[i, j, :] (+)= sum_p A[i, p] B[j, p]</c>
    /// lane by lane (<paramref name="lanes"/> holds <c>rows x columns</c> vectors; the elements past <paramref name="depth"/>'s
    /// last whole vector are added into the first lane). A sum of such products over many calls, such as a convolution's kernel
    /// gradient over the examples of a batch, then pays for its sums across lanes once (<see cref="SumLanes"/>) instead of
    /// once per call.
    /// </summary>
    public static void GemmNTLanes<T>(Span<T> lanes, ReadOnlySpan<T> a, ReadOnlySpan<T> b, int rows, int columns, int depth, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows <= 0 || columns <= 0) return;
        if (lanes.Length < rows * columns * Vector<T>.Count || a.Length < rows * depth || b.Length < columns * depth)
            throw new ArgumentException($"GemmNTLanes: spans too short for {rows} x {columns} vectors += ({rows} x {depth}) ({columns} x {depth})^T.");
        DotProducts<T, InLanes>(lanes, a, [], [], b, rows, columns, depth, accumulate);
    }

    /// <summary><c>c[k] (+)= sum of the lanes of vector k of <paramref name="lanes"/></c>, for the vectors <see cref="GemmNTLanes"/> leaves.</summary>
    public static void SumLanes<T>(ReadOnlySpan<T> lanes, Span<T> c, bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int l = Vector<T>.Count;
        if (lanes.Length < c.Length * l) throw new ArgumentException($"SumLanes: {c.Length} sums need {c.Length * l} lanes, got {lanes.Length}.");
        var vectors = MemoryMarshal.Cast<T, Vector<T>>(lanes[..(c.Length * l)]);
        for (int k = 0; k < c.Length; k++) c[k] = accumulate ? c[k] + Vector.Sum(vectors[k]) : Vector.Sum(vectors[k]);
    }

    /// <summary>
    /// <c>sums[i, :] += sum_t weights[i, t] rows[chosen[i, t], :]</c> for <paramref name="count"/> sums of <paramref name="terms"/>
    /// terms each: weighted sums of rows of <paramref name="rows"/> (<paramref name="width"/> wide, a multiple of the vector
    /// length), each row picked by <paramref name="chosen"/>, whose entries the caller keeps inside <paramref name="rows"/> (they
    /// are not checked one by one). Each sum is one chain of multiply-adds over its terms in order, from zero, then added to
    /// <paramref name="sums"/>; eight sums at a time, so eight chains are under way at once.
    /// </summary>
    internal static void AddChosenRows<T>(Span<T> sums, ReadOnlySpan<T> weights, ReadOnlySpan<int> chosen, ReadOnlySpan<T> rows, int count, int terms, int width)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int l = Vector<T>.Count;
        if (width % l != 0 || sums.Length < count * width || weights.Length < count * terms || chosen.Length < count * terms || rows.Length < width || rows.Length % width != 0)
            throw new ArgumentException($"AddChosenRows: spans too short for {count} sums of {terms} rows {width} wide, or a width that is not whole vectors.");
        int i = 0;
        for (; i + 8 <= count; i += 8) AddChosenRows<T, Eight>(sums[(i * width)..], weights[(i * terms)..], chosen[(i * terms)..], rows, terms, width);
        for (; i < count; i++) AddChosenRows<T, One>(sums[(i * width)..], weights[(i * terms)..], chosen[(i * terms)..], rows, terms, width);
    }

    /// <summary><see cref="AddChosenRows{T}(Span{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, int, int, int)"/> for <typeparamref name="R"/> (1 or 8) sums, a vector of each at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddChosenRows<T, R>(Span<T> sums, ReadOnlySpan<T> weights, ReadOnlySpan<int> chosen, ReadOnlySpan<T> rows, int terms, int width)
        where T : unmanaged, IFloatingPointIeee754<T> where R : struct, ICount
    {
        ref T g = ref MemoryMarshal.GetReference(weights);
        ref int at = ref MemoryMarshal.GetReference(chosen);
        ref T s = ref MemoryMarshal.GetReference(sums);
        nint t1 = terms, t2 = 2 * t1, t3 = 3 * t1, t4 = 4 * t1, t5 = 5 * t1, t6 = 6 * t1, t7 = 7 * t1;
        for (int j = 0; j < width; j += Vector<T>.Count)
        {
            ref T r = ref Unsafe.Add(ref MemoryMarshal.GetReference(rows), j);
            Vector<T> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (nint t = 0; t < terms; t++)
            {
                a0 = Fma(new Vector<T>(Unsafe.Add(ref g, t)), Load(ref r, (nint)Unsafe.Add(ref at, t) * width), a0);
                if (R.N == 1) continue;
                a1 = Fma(new Vector<T>(Unsafe.Add(ref g, t1 + t)), Load(ref r, (nint)Unsafe.Add(ref at, t1 + t) * width), a1);
                a2 = Fma(new Vector<T>(Unsafe.Add(ref g, t2 + t)), Load(ref r, (nint)Unsafe.Add(ref at, t2 + t) * width), a2);
                a3 = Fma(new Vector<T>(Unsafe.Add(ref g, t3 + t)), Load(ref r, (nint)Unsafe.Add(ref at, t3 + t) * width), a3);
                a4 = Fma(new Vector<T>(Unsafe.Add(ref g, t4 + t)), Load(ref r, (nint)Unsafe.Add(ref at, t4 + t) * width), a4);
                a5 = Fma(new Vector<T>(Unsafe.Add(ref g, t5 + t)), Load(ref r, (nint)Unsafe.Add(ref at, t5 + t) * width), a5);
                a6 = Fma(new Vector<T>(Unsafe.Add(ref g, t6 + t)), Load(ref r, (nint)Unsafe.Add(ref at, t6 + t) * width), a6);
                a7 = Fma(new Vector<T>(Unsafe.Add(ref g, t7 + t)), Load(ref r, (nint)Unsafe.Add(ref at, t7 + t) * width), a7);
            }
            Store(ref s, j, Load(ref s, j) + a0);
            if (R.N == 1) continue;
            Store(ref s, width + j, Load(ref s, width + j) + a1);
            Store(ref s, 2 * width + j, Load(ref s, 2 * width + j) + a2);
            Store(ref s, 3 * width + j, Load(ref s, 3 * width + j) + a3);
            Store(ref s, 4 * width + j, Load(ref s, 4 * width + j) + a4);
            Store(ref s, 5 * width + j, Load(ref s, 5 * width + j) + a5);
            Store(ref s, 6 * width + j, Load(ref s, 6 * width + j) + a6);
            Store(ref s, 7 * width + j, Load(ref s, 7 * width + j) + a7);
        }
    }

    /// <summary>Whether every entry of <paramref name="x"/> is finite (neither infinite nor NaN).</summary>
    internal static bool AllFinite<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int l = Vector<T>.Count, i = 0;
        // x - x is zero exactly where x is finite (an infinity or a NaN gives NaN).
        var all = Vector<T>.Zero;
        for (; i + l <= x.Length; i += l)
        {
            var v = Vector.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i);
            all += v - v;
        }
        if (!Vector.EqualsAll(all, Vector<T>.Zero)) return false;
        for (; i < x.Length; i++)
            if (!T.IsFinite(x[i])) return false;
        return true;
    }

    /// <summary>
    /// The tiles of <see cref="GemmNT"/>: with 32 vector registers (AVX-512) up to 2 x 10 dot products, so that a ten-class layer
    /// reads each row of A once; with 16, up to 2 x 5 (a last single row: up to 1 x 8); a row's tiles differ in width by at
    /// most one. Rows of A are row <c>i</c> of <paramref name="a"/>,
    /// or with <typeparamref name="G"/> = <see cref="Gathered"/> row <c>index[i]</c>, copied into row <c>i</c> of <paramref name="copy"/>
    /// by the first tile that reads it (later tiles read the copy), or with <see cref="Fetched"/> row <c>index[i]</c>, not copied
    /// (later tiles read it again there). With <see cref="InLanes"/>, <paramref name="c"/> holds a vector
    /// per dot product.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotProducts<T, G>(Span<T> c, ReadOnlySpan<T> a, ReadOnlySpan<int> index, Span<T> copy, ReadOnlySpan<T> b, int rows, int columns, int depth, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T> where G : struct, ICount
    {
        bool wide = LineVectors<T>();
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T copied = ref MemoryMarshal.GetReference(copy);
        for (int i = 0; i < rows; i += 2)
        {
            bool pair = i + 1 < rows;
            // Tiles as even as the register budget allows (widths differing by at most one): a last tile of one or two
            // columns would be a chain of dependent additions (a 2 x 1 tile took two thirds of the time of the 2 x 10 before it).
            int most = wide ? 10 : pair ? 5 : 8, tiles = (columns + most - 1) / most;
            bool indexed = G.N is 1 or 3;
            ref T row0 = ref Unsafe.Add(ref a0, (nint)(indexed ? index[i] : i) * depth);
            ref T row1 = ref Unsafe.Add(ref a0, (nint)(indexed ? index[pair ? i + 1 : i] : pair ? i + 1 : i) * depth);
            // Where the tiles after the first read the pair: the copy the first made (Gathered), else the rows themselves.
            ref T read0 = ref G.N == 1 ? ref Unsafe.Add(ref copied, (nint)i * depth) : ref row0;
            ref T read1 = ref G.N == 1 ? ref Unsafe.Add(ref read0, pair ? depth : 0) : ref row1;
            // Rows a few examples ahead are requested while this pair is worked on: they are scattered, so no hardware prefetcher can guess them.
            // (Past the last row given, the index's further rows: the next slice's.) A prefetch of a bad address does not fault.
            ref T next0 = ref indexed && i + RowsAhead < index.Length ? ref Unsafe.Add(ref a0, (nint)index[i + RowsAhead] * depth) : ref row0;
            ref T next1 = ref indexed && i + RowsAhead + 1 < index.Length ? ref Unsafe.Add(ref a0, (nint)index[i + RowsAhead + 1] * depth) : ref row1;
            for (int t = 0, j = 0, n; j < columns; t++, j += n)
            {
                n = (columns - j) / (tiles - t);
                var tile = c[((i * columns + j) * (G.N == 2 ? Vector<T>.Count : 1))..];
                var bj = b[(j * depth)..];
                if (indexed && j == 0)
                {
                    if (pair) DotTiles<T, Two, G>(n, tile, columns, ref row0, ref row1, bj, depth, accumulate, ref read0, ref read1, ref next0, ref next1);
                    else DotTiles<T, One, G>(n, tile, columns, ref row0, ref row1, bj, depth, accumulate, ref read0, ref read1, ref next0, ref next1);
                }
                else if (G.N == 2 && pair) DotTiles<T, Two, InLanes>(n, tile, columns, ref read0, ref read1, bj, depth, accumulate, ref read0, ref read1, ref read0, ref read1);
                else if (G.N == 2) DotTiles<T, One, InLanes>(n, tile, columns, ref read0, ref read1, bj, depth, accumulate, ref read0, ref read1, ref read0, ref read1);
                else if (pair) DotTiles<T, Two, InPlace>(n, tile, columns, ref read0, ref read1, bj, depth, accumulate, ref read0, ref read1, ref read0, ref read1);
                else DotTiles<T, One, InPlace>(n, tile, columns, ref read0, ref read1, bj, depth, accumulate, ref read0, ref read1, ref read0, ref read1);
            }
        }
    }

    /// <summary>How many rows ahead <see cref="Gather"/>, <see cref="GemmNTRows"/> and <see cref="LinearForwardSlice"/> ask the memory system for.</summary>
    private const int RowsAhead = 4;

    /// <summary>Whether A's rows are read in place (<see cref="InPlace"/>) or through an index and copied as they are read (<see cref="Gathered"/>).</summary>
    private struct InPlace : ICount { public static int N => 0; }

    /// <inheritdoc cref="InPlace"/>
    private struct Gathered : ICount { public static int N => 1; }

    /// <summary>A's rows read through an index and not copied: a slice's backward pass reads them again through the index (<see cref="LinearForwardSlice"/>).</summary>
    private struct Fetched : ICount { public static int N => 3; }

    /// <summary>A's rows read in place, and each dot product kept as a vector of partial sums (<see cref="GemmNTLanes"/>).</summary>
    private struct InLanes : ICount { public static int N => 2; }

    /// <summary>Throws unless every entry of <paramref name="index"/> is a row of <paramref name="source"/> (<paramref name="width"/> wide).</summary>
    internal static void CheckRows<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> index, int width)
    {
        int count = source.Length / width;
        foreach (int row in index)
            if ((uint)row >= (uint)count) throw new ArgumentOutOfRangeException(nameof(index), $"Row {row} is out of range: the source has {count} rows of {width}.");
    }

    /// <summary>
    /// Copies rows <paramref name="index"/> of <paramref name="source"/> (<paramref name="width"/> wide) into consecutive rows of
    /// <paramref name="destination"/>, asking the memory system for rows a few ahead, as the examples of a minibatch are gathered.
    /// </summary>
    public static void Gather<T>(ReadOnlySpan<T> source, ReadOnlySpan<int> index, int width, Span<T> destination) where T : unmanaged
    {
        if (width < 1) throw new ArgumentException($"Gather: rows need at least one element, got a width of {width}.");
        if (destination.Length < index.Length * width)
            throw new ArgumentException($"Gather: {index.Length} rows of {width} need {index.Length * width} elements, got {destination.Length}.");
        CheckRows(source, index, width);
        ref T from = ref MemoryMarshal.GetReference(source);
        for (int i = 0; i < index.Length; i++)
        {
            if (i + RowsAhead < index.Length) Prefetch(ref Unsafe.Add(ref from, (nint)index[i + RowsAhead] * width), width);
            var row = source.Slice(index[i] * width, width);
            var to = destination.Slice(i * width, width);
            // A copy call per row of a few features (two for the moons) cost more than the copy.
            if (width <= 16)
                for (int j = 0; j < width; j++) to[j] = row[j];
            else row.CopyTo(to);
        }
    }

    /// <summary>
    /// Starts loading <paramref name="count"/> elements from <paramref name="start"/> into the L2 cache (nothing where prefetch instructions
    /// are missing, or for rows under 256 bytes). Into L2 rather than L1: the L1 cache can track few misses at once, so a row's worth
    /// of prefetches into it had to wait for free slots, while L2 tracks many more (mnist-linear at batch 1,000: 1.1-1.4x).
    /// </summary>
    private static unsafe void Prefetch<T>(ref T start, int count) where T : unmanaged
    {
        int perLine = Math.Max(1, 64 / sizeof(T));
        if (!Sse.IsSupported || count < 4 * perLine) return;
        for (int offset = 0; offset < count; offset += perLine) Sse.Prefetch1(Unsafe.AsPointer(ref Unsafe.Add(ref start, offset)));
    }

    /// <summary>
    /// <see cref="Prefetch"/> of example <paramref name="example"/> + 1's <paramref name="size"/> elements of a batch's array, if it
    /// holds them: a pass that goes through a batch an example at a time asks for the next example's inputs (or the lines its
    /// outputs go to) while it works on this one. The arrays a layer keeps for its backward pass, and those it writes for the
    /// next layer, outgrow the L2 cache, and several such streams at once are more than the hardware's prefetching keeps
    /// ahead of (the exercise CNN, family 25 at 512 bits: its first layer's backward pass 0.90 to 0.78 ms a step).
    /// </summary>
    internal static void PrefetchNext<T>(ReadOnlySpan<T> batch, int example, int size) where T : unmanaged
    {
        if ((long)(example + 2) * size <= batch.Length) Prefetch(ref Unsafe.AsRef(in batch[(example + 1) * size]), size);
    }

    /// <summary><see cref="DotTile"/> for <typeparamref name="R"/> rows and <paramref name="n"/> (1 to 10) columns.</summary>
    private static void DotTiles<T, R, G>(int n, Span<T> c, int ldc, ref T a0, ref T a1, ReadOnlySpan<T> b, int depth, bool accumulate,
        ref T copy0, ref T copy1, ref T next0, ref T next1)
        where T : unmanaged, IFloatingPointIeee754<T> where R : struct, ICount where G : struct, ICount
    {
        switch (n)
        {
            case 10: DotTile<T, R, Ten, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            case 9: DotTile<T, R, Nine, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            case 8: DotTile<T, R, Eight, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            case 7: DotTile<T, R, Seven, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            case 6: DotTile<T, R, Six, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            case 5: DotTile<T, R, Five, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            case 4: DotTile<T, R, Four, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            case 3: DotTile<T, R, Three, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            case 2: DotTile<T, R, Two, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
            default: DotTile<T, R, One, G>(c, ldc, ref a0, ref a1, b, depth, accumulate, ref copy0, ref copy1, ref next0, ref next1); break;
        }
    }

    /// <summary>
    /// An <c>R x S</c> tile of dot products (R up to 2, S up to 10) in up to twenty vector accumulators, one per dot product,
    /// so every tile shape sums each product in the same order. The counts are type parameters so the JIT compiles each
    /// shape with its constants folded and its unused accumulators gone. With <typeparamref name="G"/> = <see cref="Gathered"/>
    /// the rows <paramref name="a0"/> and <paramref name="a1"/> are also copied to <paramref name="copy0"/> and
    /// <paramref name="copy1"/>, and, with it or <see cref="Fetched"/>, the rows at <paramref name="next0"/> and
    /// <paramref name="next1"/> requested from memory. With
    /// <see cref="InLanes"/> the accumulators start from the tile's vectors in <paramref name="c"/> (zero unless
    /// <paramref name="accumulate"/>) and are stored back there, with no sums across lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DotTile<T, R, S, G>(Span<T> c, int ldc, ref T a0, ref T a1, ReadOnlySpan<T> b, int depth, bool accumulate,
        ref T copy0, ref T copy1, ref T next0, ref T next1)
        where T : unmanaged, IFloatingPointIeee754<T> where R : struct, ICount where S : struct, ICount where G : struct, ICount
    {
        int l = Vector<T>.Count, whole = depth / l * l;
        bool lineVectors = LineVectors<T>();
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T b1 = ref Unsafe.Add(ref b0, S.N > 1 ? depth : 0), b2 = ref Unsafe.Add(ref b0, S.N > 2 ? 2 * depth : 0);
        ref T b3 = ref Unsafe.Add(ref b0, S.N > 3 ? 3 * depth : 0), b4 = ref Unsafe.Add(ref b0, S.N > 4 ? 4 * depth : 0);
        ref T b5 = ref Unsafe.Add(ref b0, S.N > 5 ? 5 * depth : 0), b6 = ref Unsafe.Add(ref b0, S.N > 6 ? 6 * depth : 0);
        ref T b7 = ref Unsafe.Add(ref b0, S.N > 7 ? 7 * depth : 0), b8 = ref Unsafe.Add(ref b0, S.N > 8 ? 8 * depth : 0);
        ref T b9 = ref Unsafe.Add(ref b0, S.N > 9 ? 9 * depth : 0);
        Vector<T> s00 = default, s01 = default, s02 = default, s03 = default, s04 = default, s05 = default, s06 = default, s07 = default, s08 = default, s09 = default;
        Vector<T> s10 = default, s11 = default, s12 = default, s13 = default, s14 = default, s15 = default, s16 = default, s17 = default, s18 = default, s19 = default;
        ref T c0 = ref MemoryMarshal.GetReference(c);
        ref T c1 = ref R.N > 1 ? ref Unsafe.Add(ref c0, (nint)ldc * l) : ref c0;
        if (G.N == 2 && accumulate)
        {
            s00 = Load(ref c0, 0); s01 = S.N > 1 ? Load(ref c0, l) : s01; s02 = S.N > 2 ? Load(ref c0, 2 * l) : s02;
            s03 = S.N > 3 ? Load(ref c0, 3 * l) : s03; s04 = S.N > 4 ? Load(ref c0, 4 * l) : s04; s05 = S.N > 5 ? Load(ref c0, 5 * l) : s05;
            s06 = S.N > 6 ? Load(ref c0, 6 * l) : s06; s07 = S.N > 7 ? Load(ref c0, 7 * l) : s07; s08 = S.N > 8 ? Load(ref c0, 8 * l) : s08;
            s09 = S.N > 9 ? Load(ref c0, 9 * l) : s09;
            if (R.N > 1)
            {
                s10 = Load(ref c1, 0); s11 = S.N > 1 ? Load(ref c1, l) : s11; s12 = S.N > 2 ? Load(ref c1, 2 * l) : s12;
                s13 = S.N > 3 ? Load(ref c1, 3 * l) : s13; s14 = S.N > 4 ? Load(ref c1, 4 * l) : s14; s15 = S.N > 5 ? Load(ref c1, 5 * l) : s15;
                s16 = S.N > 6 ? Load(ref c1, 6 * l) : s16; s17 = S.N > 7 ? Load(ref c1, 7 * l) : s17; s18 = S.N > 8 ? Load(ref c1, 8 * l) : s18;
                s19 = S.N > 9 ? Load(ref c1, 9 * l) : s19;
            }
        }
        for (nint p = 0; p < whole; p += l)
        {
            // The rows a few examples ahead requested from memory: with vectors of a cache line, two lines a step, so each row is
            // asked for in the loop's first half (mnist-linear at batch 1,000, AMD EPYC family 25, 512 bits: 1.23x against one
            // line a step, which had left its fetch mostly after the arithmetic); with narrower vectors, a line with each vector
            // in it (asking for each line once, twice as early, measured slower at 256 bits on family 26).
            if (G.N is 1 or 3 && Sse.IsSupported)
            {
                if (!lineVectors)
                {
                    Sse.Prefetch2(Unsafe.AsPointer(ref Unsafe.Add(ref next0, p)));
                    if (R.N > 1) Sse.Prefetch2(Unsafe.AsPointer(ref Unsafe.Add(ref next1, p)));
                }
                else if (2 * p < whole)
                {
                    // The second line at most the row's last element: a row that does not start on a line's start ends in a
                    // line past its last vector's start (mnist-linear at 512 bits: 1.15x for asking for it).
                    nint second = Math.Min(2 * p + l, depth - 1);
                    Sse.Prefetch2(Unsafe.AsPointer(ref Unsafe.Add(ref next0, 2 * p)));
                    Sse.Prefetch2(Unsafe.AsPointer(ref Unsafe.Add(ref next0, second)));
                    if (R.N > 1)
                    {
                        Sse.Prefetch2(Unsafe.AsPointer(ref Unsafe.Add(ref next1, 2 * p)));
                        Sse.Prefetch2(Unsafe.AsPointer(ref Unsafe.Add(ref next1, second)));
                    }
                }
            }
            var x0 = Load(ref a0, p);
            var x1 = R.N > 1 ? Load(ref a1, p) : default;
            if (G.N == 1)
            {
                Store(ref copy0, p, x0);
                if (R.N > 1) Store(ref copy1, p, x1);
            }
            var y = Load(ref b0, p);
            s00 = Fma(x0, y, s00);
            if (R.N > 1) s10 = Fma(x1, y, s10);
            if (S.N > 1) { y = Load(ref b1, p); s01 = Fma(x0, y, s01); if (R.N > 1) s11 = Fma(x1, y, s11); }
            if (S.N > 2) { y = Load(ref b2, p); s02 = Fma(x0, y, s02); if (R.N > 1) s12 = Fma(x1, y, s12); }
            if (S.N > 3) { y = Load(ref b3, p); s03 = Fma(x0, y, s03); if (R.N > 1) s13 = Fma(x1, y, s13); }
            if (S.N > 4) { y = Load(ref b4, p); s04 = Fma(x0, y, s04); if (R.N > 1) s14 = Fma(x1, y, s14); }
            if (S.N > 5) { y = Load(ref b5, p); s05 = Fma(x0, y, s05); if (R.N > 1) s15 = Fma(x1, y, s15); }
            if (S.N > 6) { y = Load(ref b6, p); s06 = Fma(x0, y, s06); if (R.N > 1) s16 = Fma(x1, y, s16); }
            if (S.N > 7) { y = Load(ref b7, p); s07 = Fma(x0, y, s07); if (R.N > 1) s17 = Fma(x1, y, s17); }
            if (S.N > 8) { y = Load(ref b8, p); s08 = Fma(x0, y, s08); if (R.N > 1) s18 = Fma(x1, y, s18); }
            if (S.N > 9) { y = Load(ref b9, p); s09 = Fma(x0, y, s09); if (R.N > 1) s19 = Fma(x1, y, s19); }
        }
        if (G.N == 1)
            for (int p = whole; p < depth; p++)
            {
                Unsafe.Add(ref copy0, p) = Unsafe.Add(ref a0, p);
                if (R.N > 1) Unsafe.Add(ref copy1, p) = Unsafe.Add(ref a1, p);
            }
        if (G.N == 2)
        {
            Store(ref c0, 0, s00); if (S.N > 1) Store(ref c0, l, s01); if (S.N > 2) Store(ref c0, 2 * l, s02);
            if (S.N > 3) Store(ref c0, 3 * l, s03); if (S.N > 4) Store(ref c0, 4 * l, s04); if (S.N > 5) Store(ref c0, 5 * l, s05);
            if (S.N > 6) Store(ref c0, 6 * l, s06); if (S.N > 7) Store(ref c0, 7 * l, s07); if (S.N > 8) Store(ref c0, 8 * l, s08);
            if (S.N > 9) Store(ref c0, 9 * l, s09);
            if (R.N > 1)
            {
                Store(ref c1, 0, s10); if (S.N > 1) Store(ref c1, l, s11); if (S.N > 2) Store(ref c1, 2 * l, s12);
                if (S.N > 3) Store(ref c1, 3 * l, s13); if (S.N > 4) Store(ref c1, 4 * l, s14); if (S.N > 5) Store(ref c1, 5 * l, s15);
                if (S.N > 6) Store(ref c1, 6 * l, s16); if (S.N > 7) Store(ref c1, 7 * l, s17); if (S.N > 8) Store(ref c1, 8 * l, s18);
                if (S.N > 9) Store(ref c1, 9 * l, s19);
            }
            // What is past the last whole vector goes into the first lane.
            for (int r = 0; r < R.N && whole < depth; r++)
            {
                ref T ar = ref r == 0 ? ref a0 : ref a1;
                for (int s = 0; s < S.N; s++)
                {
                    ref T first = ref Unsafe.Add(ref r == 0 ? ref c0 : ref c1, (nint)s * l);
                    for (int p = whole; p < depth; p++) first = T.FusedMultiplyAdd(Unsafe.Add(ref ar, p), b[s * depth + p], first);
                }
            }
            return;
        }
        Span<T> sums = stackalloc T[20];
        Sums<T, S>(sums, s00, s01, s02, s03, s04, s05, s06, s07, s08, s09);
        if (R.N > 1) Sums<T, S>(sums[10..], s10, s11, s12, s13, s14, s15, s16, s17, s18, s19);
        for (int r = 0; r < R.N; r++)
        {
            ref T ar = ref r == 0 ? ref a0 : ref a1;
            for (int s = 0; s < S.N; s++)
            {
                T sum = sums[10 * r + s];
                for (int p = whole; p < depth; p++) sum = T.FusedMultiplyAdd(Unsafe.Add(ref ar, p), b[s * depth + p], sum);
                c[r * ldc + s] = accumulate ? c[r * ldc + s] + sum : sum;
            }
        }
    }

    /// <summary>The lane sums of the first <typeparamref name="S"/> of a tile row's accumulators, into <paramref name="sums"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sums<T, S>(Span<T> sums, Vector<T> v0, Vector<T> v1, Vector<T> v2, Vector<T> v3, Vector<T> v4,
        Vector<T> v5, Vector<T> v6, Vector<T> v7, Vector<T> v8, Vector<T> v9)
        where T : unmanaged, IFloatingPointIeee754<T> where S : struct, ICount
    {
        sums[0] = Vector.Sum(v0);
        if (S.N > 1) sums[1] = Vector.Sum(v1);
        if (S.N > 2) sums[2] = Vector.Sum(v2);
        if (S.N > 3) sums[3] = Vector.Sum(v3);
        if (S.N > 4) sums[4] = Vector.Sum(v4);
        if (S.N > 5) sums[5] = Vector.Sum(v5);
        if (S.N > 6) sums[6] = Vector.Sum(v6);
        if (S.N > 7) sums[7] = Vector.Sum(v7);
        if (S.N > 8) sums[8] = Vector.Sum(v8);
        if (S.N > 9) sums[9] = Vector.Sum(v9);
    }

    /// <summary>
    /// <c>dW[o, j] (+)= sum_k dY[k, o] X[index[k], j]</c>: the <paramref name="m"/> x <paramref name="n"/> weight
    /// gradient of a slice of <paramref name="rows"/> examples whose inputs are rows <paramref name="index"/> of
    /// <paramref name="source"/>, read in place (<see cref="LinearBackward"/>'s <see cref="Gemm"/> reads a copy of
    /// them). Tiles of up to ten outputs by two vectors of inputs (six outputs with vectors narrower than 512 bits,
    /// which may have only 16 registers), a last vector in tiles of up to ten outputs, and the inputs past the last
    /// whole vector one at a time. Each entry is one chain of fused multiply-adds over the examples in order, from its
    /// old value when accumulating, else from zero, as in <see cref="Gemm"/>: the same numbers.
    /// </summary>
    private static void WeightGradientRows<T>(Span<T> dw, ReadOnlySpan<T> dy, ReadOnlySpan<T> source, ReadOnlySpan<int> index, int rows, int m, int n, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int l = Vector<T>.Count, whole = n / l * l;
        bool wide = LineVectors<T>();
        ref T w0 = ref MemoryMarshal.GetReference(dw);
        ref T g0 = ref MemoryMarshal.GetReference(dy);
        ref T x0 = ref MemoryMarshal.GetReference(source);
        ref int i0 = ref MemoryMarshal.GetReference(index);
        for (int j = 0; j < whole;)
        {
            bool two = j + 2 * l <= whole;
            int most = two && !wide ? 6 : 10, tiles = (m + most - 1) / most;
            for (int t = 0, o = 0, r; o < m; t++, o += r)
            {
                r = (m - o) / (tiles - t);
                ref T c = ref Unsafe.Add(ref w0, (nint)o * n + j);
                if (two) WeightTiles<T, Two>(r, ref c, n, ref Unsafe.Add(ref g0, o), m, ref Unsafe.Add(ref x0, j), n, ref i0, rows, accumulate);
                else WeightTiles<T, One>(r, ref c, n, ref Unsafe.Add(ref g0, o), m, ref Unsafe.Add(ref x0, j), n, ref i0, rows, accumulate);
            }
            j += two ? 2 * l : l;
        }
        for (int o = 0; o < m; o++)
            for (int j = whole; j < n; j++)
            {
                T sum = accumulate ? dw[o * n + j] : T.Zero;
                for (int k = 0; k < rows; k++) sum = T.FusedMultiplyAdd(dy[k * m + o], source[index[k] * n + j], sum);
                dw[o * n + j] = sum;
            }
    }

    /// <summary><see cref="WeightTile"/> for <paramref name="r"/> (1 to 10) outputs and <typeparamref name="V"/> vectors of inputs.</summary>
    private static void WeightTiles<T, V>(int r, ref T c, int ldc, ref T g, int ldg, ref T x, int ldx, ref int index, int rows, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T> where V : struct, ICount
    {
        switch (r)
        {
            case 10: WeightTile<T, Ten, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            case 9: WeightTile<T, Nine, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            case 8: WeightTile<T, Eight, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            case 7: WeightTile<T, Seven, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            case 6: WeightTile<T, Six, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            case 5: WeightTile<T, Five, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            case 4: WeightTile<T, Four, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            case 3: WeightTile<T, Three, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            case 2: WeightTile<T, Two, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
            default: WeightTile<T, One, V>(ref c, ldc, ref g, ldg, ref x, ldx, ref index, rows, accumulate); break;
        }
    }

    /// <summary>
    /// An <c>R x V</c>-vector tile of <see cref="WeightGradientRows"/> (R up to 10, V up to 2) in one accumulator per vector of
    /// outputs: for each example, its row's <typeparamref name="V"/> vectors (row <c>index[k]</c> of <paramref name="x"/>,
    /// <paramref name="ldx"/> wide) times each of its <typeparamref name="R"/> output gradients (<paramref name="g"/>, rows
    /// <paramref name="ldg"/> apart), so each vector of a row is read once for up to twenty multiply-adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightTile<T, R, V>(ref T c, int ldc, ref T g, int ldg, ref T x, int ldx, ref int index, int rows, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T> where R : struct, ICount where V : struct, ICount
    {
        int l = Vector<T>.Count;
        Vector<T> c00 = default, c10 = default, c20 = default, c30 = default, c40 = default, c50 = default, c60 = default, c70 = default, c80 = default, c90 = default;
        Vector<T> c01 = default, c11 = default, c21 = default, c31 = default, c41 = default, c51 = default, c61 = default, c71 = default, c81 = default, c91 = default;
        if (accumulate)
        {
            c00 = Load(ref c, 0); if (V.N > 1) c01 = Load(ref c, l);
            if (R.N > 1) { c10 = Load(ref c, ldc); if (V.N > 1) c11 = Load(ref c, ldc + l); }
            if (R.N > 2) { c20 = Load(ref c, 2 * ldc); if (V.N > 1) c21 = Load(ref c, 2 * ldc + l); }
            if (R.N > 3) { c30 = Load(ref c, 3 * ldc); if (V.N > 1) c31 = Load(ref c, 3 * ldc + l); }
            if (R.N > 4) { c40 = Load(ref c, 4 * ldc); if (V.N > 1) c41 = Load(ref c, 4 * ldc + l); }
            if (R.N > 5) { c50 = Load(ref c, 5 * ldc); if (V.N > 1) c51 = Load(ref c, 5 * ldc + l); }
            if (R.N > 6) { c60 = Load(ref c, 6 * ldc); if (V.N > 1) c61 = Load(ref c, 6 * ldc + l); }
            if (R.N > 7) { c70 = Load(ref c, 7 * ldc); if (V.N > 1) c71 = Load(ref c, 7 * ldc + l); }
            if (R.N > 8) { c80 = Load(ref c, 8 * ldc); if (V.N > 1) c81 = Load(ref c, 8 * ldc + l); }
            if (R.N > 9) { c90 = Load(ref c, 9 * ldc); if (V.N > 1) c91 = Load(ref c, 9 * ldc + l); }
        }
        ref T gk = ref g;
        for (int k = 0; k < rows; k++, gk = ref Unsafe.Add(ref gk, (nint)ldg))
        {
            ref T row = ref Unsafe.Add(ref x, (nint)Unsafe.Add(ref index, k) * ldx);
            var x0 = Load(ref row, 0);
            var x1 = V.N > 1 ? Load(ref row, l) : default;
            var s = new Vector<T>(gk); c00 = Fma(s, x0, c00); if (V.N > 1) c01 = Fma(s, x1, c01);
            if (R.N > 1) { s = new Vector<T>(Unsafe.Add(ref gk, 1)); c10 = Fma(s, x0, c10); if (V.N > 1) c11 = Fma(s, x1, c11); }
            if (R.N > 2) { s = new Vector<T>(Unsafe.Add(ref gk, 2)); c20 = Fma(s, x0, c20); if (V.N > 1) c21 = Fma(s, x1, c21); }
            if (R.N > 3) { s = new Vector<T>(Unsafe.Add(ref gk, 3)); c30 = Fma(s, x0, c30); if (V.N > 1) c31 = Fma(s, x1, c31); }
            if (R.N > 4) { s = new Vector<T>(Unsafe.Add(ref gk, 4)); c40 = Fma(s, x0, c40); if (V.N > 1) c41 = Fma(s, x1, c41); }
            if (R.N > 5) { s = new Vector<T>(Unsafe.Add(ref gk, 5)); c50 = Fma(s, x0, c50); if (V.N > 1) c51 = Fma(s, x1, c51); }
            if (R.N > 6) { s = new Vector<T>(Unsafe.Add(ref gk, 6)); c60 = Fma(s, x0, c60); if (V.N > 1) c61 = Fma(s, x1, c61); }
            if (R.N > 7) { s = new Vector<T>(Unsafe.Add(ref gk, 7)); c70 = Fma(s, x0, c70); if (V.N > 1) c71 = Fma(s, x1, c71); }
            if (R.N > 8) { s = new Vector<T>(Unsafe.Add(ref gk, 8)); c80 = Fma(s, x0, c80); if (V.N > 1) c81 = Fma(s, x1, c81); }
            if (R.N > 9) { s = new Vector<T>(Unsafe.Add(ref gk, 9)); c90 = Fma(s, x0, c90); if (V.N > 1) c91 = Fma(s, x1, c91); }
        }
        Store(ref c, 0, c00); if (V.N > 1) Store(ref c, l, c01);
        if (R.N > 1) { Store(ref c, ldc, c10); if (V.N > 1) Store(ref c, ldc + l, c11); }
        if (R.N > 2) { Store(ref c, 2 * ldc, c20); if (V.N > 1) Store(ref c, 2 * ldc + l, c21); }
        if (R.N > 3) { Store(ref c, 3 * ldc, c30); if (V.N > 1) Store(ref c, 3 * ldc + l, c31); }
        if (R.N > 4) { Store(ref c, 4 * ldc, c40); if (V.N > 1) Store(ref c, 4 * ldc + l, c41); }
        if (R.N > 5) { Store(ref c, 5 * ldc, c50); if (V.N > 1) Store(ref c, 5 * ldc + l, c51); }
        if (R.N > 6) { Store(ref c, 6 * ldc, c60); if (V.N > 1) Store(ref c, 6 * ldc + l, c61); }
        if (R.N > 7) { Store(ref c, 7 * ldc, c70); if (V.N > 1) Store(ref c, 7 * ldc + l, c71); }
        if (R.N > 8) { Store(ref c, 8 * ldc, c80); if (V.N > 1) Store(ref c, 8 * ldc + l, c81); }
        if (R.N > 9) { Store(ref c, 9 * ldc, c90); if (V.N > 1) Store(ref c, 9 * ldc + l, c91); }
    }

    /// <summary><see cref="Combine"/> over <typeparamref name="V"/> vectors of <paramref name="dest"/> (4 or 8), each in its own accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CombineBlock<T, V>(Span<T> dest, ref T coef, int coefStride, ref T rows, int width, int count, bool start, ref T from)
        where T : unmanaged, IFloatingPointIeee754<T> where V : struct, ICount
    {
        int lanes = Vector<T>.Count;
        var d = MemoryMarshal.Cast<T, Vector<T>>(dest);
        Vector<T> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        if (start)
        {
            a0 = Load(ref from, 0); a1 = Load(ref from, lanes); a2 = Load(ref from, 2 * lanes); a3 = Load(ref from, 3 * lanes);
            if (V.N > 4) { a4 = Load(ref from, 4 * lanes); a5 = Load(ref from, 5 * lanes); a6 = Load(ref from, 6 * lanes); a7 = Load(ref from, 7 * lanes); }
        }
        ref T coefK = ref coef;
        ref T row = ref rows;
        for (int k = 0; k < count; k++, coefK = ref Unsafe.Add(ref coefK, (nint)coefStride), row = ref Unsafe.Add(ref row, (nint)width))
        {
            var c = new Vector<T>(coefK);
            a0 = Fma(c, Load(ref row, 0), a0);
            a1 = Fma(c, Load(ref row, lanes), a1);
            a2 = Fma(c, Load(ref row, 2 * lanes), a2);
            a3 = Fma(c, Load(ref row, 3 * lanes), a3);
            if (V.N > 4)
            {
                a4 = Fma(c, Load(ref row, 4 * lanes), a4);
                a5 = Fma(c, Load(ref row, 5 * lanes), a5);
                a6 = Fma(c, Load(ref row, 6 * lanes), a6);
                a7 = Fma(c, Load(ref row, 7 * lanes), a7);
            }
        }
        d[0] = a0; d[1] = a1; d[2] = a2; d[3] = a3;
        if (V.N > 4) { d[4] = a4; d[5] = a5; d[6] = a6; d[7] = a7; }
    }

    /// <summary>A count fixed at compile time, for kernels specialized by tile shape.</summary>
    private interface ICount { static abstract int N { get; } }
    private struct One : ICount { public static int N => 1; }
    private struct Two : ICount { public static int N => 2; }
    private struct Three : ICount { public static int N => 3; }
    private struct Four : ICount { public static int N => 4; }
    private struct Five : ICount { public static int N => 5; }
    private struct Six : ICount { public static int N => 6; }
    private struct Seven : ICount { public static int N => 7; }
    private struct Eight : ICount { public static int N => 8; }
    private struct Nine : ICount { public static int N => 9; }
    private struct Ten : ICount { public static int N => 10; }

    /// <summary>
    /// <c>dest[j] (+)= sum_k coef[k * coefStride] * rows[k * width + j]</c> for <c>j &lt; dest.Length</c>,
    /// <c>k &lt; count</c>: a weighted sum of <paramref name="count"/> rows (<paramref name="width"/> apart), accumulated in registers.
    /// Without <paramref name="accumulate"/>, the sum starts from <paramref name="bias"/> when it is given (as long as
    /// <paramref name="dest"/>), else from zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Combine<T>(Span<T> dest, ReadOnlySpan<T> coef, int coefStride, ReadOnlySpan<T> rows, int width, int count, bool accumulate,
        ReadOnlySpan<T> bias = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector<T>.Count, j = 0;
        if (!accumulate && !bias.IsEmpty && bias.Length < dest.Length) throw new ArgumentException($"Combine: a bias of {bias.Length} for {dest.Length} entries.");
        ReadOnlySpan<T> from = accumulate ? dest : bias;
        bool start = !from.IsEmpty;
        ref T f0 = ref MemoryMarshal.GetReference(from);
        ref T r0 = ref MemoryMarshal.GetReference(rows);
        ref T c0 = ref MemoryMarshal.GetReference(coef);
        // Blocks of eight vectors, then four where eight do not fit (64 columns of 512-bit vectors): a lone
        // accumulator would wait on each FMA's latency.
        for (; j + 8 * lanes <= dest.Length; j += 8 * lanes) CombineBlock<T, Eight>(dest.Slice(j, 8 * lanes), ref c0, coefStride, ref Unsafe.Add(ref r0, j), width, count, start, ref Unsafe.Add(ref f0, j));
        for (; j + 4 * lanes <= dest.Length; j += 4 * lanes) CombineBlock<T, Four>(dest.Slice(j, 4 * lanes), ref c0, coefStride, ref Unsafe.Add(ref r0, j), width, count, start, ref Unsafe.Add(ref f0, j));
        for (; j + lanes <= dest.Length; j += lanes)
        {
            ref Vector<T> d = ref Unsafe.As<T, Vector<T>>(ref dest[j]);
            Vector<T> a = start ? Load(ref f0, j) : default;
            for (int k = 0; k < count; k++) a = Fma(new Vector<T>(Unsafe.Add(ref c0, k * coefStride)), Load(ref Unsafe.Add(ref r0, k * width + j), 0), a);
            d = a;
        }
        for (; j < dest.Length; j++)
        {
            T a = start ? Unsafe.Add(ref f0, j) : T.Zero;
            for (int k = 0; k < count; k++) a = T.FusedMultiplyAdd(Unsafe.Add(ref c0, k * coefStride), Unsafe.Add(ref r0, k * width + j), a);
            dest[j] = a;
        }
    }

    /// <summary>
    /// <c>to[j, i] = from[i, j]</c> for a <paramref name="rows"/> x <paramref name="columns"/> matrix whose rows lie
    /// <paramref name="ldFrom"/> apart (<paramref name="columns"/> when 0), written with rows <paramref name="ldTo"/>
    /// apart (<paramref name="rows"/> when 0).
    /// </summary>
    public static void Transpose<T>(ReadOnlySpan<T> from, Span<T> to, int rows, int columns, int ldFrom = 0, int ldTo = 0) where T : unmanaged
    {
        if (rows <= 0 || columns <= 0) return;
        if (ldFrom == 0) ldFrom = columns;
        if (ldTo == 0) ldTo = rows;
        if (ldFrom < columns || ldTo < rows || from.Length < (rows - 1) * ldFrom + columns || to.Length < (columns - 1) * ldTo + rows)
            throw new ArgumentException($"Transpose: spans too short for a {rows} x {columns} matrix with rows {ldFrom} apart into rows {ldTo} apart.");
        ref T f = ref MemoryMarshal.GetReference(from);
        ref T t = ref MemoryMarshal.GetReference(to);
        // Blocks of 8 x 8: in registers for float with AVX, otherwise element by element within the block. They go in
        // fours, 16 x 16, so that a group reads the 16 floats of a source row and writes the 16 of a destination row
        // together (whole cache lines where rows start on a line): one 8 x 8 block after another along a row of blocks
        // had written half of each line of the destination and come back for the other half only after sweeping all of
        // it (a 128 x 3,136 transpose, whose destination outgrows the L2 cache: 151 us, 21 GB/s, now 53-55 us).
        bool shuffled = typeof(T) == typeof(float) && Avx.IsSupported;
        for (int i0 = 0; i0 < rows; i0 += 16)
            for (int j0 = 0; j0 < columns; j0 += 16)
                for (int j1 = j0; j1 < Math.Min(j0 + 16, columns); j1 += 8)
                    for (int i1 = i0; i1 < Math.Min(i0 + 16, rows); i1 += 8)
                    {
                        int i2 = Math.Min(i1 + 8, rows), j2 = Math.Min(j1 + 8, columns);
                        if (shuffled && i2 - i1 == 8 && j2 - j1 == 8)
                        {
                            Transpose8x8(ref Unsafe.As<T, float>(ref Unsafe.Add(ref f, i1 * ldFrom + j1)), ldFrom,
                                         ref Unsafe.As<T, float>(ref Unsafe.Add(ref t, j1 * ldTo + i1)), ldTo);
                            continue;
                        }
                        for (int j = j1; j < j2; j++)
                            for (int i = i1; i < i2; i++) Unsafe.Add(ref t, j * ldTo + i) = Unsafe.Add(ref f, i * ldFrom + j);
                    }
    }

    /// <summary>One 8 x 8 block transposed in AVX registers: interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float from, nint ldf, ref float to, nint ldt)
    {
        var r0 = Vector256.LoadUnsafe(ref from); var r1 = Vector256.LoadUnsafe(ref from, (nuint)ldf);
        var r2 = Vector256.LoadUnsafe(ref from, (nuint)(2 * ldf)); var r3 = Vector256.LoadUnsafe(ref from, (nuint)(3 * ldf));
        var r4 = Vector256.LoadUnsafe(ref from, (nuint)(4 * ldf)); var r5 = Vector256.LoadUnsafe(ref from, (nuint)(5 * ldf));
        var r6 = Vector256.LoadUnsafe(ref from, (nuint)(6 * ldf)); var r7 = Vector256.LoadUnsafe(ref from, (nuint)(7 * ldf));
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref to);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref to, (nuint)ldt);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref to, (nuint)(2 * ldt));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref to, (nuint)(3 * ldt));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref to, (nuint)(4 * ldt));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref to, (nuint)(5 * ldt));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref to, (nuint)(6 * ldt));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref to, (nuint)(7 * ldt));
    }

    /// <summary><c>y += x</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add<T>(Span<T> y, ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        var vy = MemoryMarshal.Cast<T, Vector<T>>(y);
        var vx = MemoryMarshal.Cast<T, Vector<T>>(x[..y.Length]);
        for (int k = 0; k < vy.Length; k++) vy[k] += vx[k];
        i = vy.Length * Vector<T>.Count;
        for (; i < y.Length; i++) y[i] += x[i];
    }

    /// <summary><c>sum = a + b</c> over the length of <paramref name="sum"/>: one pass where a copy and a <c>y += x</c> take two.</summary>
    public static void Add<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> sum) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Length < sum.Length || b.Length < sum.Length)
            throw new ArgumentException($"Add: {sum.Length} sums need as many terms, got {a.Length} and {b.Length}.");
        int i = 0, whole = sum.Length - sum.Length % Vector<T>.Count;
        ref T pa = ref MemoryMarshal.GetReference(a);
        ref T pb = ref MemoryMarshal.GetReference(b);
        ref T ps = ref MemoryMarshal.GetReference(sum);
        for (; i < whole; i += Vector<T>.Count) Store(ref ps, i, Load(ref pa, i) + Load(ref pb, i));
        for (; i < sum.Length; i++) Unsafe.Add(ref ps, i) = Unsafe.Add(ref pa, i) + Unsafe.Add(ref pb, i);
    }

    /// <summary>
    /// <c>y = x + s</c>, element by element. When <paramref name="x"/> and <paramref name="y"/> do not overlap and are at
    /// least a vector long, the part past the last whole vector is one more vector ending at the end, which writes some
    /// sums a second time (the same values) instead of leaving them to a scalar loop (a convolution's 28-wide output
    /// rows at 16 lanes had spent most of the copy there).
    /// </summary>
    public static void AddScalar<T>(ReadOnlySpan<T> x, T s, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Length < x.Length) throw new ArgumentException($"AddScalar: {x.Length} inputs need as many outputs, got {y.Length}.");
        int i = 0, n = x.Length, lanes = Vector<T>.Count, whole = n - n % lanes;
        var v = new Vector<T>(s);
        ref T src = ref MemoryMarshal.GetReference(x);
        ref T dst = ref MemoryMarshal.GetReference(y);
        for (; i < whole; i += lanes) Store(ref dst, i, Load(ref src, i) + v);
        if (i == n) return;
        if (n >= lanes && !x.Overlaps(y[..n]))
        {
            Store(ref dst, n - lanes, Load(ref src, n - lanes) + v);
            return;
        }
        for (; i < n; i++) Unsafe.Add(ref dst, i) = Unsafe.Add(ref src, i) + s;
    }

    /// <summary>The sum of <paramref name="x"/>, in four vector accumulators.</summary>
    public static T Sum<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int l = Vector<T>.Count, i = 0;
        ref T p = ref MemoryMarshal.GetReference(x);
        Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
        for (; i + 4 * l <= x.Length; i += 4 * l)
        {
            s0 += Load(ref p, i);
            s1 += Load(ref p, i + l);
            s2 += Load(ref p, i + 2 * l);
            s3 += Load(ref p, i + 3 * l);
        }
        for (; i + l <= x.Length; i += l) s0 += Load(ref p, i);
        T sum = Vector.Sum(s0 + s1 + (s2 + s3));
        for (; i < x.Length; i++) sum += Unsafe.Add(ref p, i);
        return sum;
    }

    /// <summary>
    /// Copies <paramref name="count"/> elements from <paramref name="from"/> to <paramref name="to"/> (which must not
    /// overlap), without bounds tests: in whole vectors, the last one ending where the row ends and overlapping the one
    /// before, so a short row (an image row of 28 floats) is two or four moves rather than a call to a general copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void CopyRow<T>(ref T from, ref T to, int count) where T : unmanaged
    {
        int l = Vector<T>.Count;
        if (count < l)
        {
            for (int i = 0; i < count; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
            return;
        }
        for (int i = 0; i < count - l; i += l) Store(ref to, i, Load(ref from, i));
        Store(ref to, count - l, Load(ref from, count - l));
    }

    /// <summary>The vector at <paramref name="offset"/> elements from <paramref name="at"/>, without alignment or bounds tests.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<T> Load<T>(ref T at, nint offset) where T : unmanaged => Unsafe.ReadUnaligned<Vector<T>>(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref at, offset)));

    /// <summary>Writes <paramref name="v"/> at <paramref name="offset"/> elements from <paramref name="at"/>, without alignment or bounds tests.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store<T>(ref T at, nint offset, Vector<T> v) where T : unmanaged => Unsafe.WriteUnaligned(ref Unsafe.As<T, byte>(ref Unsafe.Add(ref at, offset)), v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Fma<T>(Vector<T> a, Vector<T> b, Vector<T> c) where T : unmanaged, IFloatingPointIeee754<T> => Lanes.Fma(a, b, c);
}
