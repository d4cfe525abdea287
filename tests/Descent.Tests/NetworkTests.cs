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

    /// <summary>
    /// The cross-entropy's loss, gradient and count of correct predictions are, bit for bit, those of the element-by-element
    /// loops it was written as before its maxima, shifts and gradients went in vectors (kept here as the reference): rows
    /// shorter than a vector, of whole vectors and with tails, ties for the largest logit, signed zeros, infinities, and
    /// NaNs first in a row and later in it, in both precisions; batches whose rows' last vectors reach into the next row
    /// (and whose last rows' would pass the end), with nothing written past the gradient's end, and the loss taken in place.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(10)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(98)]
    public void Cross_entropy_equals_the_element_by_element_loops(int k)
    {
        foreach (int batch in new[] { 9, 17, 35 })
        {
            Check<float>(batch);
            Check<double>(batch);
        }

        void Check<T>(int batch) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            string where = $"{typeof(T).Name} k {k} batch {batch}";
            var rng = new Rng((ulong)(k * 100 + batch));
            var z = Enumerable.Range(0, batch * k).Select(_ => T.CreateTruncating(Math.Round(rng.NextNormal() * 4) / 2)).ToArray();   // halves: ties
            z[k - 1] = T.CreateTruncating(100);                          // row 0: the largest at the end
            z[k] = T.NegativeZero;                                       // row 1: signed zeros first
            if (k > 1) z[k + 1] = T.Zero;
            z[2 * k + k / 2] = T.PositiveInfinity;                       // row 2: an infinity (NaN loss)
            z[4 * k] = T.NaN;                                            // row 4: NaN first
            z[5 * k + k - 1] = T.NaN;                                    // row 5: NaN last
            z[6 * k + k / 2] = T.NegativeInfinity;                       // row 6
            z[7 * k] = T.CreateTruncating(50);                           // row 7: larger than row 6's entries, just past its end
            var labels = Enumerable.Range(0, batch).Select(b => (b * 7 + 3) % k).ToArray();
            // The gradient lies inside a longer array whose entries past it must stay as they are.
            const int past = 40;
            var sentinel = T.CreateTruncating(12345);
            var buffer = Enumerable.Repeat(sentinel, batch * k + past).ToArray();
            var gradient = buffer.AsSpan(0, batch * k);
            double loss = Losses.Evaluate(Loss.CrossEntropy, z, labels, batch, gradient, out int correct);
            Assert.All(buffer[(batch * k)..], v => Assert.Equal(sentinel, v));
            var (wantLoss, wantGradient, wantCorrect) = Loops(z, labels, batch, k);
            Assert.Equal(wantCorrect, correct);
            Assert.Equal(BitConverter.DoubleToInt64Bits(wantLoss), BitConverter.DoubleToInt64Bits(loss));
            SameGradient(gradient, wantGradient, "the loops'");
            Assert.Equal(BitConverter.DoubleToInt64Bits(loss), BitConverter.DoubleToInt64Bits(Losses.Evaluate(Loss.CrossEntropy, z, labels, batch, [], out _)));
            // A softmax regression's slice (Linear.CrossEntropyRows) takes each row's maximum without its place: the same numbers.
            var sliced = Enumerable.Repeat(sentinel, batch * k + past).ToArray();
            double sum = Losses.CrossEntropySum<T>(z, labels, sliced.AsSpan(0, batch * k), batch);
            Assert.All(sliced[(batch * k)..], v => Assert.Equal(sentinel, v));
            Assert.Equal(BitConverter.DoubleToInt64Bits(loss), BitConverter.DoubleToInt64Bits(sum / batch));
            SameGradient(sliced.AsSpan(0, batch * k), wantGradient, "a slice's");
            // In place: the outputs overwritten by their own gradient.
            var inPlace = z.ToArray();
            Assert.Equal(BitConverter.DoubleToInt64Bits(loss), BitConverter.DoubleToInt64Bits(Losses.Evaluate(Loss.CrossEntropy, inPlace, labels, batch, inPlace, out _)));
            SameGradient(inPlace, wantGradient, "in place,");
            // The rows with an infinity or a NaN make the batch's loss NaN, so each row's loss is compared on its own too.
            for (int b = 0; b < batch; b++)
            {
                var row = z.AsSpan(b * k, k).ToArray();
                var rowGradient = new T[k];
                double one = Losses.Evaluate(Loss.CrossEntropy, row, [labels[b]], 1, rowGradient, out _);
                var want = Loops(row, [labels[b]], 1, k);
                Assert.True(BitConverter.DoubleToInt64Bits(one) == BitConverter.DoubleToInt64Bits(want.Loss) || (double.IsNaN(one) && double.IsNaN(want.Loss)),
                    $"{where}: row {b}'s loss {one:R}, the loops give {want.Loss:R}");
                SameGradient(rowGradient, want.Gradient, $"row {b} alone,");
            }

            void SameGradient(ReadOnlySpan<T> got, T[] want, string what)
            {
                for (int i = 0; i < want.Length; i++)
                    if (!got[i].Equals(want[i]) && !(T.IsNaN(got[i]) && T.IsNaN(want[i])))
                        Assert.Fail($"{where}: {what} gradient[{i}] = {got[i]}, the loops give {want[i]}");
            }
        }

        static (double Loss, T[] Gradient, int Correct) Loops<T>(T[] outputs, int[] labels, int batch, int k) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            double total = 0;
            int correct = 0;
            var e = new T[batch * k];
            T invB = T.One / T.CreateTruncating(batch);
            for (int b = 0; b < batch; b++)
            {
                int arg = 0;
                T max = outputs[b * k];
                for (int j = 1; j < k; j++) if (outputs[b * k + j] > max) { max = outputs[b * k + j]; arg = j; }
                if (arg == labels[b]) correct++;
                total -= double.CreateTruncating(outputs[b * k + labels[b]] - max);
                for (int j = 0; j < k; j++) e[b * k + j] = outputs[b * k + j] - max;
            }
            Descent.Numerics.Lanes.ExpInPlace<T>(e);
            for (int b = 0; b < batch; b++)
            {
                T sum = T.Zero;
                for (int j = 0; j < k; j++) sum += e[b * k + j];
                total += double.CreateTruncating(T.Log(sum));
                for (int j = 0; j < k; j++) e[b * k + j] = (e[b * k + j] / sum - (j == labels[b] ? T.One : T.Zero)) * invB;
            }
            return (total / batch, e, correct);
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
