using System.Text.Json;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.State;
using Xunit;
using Xunit.Abstractions;

namespace Descent.Tests;

/// <summary>
/// K steps of SGD with momentum and of Adam on one fixed batch, started from torch's own initial weights
/// (loaded by name, as <c>descent train --init FILE</c> loads them), end where PyTorch 1.13's float32 run
/// ends (tools/reference/generate_torch_steps.py, committed as Reference/steps).
/// </summary>
public sealed class TorchStepTests(ITestOutputHelper output)
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Reference", "steps");

    private static readonly Lazy<JsonElement> Document = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "steps.json"))).RootElement);

    /// <summary>Each case with each optimizer it names (see the generator for why a case names fewer than all).</summary>
    public static IEnumerable<object[]> Cases =>
        from c in Document.Value.GetProperty("cases").EnumerateArray()
        from o in c.GetProperty("optimizers").EnumerateArray()
        select new object[] { c.GetProperty("name").GetString()!, o.GetString()! };

    /// <summary>
    /// Largest difference allowed, relative to max(1, |torch's value|). Float32 arithmetic done in another order (other
    /// summation orders in the matrix products, exp and tanh within an ulp or two) drifts apart slowly, and a decision
    /// taken on nearly equal numbers amplifies it. Measured: SGD on the transformers 1.2e-7; SGD on the CNN 4.2e-5, where
    /// at step 15 the two largest inputs of one max-pool window differ by 9.5e-7 (8 ulps) and the runs pick different ones
    /// (6e-7 before that step); Adam 1.0e-6 (CNN), 3.8e-6 (post-LN) and 3.2e-5 (pre-LN), Adam dividing each gradient by its
    /// own scale so that small differences in small gradients count fully.
    /// </summary>
    private const double Tolerance = 1e-4;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Steps_from_torchs_weights_end_at_torchs_weights(string name, string optimizer)
    {
        var c = Document.Value.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        int batch = c.GetProperty("batch").GetInt32(), outputs = c.GetProperty("outputs").GetInt32();
        int[] shape = [.. c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32())];
        float[] x = [.. c.GetProperty("inputs").EnumerateArray().Select(e => (float)e.GetDouble())];
        int[] labels = [.. c.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32())];
        var model = ModelSpec.Build<float>(c.GetProperty("spec").GetString()!, shape, outputs, Initialization.Torch, new Rng(5));
        model.LoadSafeTensors(Path.Combine(Dir, $"{name}.init.safetensors"));
        var options = Optimizers.DefaultOptions(optimizer);
        foreach (var p in Document.Value.GetProperty("optimizers").GetProperty(optimizer).EnumerateObject()) options.Set(p.Name, p.Value.GetDouble());
        var opt = Optimizers.Create(optimizer, model.Parameters, options);
        var grad = new float[batch * model.OutputSize];
        int steps = Document.Value.GetProperty("steps").GetInt32();
        for (int k = 0; k < steps; k++)
        {
            var y = model.Forward(x, batch);
            Losses.Evaluate(Loss.CrossEntropy, y, labels, labels.Length, grad, out _);
            model.Backward(x, grad, batch, accumulate: false);
            opt.Step();
        }
        var expected = SafeTensors.Load(Path.Combine(Dir, $"{name}.{optimizer}.safetensors"));
        var start = SafeTensors.Load(Path.Combine(Dir, $"{name}.init.safetensors"));
        double worstRelative = 0, worstAbsolute = 0;
        string worst = "";
        int noise = 0;
        var nullGradient = c.GetProperty("null_gradient").EnumerateObject().SelectMany(t => t.Value.EnumerateArray().Select(i => (t.Name, i.GetInt32()))).ToHashSet();
        foreach (var (tensor, _, value) in model.Parameters.Select(p => (p.Name, p.Shape, p.Value)).Concat(model.Buffers()))
        {
            var want = expected[tensor].Data;
            var got = value.Span;
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++)
            {
                // Some entries have a gradient of exactly zero in exact arithmetic: the key bias (a constant added to every key adds
                // the same number to every score of a row, which softmax ignores) and a bias right before batch normalization
                // (subtracted with the batch mean). What float32 leaves of it is rounding noise (about 1e-9, in torch too), and
                // Adam divides by the gradient's own scale, so both runs move these entries by up to lr per step in directions
                // the noise picks. They can only be held to that bound.
                if (optimizer == "adam" && nullGradient.Contains((tensor, i)))
                {
                    double bound = steps * options.LearningRate * 1.001;
                    Assert.InRange(Math.Abs(got[i] - start[tensor].Data[i]), 0, bound);
                    Assert.InRange(Math.Abs(want[i] - start[tensor].Data[i]), 0, bound);
                    noise++;
                    continue;
                }
                double diff = Math.Abs(got[i] - want[i]);
                worstAbsolute = Math.Max(worstAbsolute, diff);
                double relative = diff / Math.Max(1, Math.Abs(want[i]));
                if (relative > worstRelative) (worstRelative, worst) = (relative, $"{tensor}[{i}] = {got[i]:R}, torch {want[i]:R}");
            }
        }
        // The weights moved: the comparison is of a real trajectory, not of the starting point.
        Assert.Contains(model.Parameters, p => p.Value.Span.ToArray().Zip(start[p.Name].Data).Any(v => Math.Abs(v.First - v.Second) > 1e-3));
        output.WriteLine($"{name} {optimizer}: max |diff| {worstAbsolute:E2}, max |diff| / max(1, |torch|) {worstRelative:E2} at {worst}" +
            (noise > 0 ? $" ({noise} entries of zero exact gradient held to the noise bound)" : ""));
        Assert.True(worstRelative <= Tolerance, $"{name} {optimizer}: {worst} (difference {worstRelative:E2} relative)");
    }
}
