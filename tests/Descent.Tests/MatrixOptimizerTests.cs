using System.Text.Json;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.Schedules;
using Descent.State;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// Adafactor and Muon on weight matrices against the torch-ops transcriptions of PyTorch 2.5's and 2.9's rules
/// (tools/reference/generate.py, "matrices"), Muon's refusal of everything but matrices, and the Muon/AdamW split
/// that trains whole models.
/// </summary>
public sealed class MatrixOptimizerTests : IDisposable
{
    private const double Tolerance = 1e-10;
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-matrix").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    public static IEnumerable<object[]> Cases => TorchReference.Indices("matrices");


    private static string Describe(JsonElement c) => $"{c.GetProperty("optimizer").GetString()} {c.GetProperty("options")} on [{string.Join(", ", c.GetProperty("shape").EnumerateArray())}]";

    [Theory]
    [MemberData(nameof(Cases))]
    public void Least_squares_with_a_weight_matrix_matches_the_torch_ops_reference(int index)
    {
        var c = TorchReference.Root.GetProperty("matrices")[index];
        var problem = new LeastSquares(c);
        var w = problem.Parameters()[0];
        var optimizer = Optimizers.Create(c.GetProperty("optimizer").GetString()!, [w], TorchReference.Options(c));
        var losses = LeastSquares.Doubles(c, "losses");
        for (int k = 0; k < losses.Length; k++)
        {
            double loss = problem.Evaluate([w]);
            Assert.True(TorchReference.RelativeError(loss, losses[k]) <= Tolerance, $"{Describe(c)}: loss at step {k} = {loss:R}, reference {losses[k]:R}");
            if (k < losses.Length - 1) optimizer.Step();
        }
        var final = LeastSquares.Doubles(c, "final");
        for (int j = 0; j < final.Length; j++)
            Assert.True(TorchReference.RelativeError(w.Value.Span[j], final[j]) <= Tolerance, $"{Describe(c)}: W[{j}] = {w.Value.Span[j]:R}, reference {final[j]:R}");
    }

    [Theory]
    [InlineData(10, 13)]   // every path of the blocked products: whole and partial blocks of k, whole and partial vectors of j
    [InlineData(8, 40)]
    public void Muon_newton_schulz_equals_the_plain_product_loops_to_the_bit(int rows, int cols)
    {
        // lr 1, no decay, no momentum and rows <= cols: the step is p = -X exactly, X the orthogonalized gradient.
        var w = new Parameter<double>("w", rows, cols);
        var rng = new Random(5);
        var g = w.Grad.Span;
        for (int k = 0; k < g.Length; k++) g[k] = rng.NextDouble() * 2 - 1;
        var options = new MuonOptions();
        foreach (var (name, value) in new[] { ("lr", 1.0), ("weight_decay", 0.0), ("momentum", 0.0), ("nesterov", 0.0) }) options.Set(name, value);
        var expected = PlainNewtonSchulz([.. g], rows, cols, options);
        new Muon<double>([w], options).Step();
        for (int k = 0; k < expected.Length; k++) Assert.Equal(expected[k], -w.Value.Span[k]);
    }

    /// <summary>Muon's Newton-Schulz iteration as three dot-product loops, each result rounded to bfloat16.</summary>
    private static double[] PlainNewtonSchulz(double[] g, int m, int n, MuonOptions o)
    {
        var x = g.Select(v => Muon<double>.BFloat16(v)).ToArray();
        double norm = Muon<double>.BFloat16(Math.Sqrt(x.Sum(v => v * v)));
        x = [.. x.Select(v => Muon<double>.BFloat16(v / norm))];
        for (int s = 0; s < (int)o.NsSteps; s++)
        {
            var a = new double[m * m];
            var b = new double[m * m];
            var next = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++)
                {
                    double d = 0;
                    for (int k = 0; k < n; k++) d += x[i * n + k] * x[j * n + k];
                    a[i * m + j] = Muon<double>.BFloat16(d);
                }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++)
                {
                    double d = 0;
                    for (int k = 0; k < m; k++) d += a[i * m + k] * a[k * m + j];
                    b[i * m + j] = Muon<double>.BFloat16(o.NsB * a[i * m + j] + o.NsC * d);
                }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double d = 0;
                    for (int k = 0; k < m; k++) d += b[i * m + k] * x[k * n + j];
                    next[i * n + j] = Muon<double>.BFloat16(o.NsA * x[i * n + j] + d);
                }
            x = next;
        }
        return x;
    }

    [Fact]
    public void Muon_refuses_a_vector_naming_it_in_the_library_and_on_the_command_line()
    {
        var bias = new Parameter<double>("layers.0.bias", 3);
        var e = Assert.Throws<ArgumentException>(() => new Muon<double>([new Parameter<double>("layers.0.weight", 3, 4), bias]));
        Assert.Contains("parameter 'layers.0.bias' has shape [3]", e.Message);
        Assert.Contains("AdamW", e.Message);
        Assert.Throws<ArgumentException>(() => new Muon<double>([new Parameter<double>("conv.weight", 2, 1, 3, 3)]));

        var (code, stdout, stderr) = CliRunner.Run("trajectory", "--function", "rosenbrock", "--optimizer", "muon", "--steps", "5", "--start=-1.5,2");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("muon updates 2-D weight matrices only and cannot move a point on a landscape (it trains networks)", stderr);
    }

    [Fact]
    public void Bfloat16_rounding_is_to_nearest_even_through_float32()
    {
        Assert.Equal(1.0, Muon<double>.BFloat16(1.0 + 1.0 / 256));              // a tie: to the even neighbour, 1
        Assert.Equal(1.0 + 2.0 / 128, Muon<double>.BFloat16(1.0 + 3.0 / 256));  // a tie: to the even neighbour, 1 + 2/128
        Assert.Equal(1.0 + 1.0 / 128, Muon<double>.BFloat16(1.0 + 1.0 / 256 + 1e-6));
        Assert.Equal(-4.78125, Muon<double>.BFloat16(-4.775));
        Assert.True(double.IsNaN(Muon<double>.BFloat16(double.NaN)));
    }

    private static Sequential<float> Model(string spec, int[] input, int outputs) =>
        ModelSpec.Build<float>(spec, input, outputs, Initializations.Parse("torch"), Rng.ForStream(1, 1));

    public static TheoryData<string, int[], string[], string[]> Splits => new()
    {
        { "mlp:16,8", [4], ["layers.0.weight", "layers.2.weight"], ["layers.0.bias", "layers.2.bias", "layers.4.weight", "layers.4.bias"] },
        {
            "cnn", [1, 28, 28], ["layers.7.weight"],
            ["layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias", "layers.7.bias", "layers.9.weight", "layers.9.bias"]
        },
    };

    [Theory]
    [MemberData(nameof(Splits))]
    public void The_split_puts_hidden_matrices_on_Muon_and_the_rest_on_AdamW(string spec, int[] input, string[] muon, string[] adamw)
    {
        var (onMuon, onAdamW) = MuonSplit.Partition<float>(Model(spec, input, 10));
        Assert.Equal(muon, onMuon.Select(p => p.Name));
        Assert.Equal(adamw, onAdamW.Select(p => p.Name));
    }

    [Fact]
    public void The_split_of_a_transformer_keeps_embeddings_norms_and_the_output_layer_on_AdamW()
    {
        var model = Model("transformer:layers=1,d=8,heads=2,ctx=4", [4], 11);
        var (onMuon, onAdamW) = MuonSplit.Partition<float>(model);
        Assert.All(onMuon, p => Assert.Equal(2, p.Shape.Count));
        var names = onMuon.Select(p => p.Name).ToList();
        // Attention's input and output projections and the feedforward's two matrices.
        Assert.Equal(4, names.Count);
        Assert.Contains(names, n => n.EndsWith("in_proj_weight", StringComparison.Ordinal));
        Assert.Contains(names, n => n.EndsWith("out_proj.weight", StringComparison.Ordinal));
        var rest = onAdamW.ToDictionary(p => p.Name, p => p.Shape.ToArray());
        Assert.Equal([11, 8], rest["layers.0.weight"]);                     // token embedding
        Assert.Equal([4, 8], rest["layers.1.weight"]);                      // position embedding
        Assert.Equal([11, 8], rest[model.Parameters[^2].Name]);             // output layer
        Assert.Equal(model.Parameters.Count, onMuon.Count + onAdamW.Count);
    }

    [Fact]
    public void A_short_muon_run_trains_an_mlp_from_the_command_line()
    {
        string dir = Path.Combine(_dir, "mlp");
        var (code, _, err) = CliRunner.Run("train", "--data", "mnist", "--model", "mlp:32", "--optimizer", "muon", "--lr", "0.02", "--adamw-lr", "3e-3",
            "--steps", "150", "--batch", "32", "--eval-every", "150", "--out", dir);
        Assert.True(code == 0, err);
        var config = Trainer.LoadConfig(dir);
        Assert.Equal(3e-3, config.AdamWLr);
        string json = File.ReadAllText(Path.Combine(dir, "config.json"));
        Assert.Contains("\"adamw_lr\": 0.003,", json);   // named as the flag is, not adam_w_lr
        Assert.DoesNotContain("adam_w_lr", json);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;
        Assert.True(summary.GetProperty("test_accuracy").GetDouble() > 0.8, summary.ToString());
    }

    [Fact]
    public void A_short_muon_run_trains_the_cnn_and_resumes_bit_for_bit()
    {
        string[] common = ["train", "--data", "mnist", "--model", "conv:4,k=3,s=2-relu-flatten-linear:16-relu-linear", "--optimizer", "muon", "--lr", "0.02",
            "--schedule", "cosine:steps=60", "--batch", "16", "--eval-every", "20", "--checkpoint-every", "20"];
        string whole = Path.Combine(_dir, "whole"), parts = Path.Combine(_dir, "parts");
        var (code, _, err) = CliRunner.Run([.. common, "--steps", "60", "--out", whole]);
        Assert.True(code == 0, err);
        Assert.Equal(0, CliRunner.Run([.. common, "--steps", "20", "--out", parts]).Code);
        (code, _, err) = CliRunner.Run("train", "--resume", parts, "--steps", "60");
        Assert.True(code == 0, err);
        foreach (var file in new[] { "metrics.csv", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(whole, file)), File.ReadAllBytes(Path.Combine(parts, file)));
        var loss = File.ReadAllLines(Path.Combine(whole, "metrics.csv"));
        Assert.True(loss.Length >= 3);
    }

    [Fact]
    public void Adamw_lr_is_refused_without_muon()
    {
        var (code, _, err) = CliRunner.Run("train", "--optimizer", "adam", "--adamw-lr", "0.01", "--out", Path.Combine(_dir, "bad"));
        Assert.Equal(2, code);
        Assert.Contains("--adamw-lr", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void The_split_trains_a_transformer_and_its_lr_schedule_moves_adamw_in_proportion()
    {
        var model = Model("transformer:layers=1,d=8,heads=2,ctx=4", [4], 11);
        var optimizer = MuonSplit.Create(model, new MuonOptions { LearningRate = 0.02 }, new AdamWOptions { LearningRate = 0.004 });
        optimizer.Schedule("lr", new CosineDecay(0.02, 40));
        float[] tokens = [1, 5, 7, 2, 3, 3, 9, 0];
        double first = 0, last = 0;
        for (int step = 0; step < 40; step++)
        {
            var outputs = model.Forward(tokens, 2);
            var grad = new float[outputs.Length];
            double loss = 0;
            for (int i = 0; i < outputs.Length; i++)
            {
                loss += outputs[i] * (double)outputs[i] / outputs.Length;
                grad[i] = 2 * outputs[i] / outputs.Length;
            }
            if (step == 0) first = loss;
            last = loss;
            model.Backward(tokens, grad, 2, accumulate: false);
            optimizer.Step();
            var muon = optimizer.Parts[0].Groups[0].Options.LearningRate;
            var adamw = optimizer.Parts[1].Groups[0].Options.LearningRate;
            Assert.Equal(new CosineDecay(0.02, 40).At(step + 1), muon);
            Assert.Equal(muon * 0.2, adamw, 15);
        }
        Assert.True(last < first / 4, $"loss {first} -> {last}");
        Assert.Equal("muon+adamw", optimizer.Name);
        Assert.Equal(40, optimizer.StepCount);
    }

    [Fact]
    public void The_combination_refuses_shared_parameters_a_model_without_hidden_matrices_and_another_optimizers_state()
    {
        var w = new Parameter<double>("w", 2, 2);
        var e = Assert.Throws<ArgumentException>(() => new MultiOptimizer<double>(new Muon<double>([w]), new AdamW<double>([w])));
        Assert.Contains("Parameter 'w' is given to two optimizers", e.Message);

        e = Assert.Throws<ArgumentException>(() => MuonSplit.Create(Model("mlp:", [4], 3)));   // softmax regression: only the output layer
        Assert.Contains("no 2-D hidden weights for Muon", e.Message);

        var state = new StateDict();
        new Adam<float>(Model("mlp:8", [4], 3).Parameters).SaveState(state);
        var load = Assert.Throws<InvalidDataException>(() => MuonSplit.Create(Model("mlp:8", [4], 3)).LoadState(state));
        Assert.Contains("is for 'adam', not 'muon+adamw'", load.Message);
    }

    public static TheoryData<string, int[]> Resumable => new()
    {
        { "adafactor", [3, 5] },
        { "adafactor", [2, 3, 4] },
        { "muon", [5, 3] },
    };

    [Theory]
    [MemberData(nameof(Resumable))]
    public void Matrix_state_saved_by_name_resumes_bit_for_bit(string name, int[] shape)
    {
        var c = TorchReference.Root.GetProperty("matrices").EnumerateArray()
            .First(m => m.GetProperty("optimizer").GetString() == name && m.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).SequenceEqual(shape));
        var problem = new LeastSquares(c);
        var (a, wa) = Build();
        for (int t = 0; t < 10; t++) Step(a, wa);
        var state = new StateDict();
        a.SaveState(state);
        if (name == "adafactor")
        {
            var rowVar = new double[shape[..^1].Aggregate(1, (x, y) => x * y)];
            state.CopyTo<double>("optimizer.state.weight.row_var", rowVar);     // factored: one value per row
            Assert.False(state.Contains("optimizer.state.weight.variance"));
        }
        var (b, wb) = Build();
        wa.Value.Span.CopyTo(wb.Value.Span);
        b.LoadState(state);
        for (int t = 10; t < 30; t++)
        {
            Step(a, wa);
            Step(b, wb);
            Assert.Equal(wa.Value.ToArray(), wb.Value.ToArray());
        }

        (Optimizer<double>, Parameter<double>) Build()
        {
            var w = problem.Parameters()[0];
            return (Optimizers.Create(name, [w], TorchReference.Options(c)), w);
        }

        void Step(Optimizer<double> o, Parameter<double> w)
        {
            problem.Evaluate([w]);
            o.Step();
        }
    }
}
