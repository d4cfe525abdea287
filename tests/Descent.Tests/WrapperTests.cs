using System.Text.Json;
using Descent.Landscapes;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.State;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// The wrappers around optimizers (Lookahead, EMA and SWA weight averaging, gradient accumulation) against
/// torch.optim with torch.optim.swa_utils.AveragedModel and a transcription of optax.lookahead
/// (tools/reference/generate_beyond.py), composition, and bit-identical resumption.
/// </summary>
public class WrapperTests
{
    private const double Tolerance = 1e-10;

    public static IEnumerable<object[]> Cases =>
        Enumerable.Range(0, TorchReference.Beyond.GetProperty("wrapped").GetArrayLength()).Select(i => new object[] { i });

    private static OptimizerWrapper<double> Make(JsonElement w) => w.GetProperty("kind").GetString() switch
    {
        "lookahead" => new Lookahead<double>(w.GetProperty("k").GetInt32(), w.GetProperty("alpha").GetDouble()),
        "ema" => WeightAveraging<double>.Ema(w.GetProperty("decay").GetDouble(), w.TryGetProperty("warmup", out var u) && u.GetBoolean()),
        "swa" => WeightAveraging<double>.Swa(w.GetProperty("start").GetInt64()),
        "sam" => new Sam<double>(w.GetProperty("rho").GetDouble()),
        "asam" => new Sam<double>(w.GetProperty("rho").GetDouble(), adaptive: true),
        var k => throw new InvalidDataException(k),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Wrapped_trajectory_and_evaluation_point_match_torch(int index)
    {
        var c = TorchReference.Beyond.GetProperty("wrapped")[index];
        var landscape = Landscape.Get(c.GetProperty("function").GetString()!);
        var xy = Parameter<double>.FromValues(Trajectory.ParameterName, c.GetProperty("start")[0].GetDouble(), c.GetProperty("start")[1].GetDouble());
        var opt = Optimizers.Create(c.GetProperty("optimizer").GetString()!, [xy], TorchReference.Options(c));
        foreach (var w in c.GetProperty("wrappers").EnumerateArray()) opt.Wrap(Make(w));
        var path = TorchReference.Path(c);
        var eval = c.GetProperty("eval");
        string what = $"{c.GetProperty("optimizer").GetString()} {c.GetProperty("wrappers")} on {c.GetProperty("function").GetString()}";
        for (int k = 0; k < path.Length; k++)
        {
            var v = xy.Value.Span;
            for (int j = 0; j < 2; j++)
                Assert.True(TorchReference.RelativeError(v[j], path[k][j]) <= Tolerance, $"{what}: step {k}, p[{j}] = {v[j]:R}, torch {path[k][j]:R}");
            double[] training = [v[0], v[1]];
            opt.Eval();
            for (int j = 0; j < 2; j++)
            {
                double expected = eval[k][j].GetDouble();
                Assert.True(TorchReference.RelativeError(v[j], expected) <= Tolerance, $"{what}: step {k}, evaluation point [{j}] = {v[j]:R}, torch {expected:R}");
            }
            opt.Train();
            Assert.Equal(training, new[] { v[0], v[1] });
            if (k == path.Length - 1) break;
            double Closure()
            {
                var p = xy.Value.Span;
                double loss = landscape.Evaluate(p[0], p[1], out double gx, out double gy);
                (xy.Grad.Span[0], xy.Grad.Span[1]) = (gx, gy);
                return loss;
            }
            if (opt.RequiresClosure) Assert.Equal(path[k][2], opt.Step(Closure), 1e-9);   // SAM: the loss at the unperturbed point
            else
            {
                Closure();
                opt.Step();
            }
        }
    }

    [Fact]
    public void Accumulating_k_micro_batches_equals_one_batch_of_k_times_the_size()
    {
        // SGD with a mean-reduced loss: 4 micro-batches of 8 examples make the update one batch of 32 makes.
        const int k = 4, b = 8, inputs = 5, classes = 3;
        var rng = new Rng(7);
        double[] x = [.. Enumerable.Range(0, k * b * inputs).Select(_ => rng.NextNormal())];
        int[] y = [.. Enumerable.Range(0, k * b).Select(i => i % classes)];
        var loss = Losses.Parse("cross-entropy");
        Sequential<double> Model() => new([inputs, 6, classes], Activation.Tanh, Initialization.Torch, new Rng(3));
        void Backward(Sequential<double> model, int start, int count)
        {
            var outputs = model.Forward(x.AsSpan(start * inputs, count * inputs), count);
            var grad = new double[outputs.Length];
            Losses.Evaluate(loss, outputs, y.AsSpan(start, count), count, grad, out _);
            model.Backward(x.AsSpan(start * inputs, count * inputs), grad, count, accumulate: false);
        }

        var big = Model();
        var sgdBig = Optimizers.Create("sgd", big.Parameters, new SgdOptions { LearningRate = 0.5, Momentum = 0.9 });
        var small = Model();
        var sgdSmall = Optimizers.Create("sgd", small.Parameters, new SgdOptions { LearningRate = 0.5, Momentum = 0.9 });
        var accumulation = sgdSmall.Wrap(new GradientAccumulation<double>(k));
        for (int update = 0; update < 3; update++)
        {
            Backward(big, 0, k * b);
            sgdBig.Step();
            for (int m = 0; m < k; m++)
            {
                Backward(small, m * b, b);
                sgdSmall.Step();
                Assert.Equal(update + (m == k - 1 ? 1 : 0), sgdSmall.StepCount);
            }
            Assert.Equal(0, accumulation.Pending);
        }
        double[] a = big.Values.ToArray(), s = small.Values.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - s[i]) <= 1e-13 * Math.Max(1, Math.Abs(a[i])), $"weight {i}: {a[i]:R} vs {s[i]:R}");
        Assert.NotEqual(Model().Values.ToArray(), s);
    }

    [Fact]
    public void Composed_wrappers_resume_bit_identically_by_parameter_name()
    {
        // Accumulation, then Lookahead around AdamW, with an EMA of the result; cut after 13 calls (mid-accumulation).
        static Optimizer<double> Build(Parameter<double> a, Parameter<double> b)
        {
            var opt = Optimizers.Create("adamw", [a, b], new AdamWOptions { LearningRate = 0.05 });
            opt.Wrap(new GradientAccumulation<double>(2));
            opt.Wrap(new Lookahead<double>(3, 0.5));
            opt.Wrap(WeightAveraging<double>.Ema(0.9, warmup: true));
            return opt;
        }
        static void Gradient(Parameter<double> a, Parameter<double> b, int call)
        {
            for (int i = 0; i < a.Length; i++) a.Grad.Span[i] = a.Value.Span[i] - Math.Sin(call + i);
            for (int i = 0; i < b.Length; i++) b.Grad.Span[i] = 2 * b.Value.Span[i] + Math.Cos(call * i);
        }
        static (Parameter<double>, Parameter<double>) Fresh() => (Parameter<double>.FromValues("a", 1.0, -2.0, 0.5), Parameter<double>.FromValues("b", 0.3, 0.7));

        var (a, b) = Fresh();
        var straight = Build(a, b);
        for (int call = 0; call < 40; call++) { Gradient(a, b, call); straight.Step(); }
        straight.Eval();
        double[] evalStraight = [.. a.Value.ToArray(), .. b.Value.ToArray()];
        straight.Train();

        var (c, d) = Fresh();
        var first = Build(c, d);
        for (int call = 0; call < 13; call++) { Gradient(c, d, call); first.Step(); }
        var state = new StateDict();
        first.SaveState(state);
        var (e, f) = (Parameter<double>.FromValues("a", c.Value.ToArray()), Parameter<double>.FromValues("b", d.Value.ToArray()));
        var resumed = Build(e, f);
        resumed.LoadState(state);
        for (int call = 13; call < 40; call++) { Gradient(e, f, call); resumed.Step(); }

        Assert.Equal(a.Value.ToArray(), e.Value.ToArray());
        Assert.Equal(b.Value.ToArray(), f.Value.ToArray());
        resumed.Eval();
        Assert.Equal(evalStraight, e.Value.ToArray().Concat(f.Value.ToArray()).ToArray());
        resumed.Train();
    }

    [Fact]
    public void Loading_state_saved_with_other_wrappers_is_refused_naming_them()
    {
        var p = Parameter<double>.FromValues("w", 1.0);
        var saver = Optimizers.Create("sgd", [p]);
        saver.Wrap(new Lookahead<double>());
        var state = new StateDict();
        saver.SaveState(state);
        var loader = Optimizers.Create("sgd", [Parameter<double>.FromValues("w", 1.0)]);
        loader.Wrap(WeightAveraging<double>.Ema(0.99));
        var e = Assert.Throws<InvalidDataException>(() => loader.LoadState(state));
        Assert.Contains("'lookahead'", e.Message);
        Assert.Contains("'ema'", e.Message);
        var bare = Optimizers.Create("sgd", [Parameter<double>.FromValues("w", 1.0)]);
        Assert.Contains("'none'", Assert.Throws<InvalidDataException>(() => bare.LoadState(state)).Message);
    }

    [Fact]
    public void Loading_state_saved_with_other_wrapper_settings_is_refused_naming_the_setting()
    {
        (Func<OptimizerWrapper<double>> Saved, Func<OptimizerWrapper<double>> Loaded, string Message)[] cases =
        [
            (() => new Lookahead<double>(5, 0.5), () => new Lookahead<double>(6, 0.5), "lookahead with k 5, this optimizer's is 6"),
            (() => new Lookahead<double>(5, 0.5), () => new Lookahead<double>(5, 0.8), "lookahead with alpha 0.5, this optimizer's is 0.8"),
            (() => WeightAveraging<double>.Ema(0.99), () => WeightAveraging<double>.Ema(0.999), "ema with decay 0.99, this optimizer's is 0.999"),
            (() => WeightAveraging<double>.Ema(0.99), () => WeightAveraging<double>.Ema(0.99, warmup: true), "ema with warmup 0, this optimizer's is 1"),
            (() => WeightAveraging<double>.Swa(10), () => WeightAveraging<double>.Swa(20), "swa with start 10, this optimizer's is 20"),
            (() => new Sam<double>(0.05), () => new Sam<double>(0.1), "sam with rho 0.05, this optimizer's is 0.1"),
        ];
        foreach (var (saved, loaded, message) in cases)
        {
            var saver = Optimizers.Create("sgd", [Parameter<double>.FromValues("w", 1.0)]);
            saver.Wrap(saved());
            var state = new StateDict();
            saver.SaveState(state);
            var same = Optimizers.Create("sgd", [Parameter<double>.FromValues("w", 1.0)]);
            same.Wrap(saved());
            same.LoadState(state);
            var other = Optimizers.Create("sgd", [Parameter<double>.FromValues("w", 1.0)]);
            other.Wrap(loaded());
            Assert.Contains(message, Assert.Throws<InvalidDataException>(() => other.LoadState(state)).Message);
        }
    }

    [Fact]
    public void Averaging_a_schedule_free_optimizer_is_refused_because_it_would_replace_x()
    {
        var sf = Optimizers.Create("schedule-free-adamw", [Parameter<double>.FromValues("w", 1.0)]);
        var e = Assert.Throws<ArgumentException>(() => sf.Wrap(WeightAveraging<double>.Ema(0.9)));
        Assert.Contains("own average of the iterates", e.Message);
        Assert.Throws<ArgumentException>(() => sf.Wrap(WeightAveraging<double>.Swa(3)));
        sf.Wrap(new Lookahead<double>());   // Lookahead moves the training point itself, which x then averages
    }

    [Fact]
    public void Loading_a_state_in_evaluation_mode_is_refused()
    {
        var p = Parameter<double>.FromValues("w", 1.0);
        var saver = Optimizers.Create("sgd", [p]);
        saver.Wrap(WeightAveraging<double>.Ema(0.9));
        var state = new StateDict();
        saver.SaveState(state);
        saver.Eval();
        Assert.Contains("call Train() before loading", Assert.Throws<InvalidOperationException>(() => saver.LoadState(state)).Message);
        saver.Train();
        saver.LoadState(state);
    }

    [Fact]
    public void A_multi_optimizer_evaluates_each_part_at_its_own_evaluation_point_and_restores_it()
    {
        // Schedule-free AdamW on "a" alone and inside a MultiOptimizer with an EMA'd SGD on "b": Eval gives the same x.
        static (Parameter<double> A, Parameter<double> B, Optimizer<double> Multi, Optimizer<double> Alone, Parameter<double> Reference) Build()
        {
            var a = Parameter<double>.FromValues("a", 1.0, -2.0);
            var b = Parameter<double>.FromValues("b", 0.5);
            var r = Parameter<double>.FromValues("a", 1.0, -2.0);
            var sgd = Optimizers.Create("sgd", [b], new SgdOptions { LearningRate = 0.1 });
            sgd.Wrap(WeightAveraging<double>.Ema(0.5));
            return (a, b, new MultiOptimizer<double>(Optimizers.Create("schedule-free-adamw", [a]), sgd), Optimizers.Create("schedule-free-adamw", [r]), r);
        }
        var (a, b, multi, alone, reference) = Build();
        Assert.True(multi.HasEvaluationPoint);
        for (int t = 0; t < 5; t++)
        {
            a.Grad.Span[0] = reference.Grad.Span[0] = a.Value.Span[0] - 3;
            a.Grad.Span[1] = reference.Grad.Span[1] = 2 * a.Value.Span[1];
            b.Grad.Span[0] = b.Value.Span[0];
            multi.Step();
            alone.Step();
        }
        double[] y = a.Value.ToArray(), bTrained = b.Value.ToArray();
        multi.Eval();
        alone.Eval();
        Assert.Equal(reference.Value.ToArray(), a.Value.ToArray());
        Assert.NotEqual(y, a.Value.ToArray());
        Assert.NotEqual(bTrained, b.Value.ToArray());   // the SGD part's EMA
        multi.Train();
        Assert.Equal(y, a.Value.ToArray());
        Assert.Equal(bTrained, b.Value.ToArray());
    }

    [Fact]
    public void Bad_wrapper_settings_are_refused_with_the_valid_range()
    {
        Assert.Contains("at least 1", Assert.Throws<ArgumentException>(() => new GradientAccumulation<double>(0)).Message);
        Assert.Contains("(0, 1]", Assert.Throws<ArgumentException>(() => new Lookahead<double>(5, 1.5)).Message);
        Assert.Contains("(0, 1)", Assert.Throws<ArgumentException>(() => WeightAveraging<double>.Ema(1.0)).Message);
        var p = Parameter<double>.FromValues("w", 1.0);
        var lbfgs = Optimizers.Create("lbfgs", [p]);
        Assert.Contains("closure", Assert.Throws<ArgumentException>(() => lbfgs.Wrap(new Lookahead<double>())).Message);
        var sgd = Optimizers.Create("sgd", [p]);
        sgd.Step();
        Assert.Contains("before its first step", Assert.Throws<InvalidOperationException>(() => sgd.Wrap(new Lookahead<double>())).Message);
        Assert.Contains("above 0", Assert.Throws<ArgumentException>(() => new Sam<double>(0)).Message);
        var sam = Optimizers.Create("sgd", [Parameter<double>.FromValues("w", 1.0)]);
        sam.Wrap(new Sam<double>());
        Assert.True(sam.RequiresClosure);
        Assert.Contains("Step(closure)", Assert.Throws<InvalidOperationException>(() => sam.Step()).Message);
        // Named by the wrapper that takes a second gradient, whichever is added second.
        Assert.StartsWith("sam cannot be combined with gradient accumulation", Assert.Throws<ArgumentException>(() => sam.Wrap(new GradientAccumulation<double>(2))).Message);
        var accumulating = Optimizers.Create("sgd", [Parameter<double>.FromValues("w", 1.0)]);
        accumulating.Wrap(new GradientAccumulation<double>(2));
        Assert.Contains("sam cannot be combined with gradient accumulation: a second gradient would be taken of one minibatch while the update averages several; wrap the optimizer in one of the two only.",
            Assert.Throws<ArgumentException>(() => accumulating.Wrap(new Sam<double>())).Message);
    }
}

/// <summary><c>descent train</c> with the wrappers: accumulation, Lookahead, EMA and SWA.</summary>
public sealed class WrapperTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-wrappers").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Out(string name) => Path.Combine(_dir, name);

    private static Dictionary<string, (int[] Shape, float[] Data)> Weights(string dir) => SafeTensors.Load(Path.Combine(dir, "model.safetensors"));

    [Theory]
    [InlineData()]
    [InlineData("--clip-norm", "0.05")]                       // every update clipped: the mean gradient, not each minibatch's
    [InlineData("--clip-value", "0.01", "--clip-norm", "0.02")]
    public void Accumulating_four_batches_of_8_trains_like_batches_of_32(params string[] clip)
    {
        // 512 moons: 64 batches of 8 or 16 of 32 per epoch, so both runs draw the same examples in the same order.
        string[] common = ["train", "--n", "512", "--hidden", "16", "-o", "sgd", "--lr", "0.2", "--momentum", "0.9", "--format", "json", .. clip];
        var (code, outA, err) = CliRunner.Run([.. common, "--steps", "40", "--batch", "32", "--out", Out("big")]);
        Assert.True(code == 0, err);
        (code, var outB, err) = CliRunner.Run([.. common, "--steps", "40", "--batch", "8", "--accumulate", "4", "--out", Out("micro")]);
        Assert.True(code == 0, err);
        var (a, b) = (Weights(Out("big")), Weights(Out("micro")));
        foreach (var (name, (_, data)) in a)
            for (int i = 0; i < data.Length; i++)
                Assert.True(Math.Abs(data[i] - b[name].Data[i]) <= 1e-5f * Math.Max(1, Math.Abs(data[i])), $"{name}[{i}]: {data[i]} vs {b[name].Data[i]}");
        Assert.Equal(40, System.Text.Json.JsonDocument.Parse(outB).RootElement.GetProperty("steps").GetInt64());
        if (clip.Length == 0) return;
        // Resumed from its checkpoint halfway, the accumulated and clipped run continues bit for bit.
        (code, _, err) = CliRunner.Run([.. common, "--batch", "8", "--accumulate", "4", "--steps", "20", "--checkpoint-every", "20", "--out", Out("half")]);
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run(["train", "--resume", Out("half"), "--steps", "40"]);
        Assert.True(code == 0, err);
        var resumed = Weights(Out("half"));
        foreach (var (name, (_, data)) in b) Assert.Equal(data, resumed[name].Data);
    }

    [Fact]
    public void A_clip_after_accumulation_clips_the_mean_gradient_in_the_order_given()
    {
        var p = Parameter<double>.FromValues("p", 0, 0);
        var q = Parameter<double>.FromValues("q", 0);
        var sgd = Optimizers.Create("sgd", [p, q], new SgdOptions { LearningRate = 1 });
        sgd.Wrap(new GradientAccumulation<double>(2));
        var clip = sgd.Wrap(new GradientClip<double>(maxNorm: 1, order: [q, p]));
        void Step(double a, double b, double c)
        {
            p.Grad.Span[0] = a;
            p.Grad.Span[1] = b;
            q.Grad.Span[0] = c;
            sgd.Step();
        }
        Step(6, 0, 0);    // alone, each of these has norm 6 and would be scaled to 1 before averaging: p = (-0.5, -0.5)
        Step(0, 6, 0);
        double s = 1 / (Math.Sqrt(18) + 1e-6);   // the mean (3, 3, 0) has norm sqrt(18)
        Assert.Equal(-3 * s, p.Value.Span[0], 15);
        Assert.Equal(-3 * s, p.Value.Span[1], 15);
        Assert.Equal(0, q.Value.Span[0]);
        Assert.Equal(1, clip.MaxNorm);
        Assert.Contains("exactly the optimizer's parameters", Assert.Throws<ArgumentException>(() =>
            Optimizers.Create("sgd", [p, q], new SgdOptions()).Wrap(new GradientClip<double>(1, order: [p]))).Message);
        Assert.Contains("each once", Assert.Throws<ArgumentException>(() =>
            Optimizers.Create("sgd", [p, q], new SgdOptions()).Wrap(new GradientClip<double>(1, order: [p, p, q]))).Message);
        Assert.Contains("max_norm or a clip_value", Assert.Throws<ArgumentException>(() => new GradientClip<double>(0)).Message);
    }

    [Theory]
    [InlineData("--ema", "0.9", true)]
    [InlineData("--swa-start", "50", true)]
    [InlineData("--lookahead", "7", true)]   // 150 updates end 3 past a sync, so the slow weights differ from the fast
    [InlineData("--sam", "0.05", false)]     // SAM's evaluation point is the weights themselves
    public void A_wrapped_run_exports_its_evaluation_point_and_resumes_bit_identically(string flag, string value, bool averaged)
    {
        string[] common = ["train", "--hidden", "16", "-o", "adam", "--lr", "0.02", "--eval-every", "50", "--checkpoint-every", "50", flag, value];
        var (code, _, err) = CliRunner.Run([.. common, "--steps", "150", "--out", Out("straight")]);
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run([.. common, "--steps", "100", "--out", Out("cut")]);
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run("train", "--resume", Out("cut"), "--steps", "150");
        Assert.True(code == 0, err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Out("straight"), "model.safetensors")), File.ReadAllBytes(Path.Combine(Out("cut"), "model.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(Out("straight"), "metrics.csv")), File.ReadAllText(Path.Combine(Out("cut"), "metrics.csv")));

        // The exported weights are the average, not the last iterate the checkpoint holds.
        var exported = Weights(Out("straight"));
        var trained = StateDict.Load(Path.Combine(Out("straight"), "checkpoint.state"));
        var raw = new float[exported.Values.Sum(t => t.Data.Length)];
        trained.CopyTo<float>("model.values", raw);
        Assert.Equal(!averaged, raw.Sum(v => (double)v) == exported.Values.SelectMany(t => t.Data).Sum(v => (double)v));
    }

    [Theory]
    [InlineData("--lookahead-alpha has no effect without --lookahead", "--lookahead-alpha", "0.5")]
    [InlineData("--ema-warmup has no effect without --ema", "--ema-warmup")]
    [InlineData("not both", "--ema", "0.99", "--swa-start", "10")]
    [InlineData("Invalid EMA decay 1.5", "--ema", "1.5")]
    [InlineData("--sam-adaptive has no effect without --sam", "--sam-adaptive")]
    [InlineData("Choose SAM or gradient accumulation, not both: SAM's second gradient would be taken of one minibatch while the update averages several; drop one of them (set with --sam and --accumulate).", "--sam", "0.05", "--accumulate", "2")]
    [InlineData("Invalid SAM rho", "--sam=-1")]
    [InlineData("Invalid EMA decay", "--ema=-0.5")]
    public void Bad_wrapper_options_are_refused_before_anything_is_written(string message, params string[] args)
    {
        var (code, _, err) = CliRunner.Run(["train", "--steps", "5", "--out", Out("bad"), .. args]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, err);
        Assert.False(File.Exists(Path.Combine(Out("bad"), "config.json")));
    }
}
