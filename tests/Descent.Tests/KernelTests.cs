using System.Numerics;
using Descent.Nn;
using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

/// <summary>The matrix kernels against naive triple loops, on sizes that are not multiples of the vector width.</summary>
public class KernelTests
{
    public static IEnumerable<object[]> Shapes =>
        from batch in new[] { 1, 7, 63, 65, 500 }
        from shape in new[] { (n: 2, m: 64), (n: 64, m: 64), (n: 13, m: 37), (n: 784, m: 10), (n: 65, m: 3), (n: 9, m: 130) }
        select new object[] { batch, shape.n, shape.m };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Linear_forward_and_backward_match_naive_loops(int batch, int n, int m)
    {
        var rng = new Rng((ulong)(batch * 1000 + n * 10 + m));
        double[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => rng.NextNormal())];
        double[] x = R(batch * n), w = R(m * n), bias = R(m), dy = R(batch * m), dw0 = R(m * n), db0 = R(m);

        var y = new double[batch * m];
        Kernels.LinearForward<double>(x, w, bias, y, batch, n, m, new double[n * m]);
        var dw = (double[])dw0.Clone();
        var db = (double[])db0.Clone();
        var dx = new double[batch * n];
        Kernels.LinearBackward<double>(x, w, dy, dw, db, dx, batch, n, m, new double[n * m]);

        for (int b = 0; b < batch; b++)
            for (int o = 0; o < m; o++)
            {
                double s = bias[o];
                for (int i = 0; i < n; i++) s += x[b * n + i] * w[o * n + i];
                Assert.Equal(s, y[b * m + o], 1e-10 * (1 + Math.Abs(s)));
            }
        for (int o = 0; o < m; o++)
        {
            double sb = db0[o];
            for (int b = 0; b < batch; b++) sb += dy[b * m + o];
            Assert.Equal(sb, db[o], 1e-10 * (1 + Math.Abs(sb)));
            for (int i = 0; i < n; i++)
            {
                double s = dw0[o * n + i];
                for (int b = 0; b < batch; b++) s += dy[b * m + o] * x[b * n + i];
                Assert.Equal(s, dw[o * n + i], 1e-10 * (1 + Math.Abs(s)));
            }
        }
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int o = 0; o < m; o++) s += dy[b * m + o] * w[o * n + i];
                Assert.Equal(s, dx[b * n + i], 1e-10 * (1 + Math.Abs(s)));
            }
    }

    /// <summary>
    /// A wide layer's forward pass transposes its weights a panel of the reduction at a time, each just before its product:
    /// the same numbers, bit for bit, as the product with the whole transposed weights at once.
    /// </summary>
    [Theory]
    [InlineData(64, 3136, 128)]   // the exercise CNN's first dense layer: panels of 512 inputs, the last of 64
    [InlineData(9, 1100, 48)]     // one panel of 1,365 inputs in float, two of 682 in double (the last short); 48 outputs not whole tiles at 512 bits
    public void A_wide_layers_forward_pass_is_the_product_with_its_whole_transposed_weights(int batch, int n, int m)
    {
        Check<float>();
        Check<double>();

        void Check<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Rng((ulong)(batch + n + m));
            T[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => T.CreateTruncating(rng.NextNormal()))];
            T[] x = R(batch * n), w = R(m * n), bias = R(m);
            var (y, expected, wt) = (new T[batch * m], new T[batch * m], new T[n * m]);
            Kernels.LinearForward<T>(x, w, bias, y, batch, n, m, new T[n * m]);
            Kernels.Transpose<T>(w, wt, m, n);
            Kernels.Gemm<T>(expected, x, n, 1, wt, batch, m, n, accumulate: false, bias: bias);
            for (int i = 0; i < y.Length; i++) Assert.True(expected[i] == y[i], $"{typeof(T).Name} entry {i} (row {i / m}, column {i % m}): {y[i]} against {expected[i]}");
        }
    }

    [Theory]
    [InlineData(9, 7, 16)]    // a group of eight sums and one alone, one or two vectors wide
    [InlineData(3, 50, 32)]   // sums one at a time, several vectors wide
    public void Sums_of_chosen_rows_are_each_one_chain_over_their_terms_added_to_the_sums(int count, int terms, int width)
    {
        Check<float>();
        Check<double>();

        void Check<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Rng((ulong)(count * terms + width));
            int rowCount = 11;
            T[] R(int n) => [.. Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextNormal()))];
            T[] weights = R(count * terms), rows = R(rowCount * width), sums = R(count * width);
            int[] chosen = [.. Enumerable.Range(0, count * terms).Select(_ => (int)(rng.NextUInt64() % (ulong)rowCount))];
            var expected = (T[])sums.Clone();
            for (int i = 0; i < count; i++)
                for (int j = 0; j < width; j++)
                {
                    T chain = T.Zero;
                    for (int t = 0; t < terms; t++) chain = T.FusedMultiplyAdd(weights[i * terms + t], rows[chosen[i * terms + t] * width + j], chain);
                    expected[i * width + j] += chain;
                }
            Kernels.AddChosenRows<T>(sums, weights, chosen, rows, count, terms, width);
            Assert.Equal(expected, sums);
        }
    }

    [Fact]
    public void All_finite_finds_an_infinity_or_a_nan_anywhere()
    {
        foreach (int length in new[] { 1, 7, 16, 33, 100 })
            for (int at = 0; at < length; at++)
                foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                {
                    var x = Enumerable.Range(0, length).Select(i => i * 1e36f - 3e37f).ToArray();
                    Assert.True(Kernels.AllFinite<float>(x));
                    x[at] = bad;
                    Assert.False(Kernels.AllFinite<float>(x), $"{bad} at {at} of {length}");
                    Assert.False(Kernels.AllFinite<double>([.. x.Select(v => (double)v)]));
                }
    }

    /// <summary>
    /// The weight gradient is one chain of fused multiply-adds per entry over the batch in order, starting from dW or 0,
    /// whether it is taken as <c>dY^T X</c> or, where there are more outputs than inputs, as <c>X^T dY</c> transposed.
    /// </summary>
    [Theory]
    [InlineData(260, 128, 384)]   // more outputs: X^T packed (a reduction of 256 or more)
    [InlineData(300, 20, 60)]     // more outputs, X^T read in place (too few columns to pack it at either width)
    [InlineData(9, 2, 64)]        // a 2-D classifier's first layer
    [InlineData(70, 64, 64)]      // as many outputs as inputs: dY^T X
    [InlineData(65, 784, 10)]     // fewer outputs: dY^T X
    public void The_weight_gradient_is_a_chain_of_fused_multiply_adds_from_where_it_was(int batch, int n, int m)
    {
        var rng = new Rng((ulong)(batch * 1000 + n * 10 + m));
        float[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)rng.NextNormal())];
        float[] x = R(batch * n), w = R(m * n), dy = R(batch * m), dw0 = R(m * n);
        foreach (bool accumulate in new[] { false, true })
        {
            var dw = (float[])dw0.Clone();
            var scratch = R(n * m);   // whatever the forward pass left there
            Kernels.LinearBackward<float>(x, w, dy, dw, new float[m], [], batch, n, m, scratch, accumulate);
            for (int o = 0; o < m; o++)
                for (int j = 0; j < n; j++)
                {
                    float s = accumulate ? dw0[o * n + j] : 0;
                    for (int b = 0; b < batch; b++) s = MathF.FusedMultiplyAdd(dy[b * m + o], x[b * n + j], s);
                    if (s != dw[o * n + j]) Assert.Fail($"dW[{o}, {j}] = {dw[o * n + j]:R}, the chain gives {s:R} (accumulate: {accumulate})");
                }
        }
    }

    [Theory]
    [InlineData(7, 65)]
    [InlineData(64, 64)]
    [InlineData(1, 13)]
    public void The_float_kernels_agree_with_the_double_ones(int batch, int n)
    {
        var rng = new Rng(5);
        int m = 37;
        double[] xd = [.. Enumerable.Range(0, batch * n).Select(_ => rng.NextNormal())];
        double[] wd = [.. Enumerable.Range(0, m * n).Select(_ => rng.NextNormal())];
        double[] bd = new double[m];
        var yd = new double[batch * m];
        var yf = new float[batch * m];
        Kernels.LinearForward<double>(xd, wd, bd, yd, batch, n, m, new double[n * m]);
        Kernels.LinearForward<float>([.. xd.Select(v => (float)v)], [.. wd.Select(v => (float)v)], new float[m], yf, batch, n, m, new float[n * m]);
        for (int i = 0; i < yd.Length; i++) Assert.Equal(yd[i], yf[i], 1e-4 * (1 + Math.Abs(yd[i])));
    }

    public static IEnumerable<object[]> ProductShapes =>
        from rows in new[] { 1, 5, 6, 7, 8, 13, 14, 63, 65 }
        from columns in new[] { 1, 3, 8, 10, 14, 15, 17, 33, 64 }
        from depth in new[] { 1, 2, 9, 64 }
        select new object[] { rows, columns, depth };

    /// <summary>
    /// Shapes whose A does not fit <see cref="Kernels.Gemm"/>'s cache budget, so it goes over row blocks (the first) and
    /// over row blocks within several panels of the reduction (the second); wide ones whose A fits, in one pass; and
    /// long reductions over wide products, for which an A stored transposed is first packed (the last two).
    /// </summary>
    public static IEnumerable<object[]> PanelShapes =>
        [[600, 40, 200], [350, 100, 800], [13, 3000, 40], [10, 784, 200], [2, 2000, 70], [70, 130, 300], [40, 300, 1500]];

    /// <summary>Batch-sized products: 500 rows, or a reduction over 500 examples as in a weight gradient.</summary>
    public static IEnumerable<object[]> BatchShapes => [[500, 65, 64], [500, 17, 63], [500, 2, 7], [63, 65, 500], [7, 10, 500]];

    [Theory]
    [InlineData(7, 17, 9)]
    [InlineData(13, 64, 33)]
    [InlineData(6, 32, 64)]
    [InlineData(2, 5, 3)]
    [InlineData(14, 20, 33)]   // the columns past the last strip through the padded tile, copied back between C's outside columns
    public void Gemm_reads_B_and_writes_C_as_blocks_of_wider_matrices(int rows, int columns, int depth)
    {
        // B and C inside matrices 3 and 5 columns wider: the same products as contiguous ones, and the columns outside untouched.
        var rng = new Rng((ulong)(rows * 10_000 + columns * 100 + depth));
        double[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => rng.NextNormal())];
        int ldb = columns + 3, ldc = columns + 5;
        double[] a = R(rows * depth), b = R(depth * columns), c0 = R(rows * columns), wideB = R(depth * ldb), wideC = R(rows * ldc);
        for (int p = 0; p < depth; p++) b.AsSpan(p * columns, columns).CopyTo(wideB.AsSpan(p * ldb));
        for (int i = 0; i < rows; i++) c0.AsSpan(i * columns, columns).CopyTo(wideC.AsSpan(i * ldc));
        var outside = (double[])wideC.Clone();
        var c = (double[])c0.Clone();
        Kernels.Gemm<double>(c, a, depth, 1, b, rows, columns, depth, accumulate: true);
        Kernels.Gemm<double>(wideC, a, depth, 1, wideB, rows, columns, depth, accumulate: true, ldb, ldc);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < ldc; j++)
                Assert.Equal(j < columns ? c[i * columns + j] : outside[i * ldc + j], wideC[i * ldc + j]);
    }

    /// <summary>
    /// Every entry of C is one chain of fused multiply-adds in the order of the reduction, whichever way the kernel reads
    /// B: in place (few rows; shallow strips at other strides), or with its column strips copied first and cut into
    /// pieces along the reduction (deep strips; rows a multiple of 512 bytes apart), with the columns and rows left beside the
    /// tiles. So the results are the same to the last bit as a loop of <see cref="MathF.FusedMultiplyAdd"/>, from zero,
    /// from C, or from a bias row.
    /// </summary>
    [Theory]
    [InlineData(101, 512, 300)]   // strips 2 KB apart, deeper than a piece; five rows after the tiles
    [InlineData(127, 67, 400)]    // deep strips, columns beside the strips, one row after the tiles
    [InlineData(200, 512, 9)]     // strips 2 KB apart, shallow
    [InlineData(120, 128, 100)]   // strips 512 bytes apart, shallow: copied
    [InlineData(97, 384, 64)]     // strips 1,536 bytes apart, shallow: copied; one row after the tiles
    [InlineData(50, 512, 300)]    // too few rows to copy the strips
    [InlineData(120, 40, 30)]     // shallow strips at another stride: in place
    [InlineData(300, 128, 600)]   // deep strips copied once for several blocks of rows, then a shallower panel
    [InlineData(301, 130, 1100)]  // strips copied once in two panels (the second from B's row 504), a row after the tiles, columns beside the strips
    [InlineData(131, 140, 300)]   // A packed in the tiles' order, five rows after the tiles, narrow columns through the padded tile at both widths
    [InlineData(5, 140, 300)]     // A packed with no whole group of six rows
    [InlineData(20, 40, 700)]     // narrow columns through the padded tile in pieces along a long reduction (B read in place)
    [InlineData(32, 128, 700)]    // two rows past the last six: the last eight as two tiles of four (A row-major), or six and two one row at a time (A packed)
    [InlineData(32, 128, 100)]    // the same with A down its columns too shallow to pack: two tiles of four either way
    [InlineData(14, 40, 30)]      // eight rows past the first six as two tiles of four, where a narrow matrix (256 and 512 bits) had a tile of two
    [InlineData(7, 40, 30)]       // seven rows: a tile of four and one of three
    public void Gemm_sums_each_entry_as_one_chain_of_fused_multiply_adds_in_order(int rows, int columns, int depth)
    {
        foreach (var (a, aRow, aColumn, b, c0, c, accumulate, bias) in Products(rows, columns, depth))
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                {
                    float s = accumulate ? c0[i * columns + j] : bias?[j] ?? 0;
                    for (int p = 0; p < depth; p++) s = MathF.FusedMultiplyAdd(a[i * aRow + p * aColumn], b[p * columns + j], s);
                    if (s != c[i * columns + j])
                        Assert.Fail($"C[{i}, {j}] = {c[i * columns + j]:R}, the chain gives {s:R} (A's row stride {aRow}, accumulate: {accumulate}, bias: {bias is not null})");
                }
    }

    /// <summary>
    /// In double, an A stored down its columns, long enough to be packed in the tiles' order (six entries of a step side
    /// by side, moved as two overlapping 32-byte vectors) or read in place, still gives every entry of C as one chain of fused
    /// multiply-adds in order, from zero, from C and from a bias row, with the rows past the last whole tile and the columns
    /// past the last whole strip.
    /// </summary>
    [Theory]
    [InlineData(131, 100, 300)]   // two blocks of rows (108 and 23), the narrow columns through the padded tile
    [InlineData(64, 70, 260)]     // one block
    [InlineData(32, 70, 100)]     // too shallow to pack: the last eight rows read in place as two tiles of four
    [InlineData(19, 70, 100)]     // and the last seven as a tile of four and one of three
    public void Gemm_in_double_sums_a_transposed_A_in_the_same_chains(int rows, int columns, int depth)
    {
        var rng = new Rng(7);
        double[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => rng.NextNormal())];
        double[] a = R(rows * depth), b = R(depth * columns), c0 = R(rows * columns);
        double[] row = R(columns);
        foreach (var (accumulate, bias) in new[] { (false, (double[]?)null), (true, null), (false, row) })
        {
            var c = (double[])c0.Clone();
            Kernels.Gemm<double>(c, a, 1, rows, b, rows, columns, depth, accumulate, bias: bias);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                {
                    double sum = accumulate ? c0[i * columns + j] : bias?[j] ?? 0;
                    for (int p = 0; p < depth; p++) sum = Math.FusedMultiplyAdd(a[p * rows + i], b[p * columns + j], sum);
                    if (sum != c[i * columns + j])
                        Assert.Fail($"C[{i}, {j}] = {c[i * columns + j]:R}, the chain gives {sum:R} (accumulate: {accumulate}, bias: {bias is not null})");
                }
        }
    }

    /// <summary>
    /// Random A, B and C of a <paramref name="rows"/> x <paramref name="columns"/> x <paramref name="depth"/> product, and
    /// C after <see cref="Kernels.Gemm"/>, for A stored row-major (strides depth, 1) or as the rows of its transpose
    /// (strides 1, rows), each accumulating into C, starting from zero, and starting from a bias row.
    /// </summary>
    private static IEnumerable<(float[] A, int ARow, int AColumn, float[] B, float[] Before, float[] After, bool Accumulate, float[]? Bias)> Products(int rows, int columns, int depth)
    {
        var rng = new Rng((ulong)(rows * 10_000 + columns * 100 + depth));
        float[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)rng.NextNormal())];
        float[] a = R(rows * depth), b = R(depth * columns), c0 = R(rows * columns), row = R(columns);
        foreach (bool transposed in new[] { false, true })
            foreach (var (accumulate, bias) in new[] { (false, (float[]?)null), (true, null), (false, row) })
            {
                int aRow = transposed ? 1 : depth, aColumn = transposed ? rows : 1;
                var c = (float[])c0.Clone();
                Kernels.Gemm<float>(c, a, aRow, aColumn, b, rows, columns, depth, accumulate, bias: bias);
                yield return (a, aRow, aColumn, b, c0, c, accumulate, bias);
            }
    }

    [Theory]
    [MemberData(nameof(ProductShapes))]
    [MemberData(nameof(PanelShapes))]
    [MemberData(nameof(BatchShapes))]
    public void Gemm_matches_a_triple_loop_with_A_stored_either_way(int rows, int columns, int depth)
    {
        foreach (var (a, aRow, aColumn, b, c0, c, accumulate, bias) in Products(rows, columns, depth))
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                {
                    double s = accumulate ? c0[i * columns + j] : bias?[j] ?? 0, magnitude = Math.Abs(s);
                    for (int p = 0; p < depth; p++)
                    {
                        double term = (double)a[i * aRow + p * aColumn] * b[p * columns + j];
                        s += term;
                        magnitude += Math.Abs(term);
                    }
                    // Float rounding grows with the sum of the terms' magnitudes, not with their (cancelling) sum.
                    Assert.Equal(s, c[i * columns + j], 1e-6 * (1 + magnitude));
                }
    }

    [Theory]
    [MemberData(nameof(ProductShapes))]
    [MemberData(nameof(BatchShapes))]
    [InlineData(3, 19, 40)]
    [InlineData(5, 16, 33)]
    [InlineData(2, 26, 17)]
    [InlineData(4, 9, 16)]
    [InlineData(1, 12, 17)]
    [InlineData(3, 13, 9)]
    public void GemmNT_matches_dot_products_of_rows(int rows, int columns, int depth)
    {
        var rng = new Rng((ulong)(rows * 10_000 + columns * 100 + depth + 7));
        double[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => rng.NextNormal())];
        double[] a = R(rows * depth), b = R(columns * depth), c0 = R(rows * columns);
        foreach (bool accumulate in new[] { false, true })
        {
            var c = (double[])c0.Clone();
            Kernels.GemmNT<double>(c, a, b, rows, columns, depth, accumulate);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                {
                    double s = accumulate ? c0[i * columns + j] : 0;
                    for (int p = 0; p < depth; p++) s += a[i * depth + p] * b[j * depth + p];
                    Assert.Equal(s, c[i * columns + j], 1e-10 * (1 + Math.Abs(s)));
                }
        }
    }

    [Theory]
    [InlineData(32, 11, 784)]
    [InlineData(5, 11, 37)]
    [InlineData(3, 21, 17)]
    [InlineData(1, 2, 5)]
    [InlineData(4, 10, 16)]
    public void GemmNTLanes_summed_over_calls_equals_the_dot_products_summed_over_them(int rows, int columns, int depth)
    {
        // Small integers, so every partial sum is exact in float and the comparison can be exact whatever the order.
        var rng = new Rng((ulong)(rows * 10_000 + columns * 100 + depth));
        float[] R(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)Math.Round(4 * rng.NextNormal()))];
        int calls = 3, lanes = System.Numerics.Vector<float>.Count;
        var a = Enumerable.Range(0, calls).Select(_ => R(rows * depth)).ToArray();
        var b = Enumerable.Range(0, calls).Select(_ => R(columns * depth)).ToArray();
        var partial = R(rows * columns * lanes);
        var c = R(rows * columns);
        var c0 = (float[])c.Clone();
        for (int k = 0; k < calls; k++) Kernels.GemmNTLanes<float>(partial, a[k], b[k], rows, columns, depth, accumulate: k > 0);
        Kernels.SumLanes<float>(partial, c, accumulate: true);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
            {
                float s = c0[i * columns + j];
                for (int k = 0; k < calls; k++)
                    for (int p = 0; p < depth; p++) s += a[k][i * depth + p] * b[k][j * depth + p];
                Assert.Equal(s, c[i * columns + j]);
            }
        Assert.Throws<ArgumentException>(() => Kernels.GemmNTLanes<float>(new float[rows * columns * lanes - 1], a[0], b[0], rows, columns, depth, false));
    }

    [Theory]
    [InlineData(1, 10, 784)]
    [InlineData(2, 10, 37)]
    [InlineData(3, 13, 17)]
    [InlineData(7, 9, 16)]
    [InlineData(9, 10, 65)]
    [InlineData(12, 1, 5)]
    public void Gathering_dot_products_equal_a_copy_then_dot_products_to_the_bit(int rows, int columns, int depth)
    {
        // Rows drawn with repeats from a larger source: the result, and the copy the kernel leaves, are those of a copy first.
        var rng = new Rng((ulong)(rows * 10_000 + columns * 100 + depth));
        int sourceRows = 2 * rows + 5;
        int[] index = [.. Enumerable.Range(0, rows).Select(_ => rng.NextInt(sourceRows))];
        float[] source = [.. Enumerable.Range(0, sourceRows * depth).Select(_ => (float)rng.NextNormal())];
        float[] b = [.. Enumerable.Range(0, columns * depth).Select(_ => (float)rng.NextNormal())];
        float[] c0 = [.. Enumerable.Range(0, rows * columns).Select(_ => (float)rng.NextNormal())];
        var copied = new float[rows * depth];
        Kernels.Gather<float>(source, index, depth, copied);
        for (int i = 0; i < rows; i++)
            for (int p = 0; p < depth; p++) Assert.Equal(source[index[i] * depth + p], copied[i * depth + p]);
        foreach (bool accumulate in new[] { false, true })
        {
            var expected = (float[])c0.Clone();
            Kernels.GemmNT<float>(expected, copied, b, rows, columns, depth, accumulate);
            var copy = new float[rows * depth];
            var c = (float[])c0.Clone();
            Kernels.GemmNTRows<float>(c, source, index, copy, b, columns, depth, accumulate);
            Assert.Equal(copied, copy);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), c.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Gathering_rejects_rows_outside_the_source()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.GemmNTRows<float>(new float[20], new float[6], [0, 2], new float[6], new float[30], 10, 3, false));
        Assert.Contains("Row 2 is out of range: the source has 2 rows of 3", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.Gather<float>(new float[6], [-1], 3, new float[3]));
    }

    [Fact]
    public void Products_reject_spans_too_short_for_their_shapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Kernels.Gemm<float>(new float[6], new float[6], 3, 1, new float[5], 2, 3, 3, false));
        Assert.Contains("too short", ex.Message);
        Assert.Throws<ArgumentException>(() => Kernels.GemmNT<float>(new float[4], new float[6], new float[5], 2, 2, 3, false));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(21)]
    public void Vector_exponential_matches_the_scalar_one_within_a_few_ulps(int length)
    {
        float[] f = [.. Enumerable.Range(0, length).Select(i => -30f + 4.1f * i)];
        double[] d = [.. f.Select(v => (double)v)];
        var expected = d.Select(Math.Exp).ToArray();
        Lanes.ExpInPlace<float>(f);
        Lanes.ExpInPlace<double>(d);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(expected[i], f[i], 3e-7 * expected[i]);
            Assert.Equal(expected[i], d[i], 1e-15 * expected[i]);
        }
    }

    [Fact]
    public void Float_exponential_is_within_one_ulp_of_the_exact_value_from_subnormal_results_to_overflow()
    {
        // A million arguments from -104 (below the smallest subnormal result) to 89 (past the largest float), against
        // double's exponential, in units in the last place of the float nearest the exact value.
        int n = 1_000_000, lanes = Vector<float>.Count;
        float[] x = [.. Enumerable.Range(0, n).Select(i => -104f + 193f * i / (n - 1))];
        var y = new float[n];
        for (int i = 0; i + lanes <= n; i += lanes) Lanes.ExpFloat(new Vector<float>(x, i)).CopyTo(y, i);
        double worst = 0;
        for (int i = 0; i < n / lanes * lanes; i++)
        {
            double exact = Math.Exp(x[i]);
            float nearest = (float)exact;
            if (float.IsInfinity(nearest))
            {
                Assert.True(float.IsPositiveInfinity(y[i]) || y[i] == float.MaxValue, $"exp({x[i]}) = {y[i]}, past the largest float");
                continue;
            }
            double ulp = MathF.BitIncrement(nearest) - nearest;
            worst = Math.Max(worst, Math.Abs(y[i] - exact) / ulp);
        }
        Assert.True(worst <= 1, $"largest error {worst} ulp");
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, 1e-30f, 88.72f, 88.73f, -87.3f, -103.97f, -200f, 1f];
        var padded = new float[lanes * ((special.Length + lanes - 1) / lanes)];
        special.CopyTo(padded, 0);
        var result = new float[padded.Length];
        for (int i = 0; i < padded.Length; i += lanes) Lanes.ExpFloat(new Vector<float>(padded, i)).CopyTo(result, i);
        Assert.True(float.IsNaN(result[0]));
        Assert.Equal(float.PositiveInfinity, result[1]);
        Assert.Equal(0f, result[2]);
        Assert.Equal(1f, result[3]);
        Assert.Equal(1f, result[4]);
        Assert.Equal(1f, result[5]);
        Assert.True(float.IsFinite(result[6]) && result[6] > 3.3e38f, $"exp(88.72) = {result[6]}");
        Assert.Equal(float.PositiveInfinity, result[7]);
        Assert.Equal(Math.Exp(special[8]), result[8], 2e-45);
        Assert.True(result[9] > 0 && result[9] < 3e-45, $"exp(-103.97) = {result[9]}: the smallest subnormals");
        Assert.Equal(0f, result[10]);
        Assert.Equal(MathF.E, result[11], 3e-7);
    }

    [Fact]
    public void Float_gelu_gives_each_element_the_same_numbers_wherever_it_sits_in_the_span()
    {
        // Pairs of vectors, a whole vector left over, a part of one: each element computed alone is the reference.
        int l = System.Numerics.Vector<float>.Count;
        foreach (int n in new[] { 1, l - 1, l, l + 3, 2 * l, 3 * l, 3 * l + 5, 4 * l + 1 })
        {
            float[] x = [.. Enumerable.Range(0, n).Select(i => (i - n / 2f) * 0.37f)];
            var (y, cdf) = (new float[n], new float[n]);
            Activations.Forward(Activation.Gelu, x, y, cdf);
            for (int i = 0; i < n; i++)
            {
                var (one, oneCdf) = (new float[1], new float[1]);
                Activations.Forward(Activation.Gelu, x.AsSpan(i, 1), one, oneCdf);
                Assert.Equal(one[0], y[i]);
                Assert.Equal(oneCdf[0], cdf[i]);
            }
        }
    }

    [Fact]
    public void Float_gelu_and_its_gradient_match_the_double_ones_to_float_precision()
    {
        // Every 0.01 from -12 to 12 (2,401 values: whole vectors and a tail), the tails to below 1e-30.
        float[] x = [.. Enumerable.Range(-1200, 2401).Select(i => i / 100f)];
        float[] dy = [.. x.Select((_, i) => 1 + (i % 7) / 7f)];
        var y = new float[x.Length];
        var dx = new float[x.Length];
        Activations.Forward(Activation.Gelu, x, y);
        Activations.Backward(Activation.Gelu, x, y, dy, dx);
        double[] xd = [.. x.Select(v => (double)v)], yd = new double[x.Length], dxd = new double[x.Length];
        Activations.Forward(Activation.Gelu, xd, yd);
        Activations.Backward(Activation.Gelu, xd, yd, [.. dy.Select(v => (double)v)], dxd);
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i] < -6)
            {
                // There the double path's 1 + erf cancels to nothing; the float one keeps Phi's tail: 0 > gelu(x) > x phi(x) / |x|.
                double bound = Math.Exp(-0.5 * xd[i] * xd[i]) / Math.Sqrt(2 * Math.PI);
                Assert.True(y[i] <= 0 && y[i] >= -bound, $"gelu({x[i]}) = {y[i]:R}, outside (-{bound:R}, 0]");
                continue;
            }
            // Relative error of a few float roundings, of the exponent's argument -x^2/2 among them.
            double relative = 4e-7 * (4 + xd[i] * xd[i]);
            Assert.True(Math.Abs(y[i] - yd[i]) <= relative * Math.Abs(yd[i]) + 1e-37, $"gelu({x[i]}) = {y[i]:R}, exact {yd[i]:R}");
            // The gradient Phi + x phi cancels for x below about -1; there its error is relative to the terms.
            double scale = Math.Abs(dy[i]) * (Math.Abs(xd[i]) * Math.Exp(-0.5 * xd[i] * xd[i]) / Math.Sqrt(2 * Math.PI) + Math.Abs(dxd[i] / dy[i]));
            Assert.True(Math.Abs(dx[i] - dxd[i]) <= relative * scale + 1e-37, $"gelu'({x[i]}) dy = {dx[i]:R}, exact {dxd[i]:R}");
        }
    }

    [Fact]
    public void Float_gelu_gradient_from_the_kept_cdf_is_the_recomputed_one()
    {
        // 2,401 values: whole vectors and a tail at either width.
        float[] x = [.. Enumerable.Range(-1200, 2401).Select(i => i / 100f)];
        float[] dy = [.. x.Select((_, i) => 1 + (i % 7) / 7f)];
        float[] y = new float[x.Length], kept = new float[x.Length], cdf = new float[x.Length];
        float[] dx = new float[x.Length], dxKept = new float[x.Length];
        Activations.Forward(Activation.Gelu, x, y);
        Activations.Forward(Activation.Gelu, x, kept, cdf);
        Activations.Backward(Activation.Gelu, x, y, dy, dx);
        Activations.Backward(Activation.Gelu, x, y, dy, dxKept, cdf);
        Assert.Equal(y, kept);
        Assert.Equal(dx, dxKept);
    }

    [Theory]
    [InlineData(64, 64)]
    [InlineData(8, 16)]
    [InlineData(13, 37)]
    [InlineData(2, 64)]
    [InlineData(784, 10)]
    [InlineData(37, 29)]    // 16 x 16 groups of blocks cut off in both directions, whole 8 x 8 blocks among them
    [InlineData(24, 40)]
    public void Transpose_swaps_rows_and_columns_in_float_and_double(int rows, int columns)
    {
        float[] f = [.. Enumerable.Range(0, rows * columns).Select(i => (float)i)];
        var tf = new float[f.Length];
        Kernels.Transpose<float>(f, tf, rows, columns);
        double[] d = [.. f.Select(v => (double)v)];
        var td = new double[d.Length];
        Kernels.Transpose<double>(d, td, rows, columns);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
            {
                Assert.Equal(f[i * columns + j], tf[j * rows + i]);
                Assert.Equal(d[i * columns + j], td[j * rows + i]);
            }
    }

    /// <summary>
    /// <c>y = x + s</c> at every length around the vector widths, into another buffer (whose tail is one overlapping
    /// vector) and in place (where it must not be: an entry would get s twice).
    /// </summary>
    [Fact]
    public void AddScalar_adds_once_at_every_length_in_place_or_not()
    {
        for (int n = 0; n <= 40; n++)
        {
            float[] x = [.. Enumerable.Range(0, n).Select(i => i * 0.5f - 3)];
            var y = new float[n];
            Kernels.AddScalar<float>(x, 1.25f, y);
            var inPlace = (float[])x.Clone();
            Kernels.AddScalar<float>(inPlace, 1.25f, inPlace);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(x[i] + 1.25f, y[i]);
                Assert.Equal(x[i] + 1.25f, inPlace[i]);
            }
        }
    }

    /// <summary>
    /// The largest lane, for every lane holding the maximum, with NaN in any one lane (NaN wins, as in
    /// <see cref="Vector.Max{T}"/>), infinities, and signed zeros, in float and double.
    /// </summary>
    [Fact]
    public void MaxAcross_is_the_largest_lane_and_NaN_when_any_lane_is()
    {
        static void Check<T>(Func<int, T> value) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int l = Vector<T>.Count;
            for (int top = 0; top < l; top++)
            {
                var lanes = new T[l];
                for (int k = 0; k < l; k++) lanes[k] = k == top ? T.CreateTruncating(1e6) : value(k);
                Assert.Equal(T.CreateTruncating(1e6), Lanes.MaxAcross(new Vector<T>(lanes)));
                lanes[(top + 1) % l] = T.NaN;
                Assert.True(T.IsNaN(Lanes.MaxAcross(new Vector<T>(lanes))), $"lane {(top + 1) % l} NaN");
            }
            Assert.Equal(T.NegativeInfinity, Lanes.MaxAcross(new Vector<T>(T.NegativeInfinity)));
            var zeros = new T[l];
            for (int k = 0; k < l; k++) zeros[k] = T.NegativeZero;
            Assert.True(T.IsNegative(Lanes.MaxAcross(new Vector<T>(zeros))));
            zeros[l - 1] = T.Zero;
            Assert.False(T.IsNegative(Lanes.MaxAcross(new Vector<T>(zeros))));
        }
        Check(k => (float)(k % 3 - 1) * 0.5f * k);
        Check(k => (double)(k % 3 - 1) * 0.25 * k - 7);
    }
}
