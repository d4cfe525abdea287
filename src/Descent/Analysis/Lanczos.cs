using Descent.Numerics;

namespace Descent.Analysis;

/// <summary>A symmetric linear map given only by its products: writes <c>A v</c> into the second span.</summary>
public delegate void SymmetricOperator(ReadOnlySpan<double> v, Span<double> result);

/// <summary>
/// Spectral estimates of a large symmetric matrix known only through its products (a Hessian): the Lanczos
/// iteration for the extreme eigenvalues, Hutchinson's estimator for the trace, and stochastic Lanczos
/// quadrature for the eigenvalue density, as PyHessian reports them.
/// </summary>
public static class Lanczos
{
    /// <summary>
    /// Runs <paramref name="steps"/> Lanczos steps from <paramref name="start"/> (normalized here) with full
    /// reorthogonalization, and returns the Ritz values (eigenvalues of the tridiagonal matrix, largest first) and
    /// the squared first components of their eigenvectors, which are the weights of the Gauss quadrature for
    /// <c>u^T f(A) u</c> with <c>u</c> the normalized start. Stops early if the Krylov space is exhausted.
    /// </summary>
    public static (double[] Values, double[] Weights) Run(SymmetricOperator a, ReadOnlySpan<double> start, int steps)
    {
        int n = start.Length;
        if (steps < 1) throw new ArgumentException($"Lanczos needs at least one step (got {steps}).");
        steps = Math.Min(steps, n);
        var basis = new List<double[]>();
        var alpha = new List<double>();
        var beta = new List<double>();
        var q = start.ToArray();
        if (Normalize(q) == 0) throw new ArgumentException("The Lanczos start vector is zero.");
        var w = new double[n];
        for (int k = 0; k < steps; k++)
        {
            basis.Add(q);
            a(q, w);
            double ak = Dot(w, q);
            alpha.Add(ak);
            // Full reorthogonalization against every basis vector (twice is enough): keeps the Ritz values free of
            // the spurious copies plain three-term Lanczos produces in floating point.
            for (int pass = 0; pass < 2; pass++)
                foreach (var b in basis)
                {
                    double c = Dot(w, b);
                    for (int i = 0; i < n; i++) w[i] -= c * b[i];
                }
            double bk = Math.Sqrt(Dot(w, w));
            if (k == steps - 1 || bk <= 1e-12 * Math.Max(1, Math.Abs(ak))) break;
            beta.Add(bk);
            q = new double[n];
            for (int i = 0; i < n; i++) q[i] = w[i] / bk;
        }
        int m = alpha.Count;
        var t = new double[m, m];
        for (int i = 0; i < m; i++)
        {
            t[i, i] = alpha[i];
            if (i + 1 < m) t[i, i + 1] = t[i + 1, i] = beta[i];
        }
        var (values, vectors) = SymmetricEigen(t);
        var order = Enumerable.Range(0, m).OrderByDescending(i => values[i]).ToArray();
        return ([.. order.Select(i => values[i])], [.. order.Select(i => vectors[0, i] * vectors[0, i])]);
    }

    /// <summary>The <paramref name="count"/> largest eigenvalues by <paramref name="steps"/> Lanczos steps from a random start.</summary>
    public static double[] TopEigenvalues(SymmetricOperator a, int dimension, int count, int steps, Rng rng)
    {
        var start = new double[dimension];
        for (int i = 0; i < dimension; i++) start[i] = rng.NextNormal();
        var (values, _) = Run(a, start, Math.Max(steps, count));
        return values[..Math.Min(count, values.Length)];
    }

    /// <summary>
    /// Hutchinson's estimate of the trace: the mean of <c>z^T A z</c> over <paramref name="probes"/> random vectors
    /// <c>z</c> of independent signs (Rademacher), unbiased with variance <c>2 (||A||_F^2 - sum A_ii^2)</c> per probe.
    /// </summary>
    public static double Trace(SymmetricOperator a, int dimension, int probes, Rng rng)
    {
        var z = new double[dimension];
        var az = new double[dimension];
        double total = 0;
        for (int p = 0; p < probes; p++)
        {
            Rademacher(z, rng);
            a(z, az);
            total += Dot(z, az);
        }
        return total / probes;
    }

    /// <summary>
    /// Stochastic Lanczos quadrature: for each of <paramref name="probes"/> random sign vectors, the Ritz values of
    /// <paramref name="steps"/> Lanczos steps with their quadrature weights. Together they approximate the spectral
    /// density <c>(1/n) sum_i delta(t - lambda_i)</c> as <c>(1/probes) sum_probes sum_j w_j delta(t - theta_j)</c>
    /// (Ghorbani et al., 2019; Yao et al., PyHessian, 2020); <see cref="Density"/> smooths it.
    /// </summary>
    public static (double[] Values, double[] Weights)[] Quadrature(SymmetricOperator a, int dimension, int steps, int probes, Rng rng)
    {
        var result = new (double[], double[])[probes];
        var z = new double[dimension];
        for (int p = 0; p < probes; p++)
        {
            Rademacher(z, rng);
            result[p] = Run(a, z, steps);
        }
        return result;
    }

    /// <summary>The quadrature nodes smoothed by a Gaussian of width <paramref name="sigma"/>, evaluated at <paramref name="grid"/> (integrates to 1).</summary>
    public static double[] Density((double[] Values, double[] Weights)[] quadrature, double[] grid, double sigma)
    {
        var density = new double[grid.Length];
        double norm = 1 / (quadrature.Length * sigma * Math.Sqrt(2 * Math.PI));
        foreach (var (values, weights) in quadrature)
            for (int j = 0; j < values.Length; j++)
                for (int g = 0; g < grid.Length; g++)
                {
                    double u = (grid[g] - values[j]) / sigma;
                    density[g] += norm * weights[j] * Math.Exp(-0.5 * u * u);
                }
        return density;
    }

    /// <summary>Eigenvalues (ascending) and eigenvectors (columns) of a small symmetric matrix (<see cref="Linalg.Eigh"/>).</summary>
    public static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) a[i * n + j] = matrix[i, j];
        var values = new double[n];
        var flat = new double[n * n];
        Linalg.Eigh(a, n, values, flat, new double[n]);
        var vectors = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) vectors[i, j] = flat[i * n + j];
        return (values, vectors);
    }

    private static void Rademacher(Span<double> z, Rng rng)
    {
        for (int i = 0; i < z.Length; i++) z[i] = rng.NextDouble() < 0.5 ? -1 : 1;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static double Normalize(Span<double> v)
    {
        double n = Math.Sqrt(Dot(v, v));
        if (n == 0) return 0;
        for (int i = 0; i < v.Length; i++) v[i] /= n;
        return n;
    }
}
