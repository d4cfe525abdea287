using Descent.Nn;
using Descent.Optim;
using Descent.Schedules;
using Descent.State;
using Xunit;

namespace Descent.Tests;

/// <summary>The C# example of the README, kept compiling and working.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void Readme_example_fits_its_parameters()
    {
        string path = Path.Combine(Path.GetTempPath(), $"adamw-{Guid.NewGuid():N}.state");
        try
        {
            // --- README example begins
            // Two named parameters; fit them to targets by minimizing 0.5 * |p - target|^2.
            var weight = new Parameter<float>("layer.weight", 4, 3);
            var bias = new Parameter<float>("layer.bias", 4);
            float[] target = [.. Enumerable.Range(0, 16).Select(i => MathF.Sin(i))];

            var adamw = new AdamW<float>([weight, bias], new AdamWOptions { LearningRate = 0.05, WeightDecay = 1e-3 });
            adamw.AddGroup("*.bias", o => o.WeightDecay = 0);                  // no decay on biases
            adamw.Schedule("lr", new Warmup(50, new CosineDecay(0.05, 450)));   // any hyperparameter, by its PyTorch name
            adamw.Schedule("beta1", new Linear(0.95, 0.9, 500));

            for (int step = 0; step < 500; step++)
            {
                adamw.ZeroGrad();
                int k = 0;
                foreach (var p in new[] { weight, bias })          // your backward pass goes here
                    for (int i = 0; i < p.Length; i++, k++)
                        p.Grad.Span[i] = p.Value.Span[i] - target[k];
                GradientClipping.ClipByGlobalNorm([weight, bias], maxNorm: 1.0);
                adamw.Step();
            }

            var state = new StateDict();                           // optimizer + schedule state, by parameter name
            adamw.SaveState(state);
            state.Save(path);                                      // atomic: temporary file, then rename

            float error = target.Zip([.. weight.Value.ToArray(), .. bias.Value.ToArray()], (t, p) => MathF.Abs(t - p)).Max();
            Console.WriteLine($"after {adamw.StepCount} steps: largest |p - target| = {error:F3}");
            // --- README example ends
            Assert.True(error < 0.01, $"error {error}");

            for (int i = 0; i < 12; i++) Assert.Equal(target[i], weight.Value.Span[i], 2);
            for (int i = 0; i < 4; i++) Assert.Equal(target[12 + i], bias.Value.Span[i], 3);
            Assert.Equal(500, StateDict.Load(path).GetLong("optimizer.step_count"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>The README's training examples.</summary>
public class ReadmeTrainingExampleTests
{
    [Fact]
    public void Fit_trains_a_network_described_by_a_config()
    {
        // --- README fit example begins
        var trainer = new Descent.Training.Trainer(new Descent.Training.TrainingConfig
        {
            Data = "moons",
            N = 500,
            Noise = 0.1,
            Hidden = [64, 64],
            Activation = "relu",
            Optimizer = "adam",
            Hyperparameters = new() { ["lr"] = 0.01 },
            Schedule = "cosine",
            Batch = 32,
            Steps = 2000,
            Seed = 1,
        });
        var result = trainer.Fit();                 // or trainer.Run("runs/moons") to write metrics and checkpoints
        Console.WriteLine($"test accuracy {result.TestAccuracy:P1}");
        // --- README fit example ends
        Assert.True(result.TrainAccuracy >= 0.99);
    }

    [Fact]
    public void The_loop_example_runs_with_an_observer()
    {
        // --- README loop observer example begins
        var trainer = new Descent.Training.Trainer(new Descent.Training.TrainingConfig { Data = "moons", Ema = 0.99, Steps = 600, Seed = 2 });
        var log = new Descent.Training.MetricsLog();                             // every evaluation's row, in memory
        var outcome = new Descent.Training.TrainingLoop(trainer, log)
        {
            EvalEvery = 100,                                                     // rows at 100, 200, ..., 600 (evaluated at the EMA's weights)
            DivergenceThreshold = 3 * Math.Log(2),                               // stop when a minibatch loss passes 3x chance level
        }.Run();
        if (outcome.Divergence is { } d) Console.WriteLine(d.Describe());
        foreach (var row in log.Rows) Console.WriteLine($"step {row.Step}: test loss {row.TestLoss:F3}, accuracy {row.TestAccuracy:P1}");
        // --- README loop observer example ends
        Assert.Null(outcome.Divergence);
        Assert.Equal([100L, 200, 300, 400, 500, 600], log.Rows.Select(r => r.Step));
        Assert.True(log.Rows[^1].TestAccuracy > 0.8, $"{log.Rows[^1].TestAccuracy}");
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Descent.slnx"))) root = root.Parent!;
        string readme = File.ReadAllText(Path.Combine(root.FullName, "README.md"));
        Assert.Contains("var outcome = new Descent.Training.TrainingLoop(trainer, log)", readme);
        Assert.Contains("    DivergenceThreshold = 3 * Math.Log(2),                               // stop when a minibatch loss passes 3x chance level", readme);
    }

    [Fact]
    public void The_muon_split_example_splits_and_schedules_both_parts()
    {
        // --- README Muon example begins
        var mlp = new Descent.Nn.Sequential<float>([784, 128, 64, 10], Descent.Nn.Activation.ReLU, Descent.Nn.Initialization.Torch, new Descent.Numerics.Rng(1));
        var (hidden, rest) = MuonSplit.Partition(mlp);   // hidden: layers.0.weight, layers.2.weight; rest: the biases, layers.4.weight (output)
        var muon = MuonSplit.Create(mlp, new MuonOptions { LearningRate = 0.02 }, new AdamWOptions { LearningRate = 3e-4 });
        muon.Schedule("lr", new CosineDecay(0.02, 1000));   // AdamW's lr follows at 3e-4 / 0.02 of it
        // --- README Muon example ends
        Assert.Equal(["layers.0.weight", "layers.2.weight"], hidden.Select(p => p.Name));
        Assert.Equal(["layers.0.bias", "layers.2.bias", "layers.4.weight", "layers.4.bias"], rest.Select(p => p.Name));
        muon.Step();
        Assert.Equal(new CosineDecay(0.02, 1000).At(1) * 3e-4 / 0.02, muon.Groups[1].Options.LearningRate, 15);
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Descent.slnx"))) root = root.Parent!;
        string readme = File.ReadAllText(Path.Combine(root.FullName, "README.md"));
        Assert.Contains("var (hidden, rest) = MuonSplit.Partition(mlp);   // hidden: layers.0.weight, layers.2.weight; rest: the biases, layers.4.weight (output)", readme);
        Assert.Contains("var muon = MuonSplit.Create(mlp, new MuonOptions { LearningRate = 0.02 }, new AdamWOptions { LearningRate = 3e-4 });", readme);
    }

    [Fact]
    public void A_cnn_is_built_from_a_spec_and_trained_by_hand()
    {
        // --- README cnn example begins
        var (train, test) = Descent.Data.Mnist.Embedded();                  // 8,000 + 2,000 digits, each a [1, 28, 28] image
        var cnn = Descent.Nn.ModelSpec.Build<float>("conv:8,k=3-relu-maxpool:2-conv:16,k=3-relu-maxpool:2-flatten-linear:64-relu-linear",
            train.Shape, outputs: 10, Descent.Nn.Initialization.Torch, new Descent.Numerics.Rng(0));
        // cnn.LoadSafeTensors("model.safetensors");                        // or start from saved (or torch-made) weights, by state_dict name
        var sgd = new Sgd<float>(cnn.Parameters, new SgdOptions { LearningRate = 0.05, Momentum = 0.9 });
        var batches = new Descent.Data.Batches(train, 64, new Descent.Numerics.Rng(1));
        var x = new float[64 * train.Dimensions];
        var y = new int[64];
        var dLogits = new float[64 * 10];
        for (int step = 0; step < 300; step++)
        {
            int b = batches.Next(x, y);
            var logits = cnn.Forward(x, b);
            Descent.Nn.Losses.Evaluate(Descent.Nn.Loss.CrossEntropy, logits, y.AsSpan(0, b), b, dLogits.AsSpan(0, 10 * b), out _);
            cnn.Backward(x, dLogits, b, accumulate: false);
            sgd.Step();
        }
        cnn.Training = false;                                               // evaluation mode, as PyTorch's eval()
        var testLogits = cnn.Forward(test.Features, test.Count);
        Descent.Nn.Losses.Evaluate(Descent.Nn.Loss.CrossEntropy, testLogits, test.Labels, test.Count, [], out int correct);
        Console.WriteLine($"test accuracy {(double)correct / test.Count:P1}");
        // --- README cnn example ends
        Assert.True(correct >= 0.9 * test.Count, $"{correct} of {test.Count}");
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias", "layers.7.weight", "layers.7.bias", "layers.9.weight", "layers.9.bias"],
            cnn.Parameters.Select(p => p.Name));
    }

    [Fact]
    public void A_hand_written_loop_trains_too()
    {
        // --- README loop example begins
        var rng = new Descent.Numerics.Rng(42);
        var data = Descent.Data.Moons.Generate(500, noise: 0.1, flip: 0, stretchX: 1, stretchY: 1, rng);
        var model = new Descent.Nn.Sequential<float>([2, 64, 64, 2], Descent.Nn.Activation.ReLU, Descent.Nn.Initialization.Torch, rng);
        var sgd = new Sgd<float>(model.Parameters, new SgdOptions { LearningRate = 0.15, Momentum = 0.9 });
        sgd.Schedule("lr", new PowerLaw(0.15, tau: 500, alpha: 1));
        var batches = new Descent.Data.Batches(data, 32, rng);
        var x = new float[32 * 2];
        var y = new int[32];
        var dLoss = new float[32 * 2];
        for (int step = 0; step < 1500; step++)
        {
            int b = batches.Next(x, y);
            var logits = model.Forward(x, b);
            double loss = Descent.Nn.Losses.Evaluate(Descent.Nn.Loss.CrossEntropy, logits, y.AsSpan(0, b), b, dLoss.AsSpan(0, 2 * b), out _);
            model.Backward(x, dLoss, b, accumulate: false);   // overwrite the gradients: no ZeroGrad pass needed
            sgd.Step();
        }
        // --- README loop example ends
        Descent.Nn.Losses.Evaluate(Descent.Nn.Loss.CrossEntropy, model.Forward(data.Features, data.Count), data.Labels, data.Count, [], out int correct);
        Assert.True(correct >= 0.98 * data.Count, $"{correct} of {data.Count}");

        // --- README curvature example begins
        var curvature = new Descent.Analysis.Curvature(model, data, Descent.Nn.Loss.CrossEntropy);
        double[] top = curvature.TopEigenvalues(count: 3, steps: 40, new Descent.Numerics.Rng(1));  // Lanczos
        double trace = curvature.Trace(probes: 200, new Descent.Numerics.Rng(2));                   // Hutchinson
        var density = curvature.SpectralQuadrature(steps: 30, probes: 5, new Descent.Numerics.Rng(3)); // SLQ nodes and weights
        // --- README curvature example ends
        Assert.True(top[0] >= top[1] && top[1] >= top[2] && top[0] > 0, string.Join(", ", top));
        Assert.Equal(top[0], curvature.ExtremeEigenvalues(100, new Descent.Numerics.Rng(4)).Max, 2);   // power iteration agrees
        Assert.True(double.IsFinite(trace));
        Assert.All(density, d => Assert.Equal(1, d.Weights.Sum(), 9));
    }

    [Fact]
    public void Readme_cnn_curvature_example_gives_exact_products_for_a_convolutional_network()
    {
        // --- README cnn curvature example begins
        // Any model of the engine, built in double precision and in evaluation mode (batch norm and dropout fixed).
        var digits = Descent.Data.Mnist.Embedded().Train.Slice(0, 64);
        var cnn = ModelSpec.Build<double>("conv:4,k=3-tanh-maxpool:2-flatten-linear", digits.Shape, 10, Initialization.Torch, new Descent.Numerics.Rng(1));
        cnn.Training = false;
        var curvature = new Descent.Analysis.Curvature(cnn, digits, Loss.CrossEntropy);
        double sharpness = curvature.TopEigenvalues(count: 1, steps: 30, new Descent.Numerics.Rng(2))[0];
        var v = new double[curvature.Dimension];
        var hv = new double[curvature.Dimension];
        v[0] = 1;
        curvature.HessianTimes(v, hv);   // the first column of the Hessian, exactly (the R-operator, no finite differences)
        // --- README cnn curvature example ends
        Assert.True(sharpness > 0 && double.IsFinite(sharpness));
        // H e_0 against central differences of the gradient (the products are exact; differences agree to their own error).
        var plus = new double[curvature.Dimension];
        var minus = new double[curvature.Dimension];
        var delta = new double[curvature.Dimension];
        delta[0] = 1e-5;
        curvature.Loss(delta, plus);
        delta[0] = -1e-5;
        curvature.Loss(delta, minus);
        for (int i = 0; i < hv.Length; i++) Assert.Equal((plus[i] - minus[i]) / 2e-5, hv[i], 5);
    }
}

/// <summary>The README's schedule-free example: train at y, evaluate at x.</summary>
public class ReadmeScheduleFreeExampleTests
{
    [Fact]
    public void Readme_schedule_free_example_evaluates_at_the_average()
    {
        // --- README schedule-free example begins
        var w = new Parameter<double>("w", 3);
        double[] target = [1.0, -2.0, 0.5];
        var opt = new ScheduleFreeAdamW<double>([w], new ScheduleFreeAdamWOptions { LearningRate = 0.05, WarmupSteps = 20 });
        for (int step = 0; step < 2000; step++)
        {
            for (int i = 0; i < 3; i++) w.Grad.Span[i] = w.Value.Span[i] - target[i];   // gradients at y
            opt.Step();
        }
        opt.Eval();                                   // the parameters now hold x, the average: evaluate, export
        double[] x = w.Value.ToArray();
        opt.Train();                                  // back to y, exactly, before the next Step
        // --- README schedule-free example ends
        for (int i = 0; i < 3; i++) Assert.True(Math.Abs(target[i] - x[i]) < 0.05, $"x[{i}] = {x[i]}");   // a uniform average of all z: within O(1/T)
        Assert.NotEqual(x, w.Value.ToArray());
    }
}

/// <summary>The README's wrapper example, in a real training loop.</summary>
public class ReadmeWrapperExampleTests
{
    [Fact]
    public void Readme_wrapper_example_trains_and_evaluates_at_the_average()
    {
        var model = new Sequential<float>([2, 8, 2], Activation.Tanh, Initialization.Torch, new Descent.Numerics.Rng(0));
        float[] x = [0, 0, 0, 1, 1, 0, 1, 1];
        int[] y = [0, 1, 1, 0];
        var loss = Losses.Parse("cross-entropy");
        var dy = new float[8];
        // --- README wrapper example begins
        var adamw = new AdamW<float>(model.Parameters);
        adamw.Wrap(new GradientAccumulation<float>(4));          // 4 minibatches per update
        adamw.Wrap(new Lookahead<float>(k: 5, alpha: 0.5));      // around AdamW
        var ema = adamw.Wrap(WeightAveraging<float>.Ema(0.999)); // an average of what Lookahead leaves
        // --- README wrapper example ends
        for (int call = 0; call < 400; call++)
        {
            var outputs = model.Forward(x, 4);
            Losses.Evaluate(loss, outputs, y, 4, dy, out _);
            model.Backward(x, dy, 4, accumulate: false);
            adamw.Step();
        }
        Assert.Equal(100, adamw.StepCount);
        Assert.Equal(100, ema.Count);
        float[] training = model.Values.ToArray();
        adamw.Eval();
        for (int i = 0; i < model.Parameters.Count; i++) Assert.Equal(ema.Average(i).ToArray(), model.Parameters[i].Value.ToArray());
        adamw.Train();
        Assert.Equal(training, model.Values.ToArray());
    }
}
