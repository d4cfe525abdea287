using System.Text.Json;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.State;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// The optimizers that precondition each dimension of a parameter with its own matrix (SOAP, Shampoo) on the 2-D
/// weights and biases of least-squares problems, against their torch-operation transcriptions in float64
/// (tools/reference/generate_beyond.py, "least_squares"); their points on the landscapes are in <see cref="BeyondOptimizerTests"/>.
/// </summary>
public sealed class KroneckerOptimizerTests : IDisposable
{
    private const double Tolerance = 1e-10;
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-kronecker").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    public static IEnumerable<object[]> Cases =>
        Enumerable.Range(0, TorchReference.Beyond.GetProperty("least_squares").GetArrayLength()).Select(i => new object[] { i });

    private static JsonElement Case(int index) => TorchReference.Beyond.GetProperty("least_squares")[index];

    /// <summary>
    /// 1e-10, except with the default epsilons, where the problem itself amplifies rounding (changing each of the
    /// reference's eigendecompositions by one rounding moves its final weights by the amounts that
    /// tools/reference/eigh_sensitivity.py prints): SOAP's first update divides by eps 1e-8 entries of the rotated gradient
    /// that are zero in exact arithmetic and hold rounding noise (the bases come from that same gradient), 2e-8, checked to
    /// 1e-7; Shampoo's default 16 x 16 factor starts at rank one and weighs its null space's rounding noise by
    /// epsilon^(-1/2) = 1e6, 2e-4, checked to 1e-3. Every other case moves by at most 4e-11.
    /// </summary>
    private static double ToleranceOf(JsonElement c)
    {
        var options = TorchReference.Options(c);
        return c.GetProperty("optimizer").GetString() switch
        {
            "soap" when options.Get("eps") < 1e-5 => 1e-7,
            "shampoo" when options.Get("epsilon") < 1e-8 => 1e-3,
            _ => Tolerance,
        };
    }

    private static string Describe(JsonElement c) =>
        $"{c.GetProperty("optimizer").GetString()} {c.GetProperty("options")} on [{string.Join(", ", c.GetProperty("shape").EnumerateArray())}]" +
        (c.TryGetProperty("bias_init", out _) ? " with a bias" : "");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Least_squares_weights_and_biases_match_the_torch_ops_reference(int index)
    {
        var c = Case(index);
        var problem = new LeastSquares(c);
        var parameters = problem.Parameters();
        var optimizer = Optimizers.Create(c.GetProperty("optimizer").GetString()!, parameters, TorchReference.Options(c));
        var losses = LeastSquares.Doubles(c, "losses");
        for (int k = 0; k < losses.Length; k++)
        {
            double loss = problem.Evaluate(parameters);
            Assert.True(TorchReference.RelativeError(loss, losses[k]) <= ToleranceOf(c), $"{Describe(c)}: loss at step {k} = {loss:R}, reference {losses[k]:R}");
            if (k < losses.Length - 1) optimizer.Step();
        }
        AssertClose(c, "final", parameters[0]);
        if (problem.HasBias) AssertClose(c, "final_bias", parameters[1]);
    }

    private static void AssertClose(JsonElement c, string name, Parameter<double> p)
    {
        var expected = LeastSquares.Doubles(c, name);
        for (int j = 0; j < expected.Length; j++)
            Assert.True(TorchReference.RelativeError(p.Value.Span[j], expected[j]) <= ToleranceOf(c), $"{Describe(c)}: {p.Name}[{j}] = {p.Value.Span[j]:R}, reference {expected[j]:R}");
    }

    public static IEnumerable<object[]> Resumable => Cases.Where(i => Case((int)i[0]).TryGetProperty("bias_init", out _));

    /// <summary>Saved after 7 steps (past SOAP's first basis refresh in some cases, before it in others) and resumed: every later step is bit-identical.</summary>
    [Theory]
    [MemberData(nameof(Resumable))]
    public void Preconditioners_saved_by_name_resume_bit_for_bit(int index)
    {
        var c = Case(index);
        var problem = new LeastSquares(c);
        var (a, pa) = Build();
        for (int t = 0; t < 7; t++) Step(a, pa);
        var state = new StateDict();
        a.SaveState(state);
        var (b, pb) = Build();
        for (int i = 0; i < pa.Length; i++) pa[i].Value.Span.CopyTo(pb[i].Value.Span);
        b.LoadState(state);
        for (int t = 7; t < 30; t++)
        {
            Step(a, pa);
            Step(b, pb);
            for (int i = 0; i < pa.Length; i++) Assert.Equal(pa[i].Value.ToArray(), pb[i].Value.ToArray());
        }

        (Optimizer<double>, Parameter<double>[]) Build()
        {
            var p = problem.Parameters();
            return (Optimizers.Create(c.GetProperty("optimizer").GetString()!, p, TorchReference.Options(c)), p);
        }

        void Step(Optimizer<double> optimizer, Parameter<double>[] p)
        {
            problem.Evaluate(p);
            optimizer.Step();
        }
    }

    /// <summary>
    /// <c>descent train</c> with each (float32, an MLP on MNIST whose input layer has a 784-wide factor): a run cut at step
    /// 10 and resumed ends bit-identical to the straight run, past SOAP's first basis refresh and two of Shampoo's roots.
    /// </summary>
    [Theory]
    [InlineData("soap")]
    [InlineData("shampoo")]
    public void A_short_run_trains_from_the_command_line_and_resumes_bit_for_bit(string name)
    {
        string[] common = ["train", "--data", "mnist", "--model", "mlp:8", "--optimizer", name, "--precondition-frequency", "10", "--batch", "16",
            "--eval-every", "10", "--checkpoint-every", "10"];
        string whole = Path.Combine(_dir, name + "-whole"), parts = Path.Combine(_dir, name + "-parts");
        var (code, _, err) = CliRunner.Run([.. common, "--steps", "20", "--out", whole]);
        Assert.True(code == 0, err);
        Assert.Equal(0, CliRunner.Run([.. common, "--steps", "10", "--out", parts]).Code);
        (code, _, err) = CliRunner.Run("train", "--resume", parts, "--steps", "20");
        Assert.True(code == 0, err);
        foreach (var file in new[] { "metrics.csv", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(whole, file)), File.ReadAllBytes(Path.Combine(parts, file)));
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(whole, "summary.json"))).RootElement;
        Assert.True(summary.GetProperty("test_accuracy").GetDouble() > 0.3, summary.ToString());
    }

    [Fact]
    public void Soap_merges_dimensions_as_the_reference_does()
    {
        Assert.Equal([12, 2], Soap<double>.MergeDims([4, 3, 2], 12));
        Assert.Equal([4, 4], Soap<double>.MergeDims([2, 2, 4], 4));
        Assert.Equal([16], Soap<double>.MergeDims([4, 4], 10000));
        Assert.Equal([20000, 3], Soap<double>.MergeDims([20000, 3], 10000));
    }

    [Fact]
    public void Eigh_and_qr_follow_torch_linalg_conventions()
    {
        // A symmetric matrix with known eigenvalues 1, 2, 4: ascending, and A V = V diag(w).
        double[] a = [3, 1, 0, 1, 3, 0, 0, 0, 1];
        double[] values = new double[3], vectors = new double[9];
        Linalg.Eigh((double[])a.Clone(), 3, values, vectors, new double[3]);
        Assert.Equal([1.0, 2.0, 4.0], values.Select(v => Math.Round(v, 12)));
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 3; i++)
                Assert.Equal(values[j] * vectors[i * 3 + j], a[i * 3] * vectors[j] + a[i * 3 + 1] * vectors[3 + j] + a[i * 3 + 2] * vectors[6 + j], 12);

        // LAPACK's Householder Q (torch.linalg.qr(torch.tensor([[3., 1.], [4., 2.]])).Q = [[-0.6, -0.8], [-0.8, 0.6]]),
        // unchanged when a column of A changes sign.
        double[] q = new double[4], tau = new double[2];
        Linalg.QrQ(new double[] { 3, 1, 4, 2 }, 2, q, tau);
        Assert.Equal([-0.6, -0.8, -0.8, 0.6], q.Select(v => Math.Round(v, 14)));
        Linalg.QrQ(new double[] { -3, 1, -4, 2 }, 2, q, tau);
        Assert.Equal([-0.6, -0.8, -0.8, 0.6], q.Select(v => Math.Round(v, 14)));
    }
}
