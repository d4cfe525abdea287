namespace Descent.Optim;

/// <summary>
/// The tensor operations of the optimizers that precondition each dimension of a parameter with its own matrix
/// (Shampoo's Kronecker factors, SOAP's eigenbases), on a tensor of shape <c>dims</c> stored row-major in float64.
/// Dimension <c>k</c> splits an index into (outer, i_k, inner): element <c>(o, a, i)</c> sits at
/// <c>(o * dims[k] + a) * inner + i</c>.
/// </summary>
internal static class Kronecker
{
    /// <summary>
    /// The Gram matrix of dimension <paramref name="k"/>: <c>gram[a, b] = sum x[.., a, ..] x[.., b, ..]</c> over every
    /// other index (<c>torch.tensordot(x, x, dims=[all but k] * 2)</c>; <c>G G^T</c> and <c>G^T G</c> for a matrix).
    /// </summary>
    public static void Gram(ReadOnlySpan<double> x, ReadOnlySpan<int> dims, int k, Span<double> gram)
    {
        var (outer, d, inner) = Split(dims, k);
        for (int a = 0; a < d; a++)
            for (int b = a; b < d; b++)
            {
                double sum = 0;
                for (int o = 0; o < outer; o++)
                {
                    int ra = (o * d + a) * inner, rb = (o * d + b) * inner;
                    for (int i = 0; i < inner; i++) sum += x[ra + i] * x[rb + i];
                }
                gram[a * d + b] = gram[b * d + a] = sum;
            }
    }

    /// <summary>
    /// The mode-<paramref name="k"/> product: <c>y[.., a, ..] = sum_b M[a, b] x[.., b, ..]</c>, or with
    /// <paramref name="transpose"/> <c>sum_b M[b, a] x[.., b, ..]</c> (PyTorch's <c>tensordot(x, M, dims=[[k], [0]])</c>
    /// with the new index put back in place).
    /// </summary>
    public static void ModeProduct(ReadOnlySpan<double> x, Span<double> y, ReadOnlySpan<int> dims, int k, ReadOnlySpan<double> m, bool transpose)
    {
        var (outer, d, inner) = Split(dims, k);
        for (int o = 0; o < outer; o++)
            for (int a = 0; a < d; a++)
                for (int i = 0; i < inner; i++)
                {
                    double sum = 0;
                    for (int b = 0; b < d; b++) sum += (transpose ? m[b * d + a] : m[a * d + b]) * x[(o * d + b) * inner + i];
                    y[(o * d + a) * inner + i] = sum;
                }
    }

    /// <summary>
    /// Applies <c>M_k</c> (or its transpose) along every dimension <c>k</c> that has a matrix, in order, from
    /// <paramref name="x"/> into <paramref name="y"/>; <paramref name="scratch"/> holds the intermediate results.
    /// </summary>
    public static void Apply(ReadOnlySpan<double> x, Span<double> y, Span<double> scratch, ReadOnlySpan<int> dims, double[]?[] matrices, bool transpose)
    {
        x.CopyTo(y);
        for (int k = 0; k < dims.Length; k++)
        {
            if (matrices[k] is not { } m) continue;
            y.CopyTo(scratch);
            ModeProduct(scratch, y, dims, k, m, transpose);
        }
    }

    /// <summary>Number of elements of a tensor of shape <paramref name="dims"/>.</summary>
    public static int Count(ReadOnlySpan<int> dims)
    {
        int n = 1;
        foreach (int d in dims) n *= d;
        return n;
    }

    private static (int Outer, int Dim, int Inner) Split(ReadOnlySpan<int> dims, int k) =>
        (Count(dims[..k]), dims[k], Count(dims[(k + 1)..]));

    /// <summary>
    /// Scratch for decomposing one d x d matrix (a copy to destroy, a second matrix, and 2d values), grown to the largest
    /// dimension asked for, so each size is allocated once.
    /// </summary>
    internal sealed class Scratch
    {
        private double[] _a = [], _b = [], _values = [];

        /// <summary>The buffers for a <paramref name="d"/> x <paramref name="d"/> matrix.</summary>
        public (double[] A, double[] B, double[] Values) For(int d)
        {
            if (_a.Length < d * d) (_a, _b) = (new double[d * d], new double[d * d]);
            if (_values.Length < 2 * d) _values = new double[2 * d];
            return (_a, _b, _values);
        }
    }
}
