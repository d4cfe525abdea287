using Descent.Nn;
using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

public class NetworkTests
{
    public static IEnumerable<object[]> Cases => TorchReference.Indices("networks");

    private static (Sequential<double> Model, double[] X, int[] Y, Loss Loss) Build(int index)
    {
        var c = TorchReference.Root.GetProperty("networks")[index];
        var sizes = c.GetProperty("sizes").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var model = new Sequential<double>(sizes, Activations.Parse(c.GetProperty("activation").GetString()!), Initialization.Torch, new Rng(0));
        foreach (var p in model.Parameters)
            c.GetProperty("parameters").GetProperty(p.Name).EnumerateArray().Select(v => v.GetDouble()).ToArray().CopyTo(p.Value);
        var x = c.GetProperty("inputs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var y = c.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        return (model, x, y, Losses.Parse(c.GetProperty("loss").GetString()!));
    }

    private static double LossAndGradient(Sequential<double> model, double[] x, int[] y, Loss loss, bool backward)
    {
        int batch = y.Length;
        model.ZeroGrad();
        var outputs = model.Forward(x, batch);
        var grad = new double[outputs.Length];
        double value = Losses.Evaluate(loss, outputs, y, batch, grad, out _);
        if (backward) model.Backward(x, grad, batch);
        return value;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_loss_and_gradients_match_torch(int index)
    {
        var c = TorchReference.Root.GetProperty("networks")[index];
        var (model, x, y, loss) = Build(index);
        double value = LossAndGradient(model, x, y, loss, backward: true);
        Assert.True(TorchReference.RelativeError(value, c.GetProperty("value").GetDouble()) < 1e-12, $"loss {value:R} vs torch {c.GetProperty("value")}");
        foreach (var p in model.Parameters)
        {
            var expected = c.GetProperty("gradients").GetProperty(p.Name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(p.Grad.Span[i] - expected[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected[i])),
                    $"{c.GetProperty("activation")}/{c.GetProperty("loss")}: d{p.Name}[{i}] = {p.Grad.Span[i]:R}, torch {expected[i]:R}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(40)]
    public void Backward_without_accumulate_overwrites_exactly_what_zeroing_first_gives(int batch)
    {
        var model = new Sequential<float>([2, 16, 9, 3], Activation.ReLU, Initialization.Torch, new Rng(3));
        var rng = new Rng(4);
        float[] x = [.. Enumerable.Range(0, batch * 2).Select(_ => (float)rng.NextNormal())];
        float[] dz = [.. Enumerable.Range(0, batch * 3).Select(_ => (float)rng.NextNormal())];
        model.ZeroGrad();
        model.Forward(x, batch);
        model.Backward(x, dz, batch);
        var zeroedFirst = model.Gradients.ToArray();
        model.Backward(x, dz, batch);
        var twice = model.Gradients.ToArray();
        model.Backward(x, dz, batch, accumulate: false);
        Assert.Equal(zeroedFirst, model.Gradients.ToArray());
        for (int i = 0; i < twice.Length; i++) Assert.Equal(2 * zeroedFirst[i], twice[i], 1e-5f * (1 + Math.Abs(twice[i])));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_central_finite_differences(int index)
    {
        var (model, x, y, loss) = Build(index);
        LossAndGradient(model, x, y, loss, backward: true);
        var analytic = model.Gradients.ToArray();
        const double h = 1e-6;
        for (int i = 0; i < analytic.Length; i++)
        {
            double keep = model.Values[i];
            model.Values[i] = keep + h;
            double up = LossAndGradient(model, x, y, loss, backward: false);
            model.Values[i] = keep - h;
            double down = LossAndGradient(model, x, y, loss, backward: false);
            model.Values[i] = keep;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"parameter {i}: backprop {analytic[i]:R}, finite difference {numeric:R}");
        }
    }

    [Fact]
    public void Parameters_are_named_like_torch_sequential_and_share_one_flat_buffer()
    {
        var model = new Sequential<float>([2, 64, 64, 2], Activation.ReLU, Initialization.Torch, new Rng(1));
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias"], model.Parameters.Select(p => p.Name));
        Assert.Equal([64, 2], model.Parameters[0].Shape);
        Assert.Equal(2 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2, model.Values.Length);
        model.Parameters[2].Value.Span[0] = 42;
        Assert.Equal(42, model.Values[2 * 64 + 64]);
    }

    [Theory]
    [InlineData(Initialization.Torch, 100, 0.1, 1.0 / 3)]      // U(-1/sqrt(100), 1/sqrt(100)): std = 0.1 / sqrt(3)
    [InlineData(Initialization.He, 100, 0.1414213562, 1.0)]    // N(0, 2/100)
    [InlineData(Initialization.Xavier, 100, 0.2, 1.0 / 3)]     // U(-a, a), a = sqrt(6 / (100 + 50)) = 0.2
    public void Initializations_have_the_documented_spread(Initialization init, int fanIn, double scale, double varianceFactor)
    {
        var model = new Sequential<double>([fanIn, 50], Activation.Identity, init, new Rng(7));
        var w = model.Parameters[0].Value.Span;
        double mean = 0, sq = 0, max = 0;
        foreach (double v in w) { mean += v; sq += v * v; max = Math.Max(max, Math.Abs(v)); }
        mean /= w.Length;
        double std = Math.Sqrt(sq / w.Length - mean * mean);
        Assert.True(Math.Abs(mean) < 0.01, $"mean {mean}");
        Assert.True(Math.Abs(std / (scale * Math.Sqrt(varianceFactor)) - 1) < 0.05, $"std {std}");
        if (init != Initialization.He) Assert.True(max <= scale);
    }

    public static IEnumerable<object[]> ErfCases => TorchReference.Indices("erf");

    [Theory]
    [MemberData(nameof(ErfCases))]
    public void Erf_matches_the_c_library(int index)
    {
        var c = TorchReference.Root.GetProperty("erf")[index];
        double x = c.GetProperty("x").GetDouble(), expected = c.GetProperty("erf").GetDouble();
        Assert.True(Math.Abs(SpecialFunctions.Erf(x) - expected) <= 2e-16 + 1e-15 * Math.Abs(expected), $"erf({x}) = {SpecialFunctions.Erf(x):R}, libm {expected:R}");
    }

    [Fact]
    public void A_training_step_allocates_nothing()
    {
        var trainer = new Descent.Training.Trainer(new Descent.Training.TrainingConfig { Steps = 1000, Batch = 16 });
        for (int i = 0; i < 300; i++) trainer.TrainStep();
        Assert.Equal(0, ModelTrainingTests.LeastAllocated(() => trainer.TrainStep()).Caller);
    }
}
