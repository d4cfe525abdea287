namespace Descent.Numerics;

/// <summary>
/// Dense linear algebra on small square float64 matrices stored row-major in spans, for the optimizers that keep
/// matrix preconditioners (SOAP, Shampoo) and for curvature analysis: the symmetric eigendecomposition and the
/// Q factor of a QR decomposition, with the conventions of <c>torch.linalg.eigh</c> and <c>torch.linalg.qr</c>.
/// Nothing is allocated: callers pass the outputs and the scratch.
/// </summary>
public static class Linalg
{
    /// <summary>
    /// The eigendecomposition <c>A = V diag(w) V^T</c> of the symmetric <paramref name="n"/> x <paramref name="n"/>
    /// matrix <paramref name="a"/> (destroyed): Householder reduction to tridiagonal form, then the implicit QL
    /// iteration with Wilkinson shifts (EISPACK's tred2 and tql2), O(n^3) and backward stable as LAPACK's. As
    /// <c>torch.linalg.eigh</c>: eigenvalues ascending in <paramref name="values"/>, eigenvector <c>j</c> in column
    /// <c>j</c> of <paramref name="vectors"/>; each eigenvector's sign (and the basis of a repeated eigenvalue's
    /// eigenspace) is this algorithm's own. <paramref name="scratch"/> holds <paramref name="n"/> values.
    /// </summary>
    public static void Eigh(Span<double> a, int n, Span<double> values, Span<double> vectors, Span<double> scratch)
    {
        var v = vectors[..(n * n)];
        a[..(n * n)].CopyTo(v);
        var d = values[..n];
        var e = scratch[..n];
        Tridiagonalize(v, n, d, e);
        DiagonalizeTridiagonal(v, n, d, e);
        // Ascending order, by selection: the columns move with their eigenvalues.
        for (int i = 0; i < n - 1; i++)
        {
            int min = i;
            for (int j = i + 1; j < n; j++)
                if (d[j] < d[min]) min = j;
            if (min == i) continue;
            (d[i], d[min]) = (d[min], d[i]);
            for (int k = 0; k < n; k++) (v[k * n + i], v[k * n + min]) = (v[k * n + min], v[k * n + i]);
        }
    }

    /// <summary>Householder reduction of the symmetric matrix in <paramref name="v"/> to tridiagonal <c>(d, e)</c>, <paramref name="v"/> becoming the accumulated transformation.</summary>
    private static void Tridiagonalize(Span<double> v, int n, Span<double> d, Span<double> e)
    {
        for (int j = 0; j < n; j++) d[j] = v[(n - 1) * n + j];
        for (int i = n - 1; i > 0; i--)
        {
            double scale = 0, h = 0;
            for (int k = 0; k < i; k++) scale += Math.Abs(d[k]);
            if (scale == 0)
            {
                e[i] = d[i - 1];
                for (int j = 0; j < i; j++)
                {
                    d[j] = v[(i - 1) * n + j];
                    v[i * n + j] = 0;
                    v[j * n + i] = 0;
                }
            }
            else
            {
                for (int k = 0; k < i; k++)
                {
                    d[k] /= scale;
                    h += d[k] * d[k];
                }
                double f = d[i - 1], g = Math.Sqrt(h);
                if (f > 0) g = -g;
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                for (int j = 0; j < i; j++) e[j] = 0;
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    v[j * n + i] = f;
                    g = e[j] + v[j * n + j] * f;
                    for (int k = j + 1; k <= i - 1; k++)
                    {
                        g += v[k * n + j] * d[k];
                        e[k] += v[k * n + j] * f;
                    }
                    e[j] = g;
                }
                f = 0;
                for (int j = 0; j < i; j++)
                {
                    e[j] /= h;
                    f += e[j] * d[j];
                }
                double hh = f / (h + h);
                for (int j = 0; j < i; j++) e[j] -= hh * d[j];
                for (int j = 0; j < i; j++)
                {
                    f = d[j];
                    g = e[j];
                    for (int k = j; k <= i - 1; k++) v[k * n + j] -= f * e[k] + g * d[k];
                    d[j] = v[(i - 1) * n + j];
                    v[i * n + j] = 0;
                }
            }
            d[i] = h;
        }
        for (int i = 0; i < n - 1; i++)
        {
            v[(n - 1) * n + i] = v[i * n + i];
            v[i * n + i] = 1;
            double h = d[i + 1];
            if (h != 0)
            {
                for (int k = 0; k <= i; k++) d[k] = v[k * n + i + 1] / h;
                for (int j = 0; j <= i; j++)
                {
                    double g = 0;
                    for (int k = 0; k <= i; k++) g += v[k * n + i + 1] * v[k * n + j];
                    for (int k = 0; k <= i; k++) v[k * n + j] -= g * d[k];
                }
            }
            for (int k = 0; k <= i; k++) v[k * n + i + 1] = 0;
        }
        for (int j = 0; j < n; j++)
        {
            d[j] = v[(n - 1) * n + j];
            v[(n - 1) * n + j] = 0;
        }
        v[(n - 1) * n + n - 1] = 1;
        e[0] = 0;
    }

    /// <summary>The implicit QL iteration on the tridiagonal <c>(d, e)</c>, rotating the columns of <paramref name="v"/> along.</summary>
    private static void DiagonalizeTridiagonal(Span<double> v, int n, Span<double> d, Span<double> e)
    {
        for (int i = 1; i < n; i++) e[i - 1] = e[i];
        e[n - 1] = 0;
        double f = 0, largest = 0, eps = Math.Pow(2, -52);
        for (int l = 0; l < n; l++)
        {
            largest = Math.Max(largest, Math.Abs(d[l]) + Math.Abs(e[l]));
            int m = l;
            while (m < n && Math.Abs(e[m]) > eps * largest) m++;
            if (m > l)
            {
                for (int iteration = 0; iteration < 100 * n; iteration++)
                {
                    double g = d[l], p = (d[l + 1] - g) / (2 * e[l]), r = Hypot(p, 1);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1], h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    f += h;
                    p = d[m];
                    double c = 1, c2 = c, c3 = c, el1 = e[l + 1], s = 0, s2 = 0;
                    for (int i = m - 1; i >= l; i--)
                    {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = Hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        for (int k = 0; k < n; k++)
                        {
                            h = v[k * n + i + 1];
                            v[k * n + i + 1] = s * v[k * n + i] + c * h;
                            v[k * n + i] = c * v[k * n + i] - s * h;
                        }
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                    if (Math.Abs(e[l]) <= eps * largest) break;
                }
            }
            d[l] += f;
            e[l] = 0;
        }
    }

    /// <summary>
    /// The orthogonal factor Q of <c>A = Q R</c> for the <paramref name="n"/> x <paramref name="n"/> matrix
    /// <paramref name="a"/> (destroyed), by Householder reflections with LAPACK's conventions (<c>dgeqrf</c>'s
    /// <c>beta = -sign(alpha) norm</c>, no reflection where the column below the diagonal is zero, then
    /// <c>dorgqr</c>), which <c>torch.linalg.qr</c> calls. With those conventions Q does not depend on the signs of
    /// A's columns: R takes them.
    /// </summary>
    public static void QrQ(Span<double> a, int n, Span<double> q, Span<double> tau)
    {
        // Work on transposes, so that every column is a contiguous row: at[k * n + i] = A[i, k].
        Transpose(a, n);
        for (int k = 0; k < n; k++)
        {
            var column = a.Slice(k * n, n);
            double alpha = column[k], norm = 0;
            for (int i = k + 1; i < n; i++) norm += column[i] * column[i];
            norm = Math.Sqrt(norm);
            if (norm == 0)
            {
                tau[k] = 0;
                continue;
            }
            double beta = -Math.CopySign(Hypot(alpha, norm), alpha);
            tau[k] = (beta - alpha) / beta;
            double scale = 1 / (alpha - beta);
            for (int i = k + 1; i < n; i++) column[i] *= scale;   // v = (1, A[k+1.., k])
            column[k] = beta;
            for (int j = k + 1; j < n; j++) Reflect(column, tau[k], a.Slice(j * n, n), k);
        }
        // Q = H_0 H_1 ... H_{n-1} I, accumulated from the last reflection back, column by column (rows of Q^T).
        q[..(n * n)].Clear();
        for (int i = 0; i < n; i++) q[i * n + i] = 1;
        for (int k = n - 1; k >= 0; k--)
        {
            if (tau[k] == 0) continue;
            for (int j = k; j < n; j++) Reflect(a.Slice(k * n, n), tau[k], q.Slice(j * n, n), k);
        }
        Transpose(q, n);
    }

    /// <summary><c>x -= tau v (v . x)</c> for the reflector <c>v = (0.., 1, v[k+1..])</c> starting at <paramref name="k"/>.</summary>
    private static void Reflect(ReadOnlySpan<double> v, double tau, Span<double> x, int k)
    {
        double dot = x[k];
        for (int i = k + 1; i < v.Length; i++) dot += v[i] * x[i];
        dot *= tau;
        x[k] -= dot;
        for (int i = k + 1; i < v.Length; i++) x[i] -= dot * v[i];
    }

    private static void Transpose(Span<double> m, int n)
    {
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) (m[i * n + j], m[j * n + i]) = (m[j * n + i], m[i * n + j]);
    }

    /// <summary><c>sqrt(x^2 + y^2)</c> without overflow (LAPACK's <c>dlapy2</c>).</summary>
    private static double Hypot(double x, double y)
    {
        double ax = Math.Abs(x), ay = Math.Abs(y), w = Math.Max(ax, ay), z = Math.Min(ax, ay);
        return z == 0 ? w : w * Math.Sqrt(1 + z / w * (z / w));
    }
}
