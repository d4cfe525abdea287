using Descent.Analysis;
using Descent.Data;
using Descent.Lab;
using Descent.Nn;
using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

public sealed class ReproduceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-reproduce").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Every_experiment_runs_at_quick_scale_and_writes_its_figures_numbers_and_report()
    {
        var (code, output, err) = CliRunner.Run("reproduce", "--quick", "--out", _dir);
        Assert.True(code == 0, err);
        Assert.Contains("report:", output);
        string html = File.ReadAllText(Path.Combine(_dir, "report.html"));
        string summary = File.ReadAllText(Path.Combine(_dir, "summary.md"));
        foreach (var e in Reproduction.All)
        {
            Assert.Contains($"id=\"{e.Name}\"", html);
            Assert.Contains($"| {e.Name} |", summary);
            Assert.Contains($"descent: ", err);
        }
        Assert.DoesNotContain("src=\"figures/", html); // self-contained: images are data URIs
        var pngs = Directory.GetFiles(Path.Combine(_dir, "figures"), "*.png");
        Assert.True(pngs.Length >= 20, $"{pngs.Length} figures");
        foreach (var png in pngs)
        {
            Assert.True(new FileInfo(png).Length > 5_000, $"{png} is suspiciously small");
            Assert.True(File.Exists(Path.ChangeExtension(png, ".svg")), $"{png} has no SVG");
            Assert.Contains(Convert.ToBase64String(File.ReadAllBytes(png))[..200], html);
        }
        // Sane numbers: every measured value parses to finite numbers where it holds any.
        foreach (var line in summary.Split('\n').Where(l => l.StartsWith("| ") && !l.StartsWith("| experiment")))
            Assert.DoesNotContain("NaN", line);
    }

    [Fact]
    public void Parallel_runs_give_the_same_results_as_serial_runs()
    {
        var serial = Reproduction.Run(["noisy-moons-batch-size", "stretched-moons-momentum"], new Lab.Lab(Path.Combine(_dir, "serial"), Scale.Quick, threads: 1));
        var parallel = Reproduction.Run(["noisy-moons-batch-size", "stretched-moons-momentum"], new Lab.Lab(Path.Combine(_dir, "parallel"), Scale.Quick, threads: 4));
        var timing = (Claim c) => c.Measure.Contains("wall time");
        Assert.Equal(serial.Claims.Where(c => !timing(c)).Select(c => c.Value), parallel.Claims.Where(c => !timing(c)).Select(c => c.Value));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Runs_start_costliest_first_and_return_in_input_order(int threads)
    {
        var lab = new Lab.Lab(Path.Combine(_dir, "order"), Scale.Quick, threads: threads);
        var started = new System.Collections.Concurrent.ConcurrentQueue<int>();
        int[] items = [3, 50, 7, 20, 1];
        var results = lab.RunAll(items, i =>
        {
            started.Enqueue(i);
            return i * 10;
        }, cost: i => i);
        Assert.Equal([30, 500, 70, 200, 10], results);
        if (threads == 1) Assert.Equal([50, 20, 7, 3, 1], started);
        else Assert.Equal(items.Order(), started.Order());
    }

    [Fact]
    public void Unknown_experiments_and_conflicting_scales_are_rejected()
    {
        var (code, _, err) = CliRunner.Run("reproduce", "moonz", "--quick", "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("Unknown experiment 'moonz'", err);
        (code, _, err) = CliRunner.Run("reproduce", "--quick", "--full", "--out", _dir);
        Assert.Equal(2, code);
        Assert.Contains("--quick or --full", err);
    }

    [Fact]
    public void Hessian_eigenvalues_of_a_linear_least_squares_model_match_the_closed_form()
    {
        // A linear model with MSE on one-hot targets: L = mean_{b,k} (W x_b + c - t)^2, so H = (2 / (B K)) (X~^T X~) (x) I_K with X~ = [X, 1].
        var rng = new Rng(3);
        var data = Moons.Generate(40, 0.2, 0, 1, 1, rng);
        var model = new Sequential<float>([2, 2], Activation.Identity, Initialization.Torch, rng);
        var curvature = new Curvature(model, data, Loss.MeanSquaredError);
        double a = 0, b = 0, c = 0, d = 0, e = 0, n = data.Count;
        for (int i = 0; i < data.Count; i++)
        {
            double x = data.Row(i)[0], y = data.Row(i)[1];
            a += x * x; b += x * y; c += y * y; d += x; e += y;
        }
        // Eigenvalues of the 3x3 Gram matrix [[a, b, d], [b, c, e], [d, e, n]] by the characteristic cubic.
        var gram = new double[,] { { a, b, d }, { b, c, e }, { d, e, n } };
        var eig = SymmetricEigenvalues3(gram).Select(v => 2 * v / (n * 2)).ToArray();
        var (max, min) = curvature.ExtremeEigenvalues(300, new Rng(1));
        Assert.Equal(eig.Max(), max, 4);
        Assert.Equal(eig.Min(), min, 3);
    }

    private static double[] SymmetricEigenvalues3(double[,] m)
    {
        double p1 = m[0, 1] * m[0, 1] + m[0, 2] * m[0, 2] + m[1, 2] * m[1, 2];
        double q = (m[0, 0] + m[1, 1] + m[2, 2]) / 3;
        double p2 = Math.Pow(m[0, 0] - q, 2) + Math.Pow(m[1, 1] - q, 2) + Math.Pow(m[2, 2] - q, 2) + 2 * p1;
        double p = Math.Sqrt(p2 / 6);
        var bm = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) bm[i, j] = (m[i, j] - (i == j ? q : 0)) / p;
        double det = bm[0, 0] * (bm[1, 1] * bm[2, 2] - bm[1, 2] * bm[2, 1]) - bm[0, 1] * (bm[1, 0] * bm[2, 2] - bm[1, 2] * bm[2, 0]) + bm[0, 2] * (bm[1, 0] * bm[2, 1] - bm[1, 1] * bm[2, 0]);
        double phi = Math.Acos(Math.Clamp(det / 2, -1, 1)) / 3;
        double e1 = q + 2 * p * Math.Cos(phi), e3 = q + 2 * p * Math.Cos(phi + 2 * Math.PI / 3);
        return [e1, 3 * q - e1 - e3, e3];
    }
}
