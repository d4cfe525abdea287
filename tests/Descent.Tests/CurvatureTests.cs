using System.Text.Json;
using Descent.Analysis;
using Descent.Nn;
using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// Exact Hessian-vector products and the spectral estimates built on them, against dense Hessians from
/// torch.autograd (tools/reference/generate_curvature.py, float64, in Reference/torch_curvature.json).
/// </summary>
public class CurvatureTests
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "torch_curvature.json"))));

    private static JsonElement Case(int index) => Document.Value.RootElement.GetProperty("networks")[index];

    public static IEnumerable<object[]> Cases =>
        Enumerable.Range(0, Document.Value.RootElement.GetProperty("networks").GetArrayLength()).Select(i => new object[] { i });

    private static double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    private static (HessianVectorProduct Hvp, double[,] Hessian, double[] Eigenvalues, string Name) Build(int index)
    {
        var c = Case(index);
        var sizes = c.GetProperty("sizes").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var model = new Sequential<double>(sizes, Activations.Parse(c.GetProperty("activation").GetString()!), Initialization.Torch, new Rng(0));
        foreach (var p in model.Parameters) Doubles(c.GetProperty("parameters").GetProperty(p.Name)).CopyTo(p.Value);
        var labels = c.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var hvp = new HessianVectorProduct(model, Doubles(c.GetProperty("inputs")), labels, Losses.Parse(c.GetProperty("loss").GetString()!));
        int n = hvp.Dimension;
        var flat = Doubles(c.GetProperty("hessian"));
        Assert.Equal(n * n, flat.Length);
        var h = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) h[i, j] = flat[i * n + j];
        return (hvp, h, Doubles(c.GetProperty("eigenvalues")), $"{c.GetProperty("activation")}/{c.GetProperty("loss")}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hessian_vector_products_equal_torch_autograd_dense_hessian(int index)
    {
        var (hvp, h, _, name) = Build(index);
        int n = hvp.Dimension;
        double scale = 0;
        foreach (double x in h) scale = Math.Max(scale, Math.Abs(x));
        var e = new double[n];
        var column = new double[n];
        for (int j = 0; j < n; j++)
        {
            Array.Clear(e);
            e[j] = 1;
            hvp.Multiply(e, column);
            for (int i = 0; i < n; i++)
                Assert.True(Math.Abs(column[i] - h[i, j]) <= 1e-10 * scale, $"{name}: H[{i},{j}] = {column[i]:R}, torch {h[i, j]:R}");
        }
        // A random direction too: the product is linear in v, so this checks the directions mix correctly.
        var rng = new Rng(11);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rng.NextNormal();
        var hv = new double[n];
        hvp.Multiply(v, hv);
        for (int i = 0; i < n; i++)
        {
            double expected = 0;
            for (int j = 0; j < n; j++) expected += h[i, j] * v[j];
            Assert.True(Math.Abs(hv[i] - expected) <= 1e-10 * scale * Math.Sqrt(n), $"{name}: (Hv)[{i}] = {hv[i]:R}, torch {expected:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Lanczos_finds_the_top_eigenvalues_torch_finds(int index)
    {
        var (hvp, _, eigenvalues, name) = Build(index);
        var top = Lanczos.TopEigenvalues(hvp.Multiply, hvp.Dimension, 3, hvp.Dimension, new Rng(3));
        var expected = eigenvalues.OrderDescending().Take(3).ToArray();
        double scale = Math.Max(1e-12, eigenvalues.Max(Math.Abs));
        for (int k = 0; k < 3; k++)
            Assert.True(Math.Abs(top[k] - expected[k]) <= 1e-8 * scale, $"{name}: eigenvalue {k}: {top[k]:R}, torch {expected[k]:R}");
    }

    [Fact]
    public void Hutchinson_trace_is_within_its_standard_error_of_the_exact_trace()
    {
        foreach (int index in new[] { 1, 4, 14 })
        {
            var (hvp, h, _, name) = Build(index);
            int n = hvp.Dimension;
            double trace = 0, offDiagonal = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (i == j) trace += h[i, i];
                    else offDiagonal += h[i, j] * h[i, j];
            Assert.True(Math.Abs(trace - Case(index).GetProperty("trace").GetDouble()) <= 1e-10 * Math.Max(1, Math.Abs(trace)));
            const int probes = 2000;
            double standardError = Math.Sqrt(2 * offDiagonal / probes);   // Rademacher probes: variance 2 sum_{i != j} H_ij^2
            double estimate = Lanczos.Trace(hvp.Multiply, n, probes, new Rng(5));
            Assert.True(Math.Abs(estimate - trace) <= 4 * standardError, $"{name}: Hutchinson {estimate:R}, exact {trace:R}, standard error {standardError:G3}");
        }
    }

    [Fact]
    public void Lanczos_quadrature_reproduces_the_moments_of_its_start_vector()
    {
        // m Lanczos steps give a Gauss quadrature exact for polynomials of degree below 2m: sum_j w_j theta_j^p = u^T H^p u.
        var (hvp, h, _, _) = Build(5);
        int n = hvp.Dimension;
        var rng = new Rng(9);
        var u = new double[n];
        for (int i = 0; i < n; i++) u[i] = rng.NextNormal();
        double norm = Math.Sqrt(u.Sum(x => x * x));
        for (int i = 0; i < n; i++) u[i] /= norm;
        var (values, weights) = Lanczos.Run(hvp.Multiply, u, 4);
        Assert.Equal(1, weights.Sum(), 12);
        var power = (double[])u.Clone();
        for (int p = 1; p <= 7; p++)
        {
            var next = new double[n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) next[i] += h[i, j] * power[j];
            power = next;
            double exact = u.Zip(power, (a, b) => a * b).Sum();
            double quadrature = values.Zip(weights, (t, w) => w * Math.Pow(t, p)).Sum();
            Assert.True(Math.Abs(quadrature - exact) <= 1e-9 * Math.Max(1e-3, Math.Abs(exact)), $"moment {p}: quadrature {quadrature:R}, exact {exact:R}");
        }
        var density = Lanczos.Density(Lanczos.Quadrature(hvp.Multiply, n, 8, 4, new Rng(2)), [.. Enumerable.Range(0, 2001).Select(k => -5 + k * 0.01)], 0.05);
        Assert.Equal(1, density.Sum() * 0.01, 3);   // a density: integrates to one over a grid that covers the spectrum
    }

    [Fact]
    public void Lanczos_converges_to_a_separated_top_eigenvalue_in_few_steps_and_stops_on_an_invariant_subspace()
    {
        // diag(1000, 500, 1, 2, ..., 198): the top two are far from the rest, so a few steps find them.
        const int n = 200;
        var diagonal = new double[n];
        diagonal[0] = 1000;
        diagonal[1] = 500;
        for (int i = 2; i < n; i++) diagonal[i] = i - 1;
        void Diagonal(ReadOnlySpan<double> v, Span<double> r)
        {
            for (int i = 0; i < n; i++) r[i] = diagonal[i] * v[i];
        }
        var top = Lanczos.TopEigenvalues(Diagonal, n, 2, 25, new Rng(8));
        Assert.Equal(1000, top[0], 8);
        Assert.Equal(500, top[1], 8);

        // A start in the span of two eigenvectors: the Krylov space has dimension two, the iteration stops there,
        // and the quadrature puts each eigenvalue's share of the start on it.
        var start = new double[n];
        start[4] = 1;
        start[9] = Math.Sqrt(3);
        var (values, weights) = Lanczos.Run(Diagonal, start, 50);
        Assert.Equal(2, values.Length);
        Assert.Equal(diagonal[9], values[0], 10);
        Assert.Equal(diagonal[4], values[1], 10);
        Assert.Equal(0.75, weights[0], 10);
        Assert.Equal(0.25, weights[1], 10);
    }

    [Fact]
    public void Symmetric_eigen_decomposition_reconstructs_its_matrix()
    {
        var rng = new Rng(4);
        const int n = 9;
        var a = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) a[i, j] = a[j, i] = rng.NextNormal();
        var (values, vectors) = Lanczos.SymmetricEigen(a);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int k = 0; k < n; k++) sum += vectors[i, k] * values[k] * vectors[j, k];
                Assert.Equal(a[i, j], sum, 12);
            }
    }
}
