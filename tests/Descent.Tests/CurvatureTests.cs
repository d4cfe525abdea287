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
        var h = Square(Doubles(c.GetProperty("hessian")), n);
        return (hvp, h, Doubles(c.GetProperty("eigenvalues")), $"{c.GetProperty("activation")}/{c.GetProperty("loss")}");
    }

    public static IEnumerable<object[]> ModelCases =>
        Enumerable.Range(0, Document.Value.RootElement.GetProperty("models").GetArrayLength()).Select(i => new object[] { i });

    /// <summary>A model from its spec in evaluation mode, with torch's parameters and batch-norm statistics.</summary>
    private static (HessianVectorProduct Hvp, double[,] Hessian, double[] Eigenvalues, string Name) BuildModel(int index)
    {
        var c = Document.Value.RootElement.GetProperty("models")[index];
        var shape = c.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        string spec = c.GetProperty("spec").GetString()!;
        var model = ModelSpec.Build<double>(spec, shape, c.GetProperty("outputs").GetInt32(), Initialization.Torch, new Rng(0));
        model.Training = false;
        var state = c.GetProperty("state");
        foreach (var p in model.Parameters) Doubles(state.GetProperty(p.Name)).CopyTo(p.Value);
        foreach (var (name, _, value) in model.Buffers())
            if (state.TryGetProperty(name, out var buffer)) Doubles(buffer).CopyTo(value);
        var labels = c.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var hvp = new HessianVectorProduct(model, Doubles(c.GetProperty("inputs")), labels, Losses.Parse(c.GetProperty("loss").GetString()!));
        return (hvp, Square(Doubles(c.GetProperty("hessian")), hvp.Dimension), Doubles(c.GetProperty("eigenvalues")), spec);
    }

    private static double[,] Square(double[] flat, int n)
    {
        Assert.Equal(n * n, flat.Length);
        var h = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) h[i, j] = flat[i * n + j];
        return h;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hessian_vector_products_equal_torch_autograd_dense_hessian(int index)
    {
        var (hvp, h, _, name) = Build(index);
        AssertProductsEqual(hvp, h, name);
    }

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void Hessian_vector_products_of_convolutional_and_residual_models_equal_torch_autograd(int index)
    {
        var (hvp, h, _, name) = BuildModel(index);
        AssertProductsEqual(hvp, h, name);
    }

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void Lanczos_finds_the_top_eigenvalues_of_convolutional_models_torch_finds(int index)
    {
        var (hvp, _, eigenvalues, name) = BuildModel(index);
        AssertTopEigenvalues(hvp, eigenvalues, name);
    }

    [Fact]
    public void Hessian_vector_products_refuse_batch_norm_in_training_mode_and_layers_without_an_r_operator()
    {
        var bn = ModelSpec.Build<double>("conv:2,k=3-batchnorm-flatten-linear", [1, 5, 7], 3, Initialization.Torch, new Rng(0));
        var hvp = new HessianVectorProduct(bn, new double[3 * 35], [0, 1, 2], Loss.CrossEntropy);
        var error = Assert.Throws<InvalidOperationException>(() => hvp.Multiply(new double[hvp.Dimension], new double[hvp.Dimension]));
        Assert.Contains("Training = false", error.Message);
        var ln = ModelSpec.Build<double>("linear:4-layernorm-linear", [3], 2, Initialization.Torch, new Rng(0));
        var lnHvp = new HessianVectorProduct(ln, new double[6], [0, 1], Loss.CrossEntropy);
        var missing = Assert.Throws<NotSupportedException>(() => lnHvp.Multiply(new double[lnHvp.Dimension], new double[lnHvp.Dimension]));
        Assert.StartsWith("LayerNorm has no Hessian-vector product", missing.Message);
    }

    /// <summary>Every column of the dense Hessian as <c>H e_j</c>, and one random direction, within 1e-10 of its largest entry.</summary>
    private static void AssertProductsEqual(HessianVectorProduct hvp, double[,] h, string name)
    {
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
        AssertTopEigenvalues(hvp, eigenvalues, name);
    }

    private static void AssertTopEigenvalues(HessianVectorProduct hvp, double[] eigenvalues, string name)
    {
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
    public void Hutchinson_with_sign_probes_is_exact_for_a_diagonal_matrix_with_a_single_probe()
    {
        // z_i^2 = 1 for signs, so z^T D z = tr D whatever the draw; Gaussian probes would miss by about sqrt(2 sum d_i^2).
        var diagonal = new double[] { 3, -1, 0.5, 7, 2 };
        void Diagonal(ReadOnlySpan<double> v, Span<double> r)
        {
            for (int i = 0; i < v.Length; i++) r[i] = diagonal[i] * v[i];
        }
        for (ulong seed = 0; seed < 5; seed++) Assert.Equal(diagonal.Sum(), Lanczos.Trace(Diagonal, diagonal.Length, 1, new Rng(seed)), 14);
    }

    [Fact]
    public void Stochastic_lanczos_quadrature_reproduces_the_moments_of_the_dense_hessian()
    {
        // With as many steps as parameters the quadrature of each probe z is exact for every power:
        // sum_j w_j theta_j^k = z^T H^k z / n. Averaged over probes it estimates tr(H^k) / n, within the standard error
        // sqrt(2 sum_{i != j} (H^k)_ij^2 / probes) / n of sign probes.
        foreach (var (hvp, h, _, name) in new[] { Build(5), BuildModel(0) })
        {
            int n = hvp.Dimension;
            const int probes = 300;
            var quadrature = Lanczos.Quadrature(hvp.Multiply, n, n, probes, new Rng(21));
            var power = new double[n, n];
            for (int i = 0; i < n; i++) power[i, i] = 1;
            for (int k = 0; k <= 4; k++)
            {
                if (k > 0) power = Product(power, h);
                double trace = 0, offDiagonal = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                        if (i == j) trace += power[i, i];
                        else offDiagonal += power[i, j] * power[i, j];
                double mean = quadrature.Average(q => q.Values.Zip(q.Weights, (t, w) => w * Math.Pow(t, k)).Sum());
                double standardError = Math.Sqrt(2 * offDiagonal / probes) / n;
                double scale = Math.Max(Math.Abs(trace / n), 1e-300);
                Assert.True(Math.Abs(mean - trace / n) <= 4 * standardError + 1e-9 * scale,
                    $"{name}: moment {k}: quadrature {mean:R}, tr(H^k)/n {trace / n:R}, standard error {standardError:G3}");
            }
        }
    }

    [Fact]
    public void Each_probe_of_stochastic_lanczos_quadrature_is_exact_for_every_power_when_the_steps_reach_the_dimension()
    {
        var (hvp, h, _, name) = BuildModel(1);
        int n = hvp.Dimension;
        var rng = new Rng(17);
        var z = new double[n];
        for (int i = 0; i < n; i++) z[i] = rng.NextDouble() < 0.5 ? -1 : 1;
        var (values, weights) = Lanczos.Run(hvp.Multiply, z, n);
        var hz = (double[])z.Clone();
        for (int k = 1; k <= 8; k++)
        {
            var next = new double[n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) next[i] += h[i, j] * hz[j];
            hz = next;
            double exact = z.Zip(hz, (a, b) => a * b).Sum() / n;
            double quadrature = values.Zip(weights, (t, w) => w * Math.Pow(t, k)).Sum();
            Assert.True(Math.Abs(quadrature - exact) <= 1e-8 * Math.Max(Math.Abs(exact), 1e-6), $"{name}: power {k}: quadrature {quadrature:R}, z^T H^k z / n {exact:R}");
        }
    }

    private static double[,] Product(double[,] a, double[,] b)
    {
        int n = a.GetLength(0);
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < n; p++)
                for (int j = 0; j < n; j++) c[i, j] += a[i, p] * b[p, j];
        return c;
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
