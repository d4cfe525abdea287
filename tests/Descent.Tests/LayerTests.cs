using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// Layers and models against torch.autograd (tools/reference/generate_layers.py, float64, committed as
/// Reference/layers.json) and against central finite differences.
/// </summary>
public class LayerTests
{
    private static readonly Lazy<JsonElement> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "layers.json"))).RootElement.GetProperty("cases"));

    public static IEnumerable<object[]> Cases => Enumerable.Range(0, Document.Value.GetArrayLength()).Select(i => new object[] { i });

    private static double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    private static int[] Ints(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetInt32())];

    /// <summary>The case's model in <typeparamref name="T"/>, with torch's parameters and buffers, in the case's mode.</summary>
    private static (Sequential<T> Model, T[] X, JsonElement Case) Build<T>(int index) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var c = Document.Value[index];
        int outputs = c.GetProperty("outputs").GetInt32();
        var model = ModelSpec.Build<T>(c.GetProperty("spec").GetString()!, Ints(c.GetProperty("shape")), Math.Max(1, outputs), Initialization.Torch, new Rng(0));
        model.Training = c.GetProperty("training").GetBoolean();
        var state = c.GetProperty("state");
        foreach (var p in model.Parameters) Copy(Doubles(state.GetProperty(p.Name)), p.Value.Span);
        foreach (var (name, _, value) in model.Buffers()) Copy(Doubles(state.GetProperty(name)), value.Span);
        return (model, Convert<T>(Doubles(c.GetProperty("inputs"))), c);
    }

    private static void Copy<T>(double[] from, Span<T> to) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        Assert.Equal(from.Length, to.Length);
        for (int i = 0; i < from.Length; i++) to[i] = T.CreateTruncating(from[i]);
    }

    private static T[] Convert<T>(double[] values) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => [.. values.Select(T.CreateTruncating)];

    /// <summary>The case's loss; with <paramref name="inputGradient"/> not empty, also the backward pass (parameter gradients overwritten).</summary>
    private static double Loss<T>(Sequential<T> model, T[] x, JsonElement c, Span<T> inputGradient, bool backward) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int batch = c.GetProperty("batch").GetInt32();
        var y = model.Forward(x, batch);
        var dy = new T[y.Length];
        double value;
        if (c.TryGetProperty("labels", out var labels))
        {
            // One label per output vector: per example, or per position of a sequence (next-token prediction).
            var targets = Ints(labels);
            value = Losses.Evaluate(Nn.Loss.CrossEntropy, y, targets, targets.Length, dy, out _);
        }
        else
        {
            Copy(Doubles(c.GetProperty("dy")), dy);
            value = 0;
            for (int i = 0; i < y.Length; i++) value += double.CreateTruncating(y[i] * dy[i]);
        }
        if (backward) model.Backward(x, dy, inputGradient, batch, accumulate: false);
        return value;
    }

    private static void AssertClose(ReadOnlySpan<double> actual, double[] expected, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}] = {actual[i]:R}, torch {expected[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Outputs_and_gradients_match_torch_autograd(int index)
    {
        var (model, x, c) = Build<double>(index);
        string spec = c.GetProperty("spec").GetString()!;
        // The names and shapes are the torch module's state_dict(): parameters, then the buffers.
        var names = c.GetProperty("shapes").EnumerateObject().ToDictionary(p => p.Name, p => Ints(p.Value));
        var ours = model.Parameters.Select(p => (p.Name, Shape: p.Shape.ToArray())).Concat(model.Buffers().Select(b => (b.Name, Shape: b.Shape.ToArray()))).ToList();
        Assert.Equal(names.Keys.Order(), ours.Select(o => o.Name).Order());
        foreach (var (name, shape) in ours) Assert.Equal(names[name], shape);

        var dx = new double[x.Length];
        double value = Loss(model, x, c, dx, backward: true);
        AssertClose(model.LastOutput(c.GetProperty("batch").GetInt32()), Doubles(c.GetProperty("output")), 1e-12, $"{spec}: output");
        Assert.True(TorchReference.RelativeError(value, c.GetProperty("value").GetDouble()) < 1e-12, $"{spec}: loss {value:R}, torch {c.GetProperty("value")}");
        AssertClose(dx, Doubles(c.GetProperty("input_gradient")), 1e-10, $"{spec}: d input");
        foreach (var p in model.Parameters)
            AssertClose(p.Grad.Span, Doubles(c.GetProperty("gradients").GetProperty(p.Name)), 1e-10, $"{spec}: d {p.Name}");
        foreach (var (name, _, buffer) in model.Buffers())
            AssertClose(buffer.Span, Doubles(c.GetProperty("state_after").GetProperty(name)), 1e-12, $"{spec}: {name} after the forward pass");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_float_model_agrees_with_torch_to_float_precision(int index)
    {
        var (model, x, c) = Build<float>(index);
        var dx = new float[x.Length];
        Loss(model, x, c, dx, backward: true);
        string spec = c.GetProperty("spec").GetString()!;
        // Relative to the largest entry of each tensor: float32 sums of a few dozen terms.
        void Check(ReadOnlySpan<float> actual, double[] expected, string what)
        {
            double scale = expected.Length == 0 ? 1 : Math.Max(1e-3, expected.Max(Math.Abs));
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 2e-5 * scale, $"{spec}: {what}[{i}] = {actual[i]:R}, torch {expected[i]:R}");
        }
        Check(model.LastOutput(c.GetProperty("batch").GetInt32()), Doubles(c.GetProperty("output")), "output");
        Check(dx, Doubles(c.GetProperty("input_gradient")), "d input");
        foreach (var p in model.Parameters) Check(p.Grad.Span, Doubles(c.GetProperty("gradients").GetProperty(p.Name)), $"d {p.Name}");
    }

    /// <summary>
    /// Attention's softmax in passes over a head's rows gives the numbers of the row-by-row softmax it replaced at every
    /// context from 1 to 70 (rows shorter than a vector, ending inside one, or whole vectors), whatever lies right of the
    /// diagonal (NaN and huge scores included): in float bit for bit; in double within a few ulps, because .NET's vector
    /// exponential of doubles takes a slower path, which rounds some lanes differently, for a whole vector as soon as one
    /// lane is out of its range, and the old softmax set the lanes past a row's end to -inf where the passes mask them.
    /// </summary>
    [Fact]
    public void Attention_softmax_equals_the_row_by_row_softmax_it_replaced()
    {
        Check<float>(exact: true);
        Check<double>(exact: false);

        static void Check<T>(bool exact) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rng = new Rng(9);
            T scale = T.CreateTruncating(0.35);
            for (int t = 1; t <= 70; t++)
            {
                var p = new T[t * t];
                for (int i = 0; i < t; i++)
                    for (int j = 0; j < t; j++)
                        p[i * t + j] = j <= i ? T.CreateTruncating(4 * rng.NextNormal()) : j % 3 == 0 ? T.NaN : T.CreateTruncating(1e30);
                var expected = (T[])p.Clone();
                for (int i = 0; i < t; i++) RowSoftmax(expected.AsSpan(i * t, t), i + 1, scale);
                new CausalSelfAttention<T>([t, 2], 1).Softmax(p, scale);
                for (int k = 0; k < p.Length; k++)
                {
                    bool same = exact ? MemoryMarshal.AsBytes(p.AsSpan(k, 1)).SequenceEqual(MemoryMarshal.AsBytes(expected.AsSpan(k, 1)))
                        : T.Abs(p[k] - expected[k]) <= T.CreateTruncating(2e-15) * T.Abs(expected[k]) && (k % t <= k / t || T.IsZero(p[k]));
                    if (!same) Assert.Fail($"{typeof(T).Name}, context {t}: P[{k / t}, {k % t}] = {p[k]}, row by row {expected[k]}");
                }
            }
        }

        // The single-row softmax the layer had until 2026-12-02: the lanes past the row's count set to -inf, then the
        // largest, the exponentials and their lane sums, the inverse of the sum.
        static void RowSoftmax<T>(Span<T> row, int count, T scale) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int l = Vector<T>.Count, cover = Math.Min(row.Length, (count + l - 1) / l * l), whole = cover / l, tail = cover - whole * l;
            row[count..cover].Fill(T.NegativeInfinity);
            var vectors = MemoryMarshal.Cast<T, Vector<T>>(row[..(whole * l)]);
            var last = new T[l];
            Array.Fill(last, T.NegativeInfinity);
            row[(whole * l)..cover].CopyTo(last);
            var vmax = tail > 0 ? new Vector<T>(last) : new Vector<T>(T.NegativeInfinity);
            foreach (var v in vectors) vmax = Vector.Max(vmax, v);
            T max = T.NegativeInfinity;
            for (int k = 0; k < l; k++) max = T.Max(max, vmax[k]);
            var (vscale, vshift, vsum) = (new Vector<T>(scale), new Vector<T>(max * scale), Vector<T>.Zero);
            for (int k = 0; k < vectors.Length; k++) vsum += vectors[k] = Lanes.Exp(vectors[k] * vscale - vshift);
            if (tail > 0)
            {
                var e = Lanes.Exp(new Vector<T>(last) * vscale - vshift);
                vsum += e;
                e.CopyTo(last);
                last.AsSpan(0, tail).CopyTo(row[(whole * l)..]);
            }
            var vinverse = new Vector<T>(T.One / Vector.Sum(vsum));
            for (int k = 0; k < vectors.Length; k++) vectors[k] *= vinverse;
            for (int j = whole * l; j < cover; j++) row[j] *= vinverse[0];
            row[cover..].Clear();
        }
    }

    /// <summary>
    /// The float attention's softmax over rows longer than a vector, and ending inside one, as the double layer computes it
    /// (torch's cases have a context of 5, shorter than any vector): a position attended to too many or too few shows.
    /// </summary>
    [Theory]
    [InlineData(37)]
    [InlineData(64)]
    [InlineData(19)]
    public void Float_attention_over_long_rows_agrees_with_the_double_layer(int context)
    {
        const int d = 8, heads = 2, batch = 2;
        var wide = new CausalSelfAttention<double>([context, d], heads);
        var narrow = new CausalSelfAttention<float>([context, d], heads);
        wide.Initialize(Initialization.Torch, new Rng(7));
        for (int i = 0; i < wide.Parameters.Count; i++)
        {
            var from = wide.Parameters[i].Value.Span;
            var to = narrow.Parameters[i].Value.Span;
            for (int j = 0; j < from.Length; j++) from[j] = to[j] = (float)from[j];
        }
        var rng = new Rng(11);
        var x = new double[batch * context * d];
        var dy = new double[x.Length];
        for (int i = 0; i < x.Length; i++) (x[i], dy[i]) = ((float)(3 * rng.NextNormal()), (float)rng.NextNormal());
        float[] xf = [.. x.Select(v => (float)v)], dyf = [.. dy.Select(v => (float)v)];
        var dx = new double[x.Length];
        var dxf = new float[x.Length];
        var y = wide.Forward(x, batch).ToArray();
        var yf = narrow.Forward(xf, batch).ToArray();
        wide.Backward(x, dy, dx, batch, accumulate: false);
        narrow.Backward(xf, dyf, dxf, batch, accumulate: false);
        void Check(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, string what)
        {
            double scale = 1e-3;
            foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 2e-5 * scale, $"context {context}: {what}[{i}] = {actual[i]:R}, double {expected[i]:R}");
        }
        Check(yf, y, "output");
        Check(dxf, dx, "d input");
        for (int i = 0; i < wide.Parameters.Count; i++) Check(narrow.Parameters[i].Grad.Span, wide.Parameters[i].Grad.Span, $"d {wide.Parameters[i].Name}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_central_finite_differences(int index)
    {
        var (model, x, c) = Build<double>(index);
        var dx = new double[x.Length];
        Loss(model, x, c, dx, backward: true);
        var analytic = model.Gradients.ToArray();
        const double h = 1e-6;
        // Up to 60 entries of each, spread over the whole buffer.
        double Numeric(Span<double> values, int i)
        {
            double keep = values[i];
            values[i] = keep + h;
            double up = Loss(model, x, c, [], backward: false);
            values[i] = keep - h;
            double down = Loss(model, x, c, [], backward: false);
            values[i] = keep;
            return (up - down) / (2 * h);
        }
        string spec = c.GetProperty("spec").GetString()!;
        for (int i = 0; i < analytic.Length; i += Math.Max(1, analytic.Length / 60))
        {
            double numeric = Numeric(model.Values, i);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"{spec}: parameter {i}: backprop {analytic[i]:R}, finite difference {numeric:R}");
        }
        // Token indices have no gradient (the layer checks they are whole numbers).
        if (c.GetProperty("integer_inputs").GetBoolean()) return;
        for (int i = 0; i < x.Length; i += Math.Max(1, x.Length / 60))
        {
            double numeric = Numeric(x, i);
            Assert.True(Math.Abs(numeric - dx[i]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)), $"{spec}: input {i}: backprop {dx[i]:R}, finite difference {numeric:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_model_fed_rows_of_a_dataset_gives_the_numbers_of_the_rows_copied_first(int index)
    {
        // Every reference model (each kind of first layer, training and evaluation modes) on a minibatch drawn with a repeat
        // from a source of more examples: the same outputs, copy and gradients, bit for bit, as a copy followed by Forward.
        var (gathering, x, c) = Build<float>(index);
        var (copying, _, _) = Build<float>(index);
        int size = gathering.InputSize, batch = x.Length / size;
        var rng = new Rng((ulong)index + 11);
        var source = new float[(2 * batch + 3) * size];
        for (int i = 0; i < source.Length; i++) source[i] = (float)rng.NextNormal();
        int[] rows = [.. Enumerable.Range(0, batch).Select(i => i == batch - 1 && batch > 2 ? 1 : 2 * i + 1)];
        for (int i = 0; i < batch; i++) x.AsSpan(i * size, size).CopyTo(source.AsSpan(rows[i] * size, size));
        var input = new float[batch * size];
        var gathered = gathering.ForwardRows(source, rows, input).ToArray();
        var copied = new float[batch * size];
        Kernels.Gather<float>(source, rows, size, copied);
        var expected = copying.Forward(copied, batch).ToArray();
        string spec = c.GetProperty("spec").GetString()!;
        Assert.True(copied.AsSpan().SequenceEqual(input), $"{spec}: the copy");
        Assert.True(expected.Select(BitConverter.SingleToInt32Bits).SequenceEqual(gathered.Select(BitConverter.SingleToInt32Bits)), $"{spec}: the outputs");
        var dy = new float[expected.Length];
        for (int i = 0; i < dy.Length; i++) dy[i] = (float)rng.NextNormal();
        gathering.Backward(input, dy, batch, accumulate: false);
        copying.Backward(copied, dy, batch, accumulate: false);
        Assert.True(copying.Gradients.SequenceEqual(gathering.Gradients), $"{spec}: the gradients");
    }

    [Fact]
    public void A_ten_class_dense_layer_gathers_its_rows_with_the_numbers_of_a_copy()
    {
        // The dense layer that gathers as it reads (dot products for narrow outputs), at MNIST's shape and at odd ones.
        foreach (var (inputs, outputs, batch) in new[] { (784, 10, 1000), (37, 10, 5), (784, 10, 1), (13, 3, 9), (64, 40, 3), (64, 40, 20) })
        {
            var rng = new Rng((ulong)(inputs + outputs + batch));
            var gathering = new Sequential<float>([inputs, outputs], Activation.Identity, Initialization.Torch, new Rng(3));
            var copying = new Sequential<float>([inputs, outputs], Activation.Identity, Initialization.Torch, new Rng(3));
            var source = new float[(batch + 7) * inputs];
            for (int i = 0; i < source.Length; i++) source[i] = (float)rng.NextDouble();
            int[] rows = [.. Enumerable.Range(0, batch).Select(_ => rng.NextInt(batch + 7))];
            var input = new float[batch * inputs];
            var gathered = gathering.ForwardRows(source, rows, input).ToArray();
            var copied = new float[batch * inputs];
            Kernels.Gather<float>(source, rows, inputs, copied);
            Assert.Equal(copied, input);
            Assert.Equal(copying.Forward(copied, batch).ToArray().Select(BitConverter.SingleToInt32Bits), gathered.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Theory]
    [InlineData(784, 10, 1000, 1.0)]   // mnist-linear: 31 whole slices and one of 8
    [InlineData(784, 10, 33, 0.5)]     // a shard's part of a minibatch: one slice of 32 and one of 1
    [InlineData(257, 10, 32, 1.0)]     // rows of 1,028 bytes (not a whole vector), one whole slice
    [InlineData(300, 3, 65, 0.75)]     // three outputs, two slices and one row
    [InlineData(256, 15, 1, 1.0)]      // the most outputs 256-bit vectors take dot products for; a single example
    [InlineData(300, 13, 1000, 0.5)]   // outputs that are not a whole tile of the weight gradient's product
    [InlineData(300, 13, 5100, 1.0)]   // a minibatch whose whole-batch weight gradient goes in panels (13 x 5,100 floats > 256 KB)
    [InlineData(283, 1, 40, 1.0)]      // rows of an odd number of vectors and a tail at both widths; weight-gradient tiles of 1,
    [InlineData(283, 2, 33, 1.0)]      // 2,
    [InlineData(283, 9, 70, 1.0)]      // 9 (4 + 5 with 256-bit vectors)
    [InlineData(283, 12, 65, 0.5)]     // and 12 outputs (6 + 6 with 256-bit vectors)
    [InlineData(300, 0, 97, 1.0)]      // 0: the most outputs this vector width takes dot products for (31 at 512 bits: four tiles)
    public void A_softmax_regression_step_in_slices_gives_the_numbers_of_the_whole_batch_passes(int inputs, int outputs, int batch, double share) =>
        SliceStepMatchesWholeBatchPasses<float>(inputs, outputs, batch, share);

    [Theory]
    [InlineData(784, 7, 1000, 1.0)]    // (256-bit vectors take dot products for up to 7 outputs in double)
    [InlineData(131, 7, 70, 0.5)]      // rows of 1,048 bytes: 16 vectors and a tail of 3 at 512 bits, 32 and 3 at 256
    [InlineData(283, 5, 65, 1.0)]
    [InlineData(300, 0, 97, 1.0)]      // 15 outputs at 512 bits, 7 at 256
    public void A_softmax_regression_step_in_slices_in_double_gives_the_numbers_of_the_whole_batch_passes(int inputs, int outputs, int batch, double share) =>
        SliceStepMatchesWholeBatchPasses<double>(inputs, outputs, batch, share);

    /// <summary>
    /// Linear.CrossEntropyRows against ForwardRows, Losses.Evaluate, the share and Backward on the whole minibatch: the
    /// outputs, the output gradient and every parameter gradient bit for bit, the loss to double rounding. Rows drawn with
    /// repeats, from a source larger than the batch, as a shuffled epoch's, the source's last row among them. Outputs 0 means
    /// the most the vector width takes dot products for.
    /// </summary>
    private static void SliceStepMatchesWholeBatchPasses<T>(int inputs, int outputs, int batch, double share) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (outputs == 0) outputs = 2 * Vector<T>.Count - 1;
        var rng = new Rng((ulong)(inputs + outputs + batch));
        var sliced = new Sequential<T>([inputs, outputs], Activation.Identity, Initialization.Torch, new Rng(3));
        var whole = new Sequential<T>([inputs, outputs], Activation.Identity, Initialization.Torch, new Rng(3));
        var linear = Assert.IsType<Linear<T>>(sliced.Layers[0]);
        Assert.True(linear.TakesSlices);
        var source = new T[(batch + 7) * inputs];
        for (int i = 0; i < source.Length; i++) source[i] = T.CreateChecked(rng.NextDouble());
        int[] rows = [.. Enumerable.Range(0, batch).Select(_ => rng.NextInt(batch + 7))];
        rows[^1] = batch + 6;
        int[] labels = [.. Enumerable.Range(0, batch).Select(_ => rng.NextInt(outputs))];
        // Stale gradients in both, which the step must overwrite.
        sliced.Gradients.Fill(T.CreateChecked(7));
        whole.Gradients.Fill(T.CreateChecked(7));

        var dz = new T[batch * outputs];
        double loss = linear.CrossEntropyRows(source, rows, labels, dz, T.CreateChecked(share));
        var logits = sliced.LastOutput(batch).ToArray();

        var input = new T[batch * inputs];
        var expectedLogits = whole.ForwardRows(source, rows, input).ToArray();
        var expectedDz = new T[batch * outputs];
        double expectedLoss = Losses.Evaluate(Descent.Nn.Loss.CrossEntropy, expectedLogits, labels, batch, expectedDz, out _);
        if (share != 1)
            for (int j = 0; j < expectedDz.Length; j++) expectedDz[j] *= T.CreateChecked(share);
        whole.Backward(input, expectedDz, batch, accumulate: false);

        static byte[] Bits(ReadOnlySpan<T> values) => MemoryMarshal.AsBytes(values).ToArray();
        Assert.Equal(Bits(expectedLogits), Bits(logits));
        Assert.Equal(Bits(expectedDz), Bits(dz));
        Assert.Equal(Bits(whole.Gradients.ToArray()), Bits(sliced.Gradients.ToArray()));
        Assert.Equal(expectedLoss, loss, batch * 4e-16 * expectedLoss);   // the same terms summed in another order
    }

    [Fact]
    public void Only_a_dense_layer_with_wide_rows_and_few_outputs_takes_its_steps_in_slices()
    {
        Assert.False(new Linear<float>(255, 10).TakesSlices);    // rows under 1 KB: in the cache anyway
        Assert.False(new Linear<float>(784, 40).TakesSlices);    // more outputs than two vectors: the transposed product
        Assert.False(new Linear<float>([5, 784], 10).TakesSlices);   // a sequence of vectors per example
        Assert.True(new Linear<double>(128, 3).TakesSlices);
        var wide = Assert.Throws<InvalidOperationException>(() => new Linear<float>(784, 40).CrossEntropyRows(new float[784], [0], [0], new float[40], 1f));
        Assert.Contains("40 outputs", wide.Message);
        Assert.Contains("Use ForwardRows", wide.Message);
        var sequence = Assert.Throws<InvalidOperationException>(() => new Linear<float>([5, 784], 10).CrossEntropyRows(new float[3920], [0], [0], new float[50], 1f));
        Assert.Contains("flatten them first", sequence.Message);
        var linear = new Linear<float>(784, 10);
        Assert.Contains("2 labels", Assert.Throws<ArgumentException>(() => linear.CrossEntropyRows(new float[784], [0, 0], [0], new float[20], 1f)).Message);
        Assert.Contains("at least one example", Assert.Throws<ArgumentException>(() => linear.CrossEntropyRows(new float[784], [], [], new float[10], 1f)).Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_softmax_regression_step_with_a_bad_row_or_label_in_a_later_slice_writes_nothing(bool badRow)
    {
        // Checked before the first slice: the gradients, outputs and output gradient of the step before stay as they were.
        const int inputs = 300, outputs = 10, batch = 70;
        var rng = new Rng(5);
        var linear = new Linear<float>(inputs, outputs);
        linear.Initialize(Initialization.Torch, rng);
        var source = new float[100 * inputs];
        for (int i = 0; i < source.Length; i++) source[i] = (float)rng.NextDouble();
        int[] rows = [.. Enumerable.Range(0, batch)];
        int[] labels = [.. Enumerable.Range(0, batch).Select(i => i % outputs)];
        var dz = new float[batch * outputs];
        linear.CrossEntropyRows(source, rows, labels, dz, 1f);
        var (gradients, logits, outputGradient) = (linear.Gradients.ToArray(), linear.LastOutput(batch).ToArray(), dz.ToArray());
        if (badRow) rows[50] = 100;
        else labels[50] = outputs;
        if (badRow) Assert.Throws<ArgumentOutOfRangeException>(() => linear.CrossEntropyRows(source, rows, labels, dz, 1f));
        else Assert.Contains("label 10 is not one of the layer's 10 classes", Assert.Throws<ArgumentException>(() => linear.CrossEntropyRows(source, rows, labels, dz, 1f)).Message);
        Assert.Equal(gradients, linear.Gradients.ToArray());
        Assert.Equal(logits, linear.LastOutput(batch).ToArray());
        Assert.Equal(outputGradient, dz);
    }

    [Theory]
    [InlineData("conv:8,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1-relu-maxpool:2-flatten-linear", 1, 12, 12, 3)]
    [InlineData("conv:8,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1,alg=winograd-relu-maxpool:2-flatten-linear", 1, 12, 12, 3)]
    [InlineData("conv:3,k=3-avgpool:2-conv:9,k=3,s=1,p=1-maxpool:2-flatten-linear", 2, 10, 14, 3)]
    [InlineData("conv:4,k=3,p=1-relu-conv:8,k=3,p=1-relu-maxpool:2-flatten-linear", 1, 6, 6, 3)]
    [InlineData("conv:16,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1-relu-maxpool:2-flatten-linear", 1, 16, 16, 3)]
    [InlineData("conv:8,k=3,p=1-conv:8,k=3,p=1-relu-maxpool:2-flatten-linear", 1, 7, 9, 3)]
    [InlineData("conv:8,k=3,p=1-conv:9,k=3,p=1-maxpool:2-flatten-linear", 2, 6, 7, 3)]
    [InlineData("conv:8,k=3,p=1-relu-conv:8,k=3,p=1-relu-maxpool:2-flatten-linear", 1, 16, 16, 30)]
    public void A_convolution_that_runs_its_pooling_with_its_own_passes_gives_the_numbers_of_the_passes_apart(string spec, int c, int h, int w, int batch)
    {
        // Sequential lets a convolution hand each example's outputs to the max pooling after it as it makes them, and have
        // the pooling write each example's gradient as it needs it; every layer's own forward and backward passes, one
        // after the other, are the reference, bit for bit. The first case's second convolution takes one tile of F(6x6, 3x3);
        // the second, F(2x2, 3x3) by name; the fifth takes the first convolution's product on the output's grid, the
        // pooling's whole-window gradient and F(4x4, 3x3); the last three, Winograd convolutions (F(4x4, 3x3), F(6x6, 3x3)
        // with blocks of 2 and cut short, F(4x4, 3x3)) whose
        // pooling reads their channel-last outputs and writes their output gradient channel-last, with odd sides, with a
        // channel count that is not a whole vector, and with rows of eight windows (whose gradient the pooling apart writes
        // by whole windows) over a batch of several groups of Winograd's examples.
        var (model, x, dy) = ModelWithData(spec, c, h, w, batch);
        var fusedOutputs = model.Forward(x, batch).ToArray();
        var dx = new float[x.Length];
        model.Backward(x, dy, dx, batch, accumulate: false);
        var fused = model.Gradients.ToArray();
        // A convolution whose outputs went straight into its max pooling kept none of them, and says so.
        var layers = model.Layers;
        if (spec.Contains("maxpool", StringComparison.Ordinal))
            Assert.Contains("Forward", Assert.Throws<InvalidOperationException>(() => layers.OfType<Conv2d<float>>().Last().LastOutput(batch).Length).Message);

        var (outputs, reference) = PassesApart(layers, x, dy, batch);
        Assert.Equal(fusedOutputs.Select(BitConverter.SingleToInt32Bits), outputs.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(model.Gradients.ToArray().Select(BitConverter.SingleToInt32Bits), fused.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(reference.Select(BitConverter.SingleToInt32Bits), dx.Select(BitConverter.SingleToInt32Bits));
        Assert.Contains(fused, v => v != 0);
    }

    [Theory]
    [InlineData("conv:9,k=3,p=1-relu-maxpool:2-flatten-linear", 1, 8, 10, 3)]
    [InlineData("conv:32,k=3,p=1-relu-maxpool:2-flatten-linear", 1, 28, 28, 2)]
    [InlineData("conv:16,k=3,s=2,p=1-maxpool:3,s=2-flatten-linear", 2, 13, 11, 3)]
    [InlineData("conv:32,k=5,p=2-relu-maxpool:2-flatten-linear", 1, 7, 9, 2)]
    public void A_first_convolution_takes_its_kernel_gradient_from_its_poolings_windows_as_the_passes_apart_do(string spec, int c, int h, int w, int batch)
    {
        // A first layer (no input gradient) on the output's own grid, before a max pooling, sums each window's gradient times
        // the inputs under the kernel at its chosen place, instead of the whole output gradient's product with the unfolded
        // inputs. Cases: 9 channels (a group of eight sums and one alone), the exercise CNN's first layer, a strided
        // convolution under overlapping 3 x 3 windows (one output can take two windows' gradients) and no ReLU, a 5 x 5
        // kernel whose 26 entries and one take several vectors. The sums go in another order than the product's, so with
        // small integers everywhere (every sum exact) the gradients are the passes apart's bit for bit, and with normal
        // numbers within float rounding of them; an input that is not finite sends the batch through the product, the same
        // bit for bit (NaN where a zero gradient meets it, as in PyTorch).
        var (model, x, dy) = ModelWithData(spec, c, h, w, batch);
        var layers = model.Layers;
        var normal = model.Values.ToArray();
        float[] Windows(float[] inputs)
        {
            model.Forward(inputs, batch);
            model.Backward(inputs, dy, batch, accumulate: false);
            return model.Gradients.ToArray();
        }
        float[] Apart(float[] inputs)
        {
            PassesApart(layers, inputs, dy, batch);
            return model.Gradients.ToArray();
        }
        var (windows, apart) = (Windows(x), Apart(x));
        Assert.Contains(windows, v => v != 0);
        for (int i = 0; i < apart.Length; i++) Assert.True(Math.Abs(windows[i] - apart[i]) <= 1e-5 * (1 + Math.Abs(apart[i])), $"gradient {i}: {windows[i]} against {apart[i]}");
        // The windows' sums ran: their order rounds some kernel gradient differently from the product's.
        Assert.Contains(Enumerable.Range(0, apart.Length), i => windows[i] != apart[i]);

        // Small integers: the same bits.
        var values = model.Values;
        for (int i = 0; i < values.Length; i++) values[i] = MathF.Round(3 * normal[i] * MathF.Sqrt(model.InputSize));
        float[] whole = [.. x.Select(v => MathF.Round(v))];
        dy = [.. dy.Select(v => MathF.Round(3 * v))];
        (windows, apart) = (Windows(whole), Apart(whole));
        Assert.Contains(windows, v => v != 0);
        Assert.Equal(apart.Select(BitConverter.SingleToInt32Bits), windows.Select(BitConverter.SingleToInt32Bits));

        // An infinite input: the product's numbers.
        whole[^1] = float.PositiveInfinity;
        (windows, apart) = (Windows(whole), Apart(whole));
        Assert.Equal(apart.Select(BitConverter.SingleToInt32Bits), windows.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_pooling_of_channel_last_outputs_makes_its_channel_first_places_when_its_own_passes_ask_for_them(bool relu)
    {
        // A pooling that pooled a Winograd convolution's channel-last outputs keeps the places of the largest inputs channel-last
        // only, marked where the ReLU set the output to zero; its own backward and R-forward passes, which read them
        // channel-first, have them made then, the marks dropped: the same numbers as after its own forward pass.
        int batch = 3;
        List<Layer<float>> layers = [new Conv2d<float>([8, 6, 6], 9, 3, padding: 1)];
        if (relu) layers.Add(new Nonlinearity<float>(Activation.ReLU, [9, 6, 6]));
        var pool = new Pool2d<float>(Pooling.Max, [9, 6, 6], 2);
        layers.Add(pool);
        var model = new Sequential<float>(layers);
        model.Initialize(Initialization.Torch, new Rng(7));
        var rng = new Rng(8);
        float[] R(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextNormal())];
        float[] x = R(batch * model.InputSize), dy = R(batch * pool.OutputSize), rInput = R(batch * pool.InputSize), unread = new float[batch * pool.InputSize];
        (float[] Dx, float[] Ry) OwnPasses(int n, float[] g)
        {
            var dx = new float[n * pool.InputSize];
            pool.Backward(unread, g, dx, n);
            return (dx, pool.RForward(unread, rInput, [], n).ToArray());
        }
        model.Forward(x, batch);
        var (dx, ry) = OwnPasses(batch, dy);
        PassesApart(layers, x, new float[batch * pool.OutputSize], batch);
        var (expectedDx, expectedRy) = OwnPasses(batch, dy);
        // A smaller batch (the last two examples) after a larger one: its own places, not the larger batch's.
        model.Forward(x.AsSpan(model.InputSize).ToArray(), batch - 1);
        Assert.Equal(expectedDx.AsSpan(pool.InputSize).ToArray(), OwnPasses(batch - 1, dy.AsSpan(pool.OutputSize).ToArray()).Dx);
        Assert.Equal(expectedDx.Select(BitConverter.SingleToInt32Bits), dx.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(expectedRy.Select(BitConverter.SingleToInt32Bits), ry.Select(BitConverter.SingleToInt32Bits));
        Assert.Contains(dx, v => v != 0);
        if (relu) Assert.Contains(pool.LastOutput(batch).ToArray(), v => v == 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_pooling_that_writes_a_winograd_convolutions_gradient_channel_last_passes_nans_and_infinities_as_the_pooling_apart(bool relu)
    {
        // The pooling's output gradient holds NaN and infinities in a few windows; the channel-last gradient the pooling writes
        // for the Winograd convolution before it must carry them as the pooling's own backward pass does (to the chosen input
        // only, and not through the ReLU's mask where the output is zero), so the convolution's gradients, finite or not, are
        // the same bit for bit. 9 output channels: not a whole vector. F(4x4, 3x3) by name: its tiles leave some of the input
        // gradient finite, where one tile of F(6x6, 3x3), which the default takes, would cover the whole 6 x 6 image.
        int batch = 2;
        List<Layer<float>> layers = [new Conv2d<float>([8, 6, 6], 9, 3, padding: 1) { Algorithm = ConvolutionAlgorithm.Winograd4x4 }];
        if (relu) layers.Add(new Nonlinearity<float>(Activation.ReLU, [9, 6, 6]));
        layers.Add(new Pool2d<float>(Pooling.Max, [9, 6, 6], 2));
        var model = new Sequential<float>(layers);
        model.Initialize(Initialization.Torch, new Rng(7));
        var rng = new Rng(8);
        float[] x = [.. Enumerable.Range(0, batch * model.InputSize).Select(_ => (float)rng.NextNormal())];
        float[] dy = [.. Enumerable.Range(0, batch * model.OutputSize).Select(_ => (float)rng.NextNormal())];
        (dy[3], dy[40], dy[100], dy[161]) = (float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.NaN);
        model.Forward(x, batch);
        var dx = new float[x.Length];
        model.Backward(x, dy, dx, batch, accumulate: false);
        var fused = model.Gradients.ToArray();

        var (_, reference) = PassesApart(layers, x, dy, batch);
        Assert.Equal(model.Gradients.ToArray().Select(BitConverter.SingleToInt32Bits), fused.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(reference.Select(BitConverter.SingleToInt32Bits), dx.Select(BitConverter.SingleToInt32Bits));
        Assert.Contains(fused, float.IsNaN);
        Assert.Contains(dx, float.IsFinite);
    }

    /// <summary>
    /// The model of <paramref name="spec"/> on <c>[c, h, w]</c> images with 5 outputs (torch's initialization, seed 3), and a
    /// batch of normal inputs and output gradients (seed 4).
    /// </summary>
    private static (Sequential<float> Model, float[] X, float[] Dy) ModelWithData(string spec, int c, int h, int w, int batch)
    {
        var model = ModelSpec.Build<float>(spec, [c, h, w], 5, Initialization.Torch, new Rng(3));
        var rng = new Rng(4);
        float[] x = [.. Enumerable.Range(0, batch * model.InputSize).Select(_ => (float)rng.NextNormal())];
        float[] dy = [.. Enumerable.Range(0, batch * 5).Select(_ => (float)rng.NextNormal())];
        return (model, x, dy);
    }

    /// <summary>
    /// Every layer's own forward pass, then every layer's own backward pass (overwriting its gradients), one after the other:
    /// the reference for the passes <see cref="Sequential{T}"/> runs together. The last layer's outputs and the input gradient.
    /// </summary>
    private static (float[] Outputs, float[] InputGradient) PassesApart(IReadOnlyList<Layer<float>> layers, float[] x, float[] dy, int batch)
    {
        ReadOnlySpan<float> outputs = x;
        foreach (var layer in layers) outputs = layer.Forward(outputs, batch);
        var last = outputs.ToArray();
        ReadOnlySpan<float> g = dy;
        var dx = new float[x.Length];
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            if (layers[i].PassesThrough) continue;
            var gi = i == 0 ? dx : new float[batch * layers[i].InputSize];
            layers[i].Backward(i == 0 ? x : layers[i - 1].LastOutput(batch), g, gi, batch, accumulate: false);
            g = gi;
        }
        return (last, dx);
    }

    [Fact]
    public void The_cnn_preset_is_the_exercise_network_named_like_its_torch_module()
    {
        var model = ModelSpec.Build<float>("cnn", [1, 28, 28], 10, Initialization.Torch, new Rng(1));
        Assert.Equal(
            ["layers.0.weight [32, 1, 3, 3]", "layers.0.bias [32]", "layers.3.weight [64, 32, 3, 3]", "layers.3.bias [64]",
             "layers.7.weight [128, 3136]", "layers.7.bias [128]", "layers.9.weight [10, 128]", "layers.9.bias [10]"],
            model.Parameters.Select(p => p.ToString()));
        Assert.Equal(320 + 18_496 + 401_536 + 1_290, model.Values.Length);
        Assert.Equal([10], model.OutputShape);
        // One flat buffer: the parameters are views of it, in order.
        model.Parameters[2].Value.Span[0] = 42;
        Assert.Equal(42, model.Values[320]);
        // PyTorch's bounds: conv 1 has fan-in 9, so its weights lie in (-1/3, 1/3) and fill it.
        var w = model.Parameters[0].Value.Span.ToArray();
        Assert.True(w.Max() <= 1 / 3f && w.Min() >= -1 / 3f && w.Max() > 0.3f && w.Min() < -0.3f);
    }

    [Fact]
    public void A_layer_clock_times_the_passes_as_training_runs_them()
    {
        // conv - relu - maxpool - flatten - linear: the pooling runs inside the convolution's passes, so its time is the
        // convolution's, and it and the ReLU it applies take none.
        var model = ModelSpec.Build<float>("conv:4,k=3,p=1-relu-maxpool:2-flatten-linear", [1, 6, 6], 3, Initialization.Torch, new Rng(4));
        var clock = model.Clock = new LayerClock(model.Layers.Count);
        var x = Enumerable.Range(0, 2 * 36).Select(i => (float)Math.Sin(i)).ToArray();
        var outputs = model.Forward(x, 2).ToArray();
        model.Backward(x, outputs, 2, accumulate: false);
        Assert.True(clock.ForwardMilliseconds(0) > 0 && clock.BackwardMilliseconds(0) > 0);
        Assert.True(clock.ForwardMilliseconds(4) > 0 && clock.BackwardMilliseconds(4) > 0);
        foreach (int i in new[] { 1, 2 }) Assert.Equal((0.0, 0.0), (clock.ForwardMilliseconds(i), clock.BackwardMilliseconds(i)));
        clock.Reset();
        Assert.Equal(0, clock.ForwardMilliseconds(0) + clock.BackwardMilliseconds(4));
        var e = Assert.Throws<ArgumentException>(() => model.Clock = new LayerClock(4));
        Assert.Contains("new LayerClock(5)", e.Message);
        model.Clock = null;
        model.Forward(x, 2);
        Assert.Equal(0, clock.ForwardMilliseconds(0));
    }

    [Fact]
    public void The_mlp_preset_is_the_dense_network_of_the_trainer_bit_for_bit()
    {
        var preset = ModelSpec.Build<float>("mlp:16,9", [2], 3, Initialization.He, new Rng(5));
        var direct = new Sequential<float>([2, 16, 9, 3], Activation.ReLU, Initialization.He, new Rng(5));
        Assert.Equal(direct.Values.ToArray(), preset.Values.ToArray());
        Assert.Equal(direct.Parameters.Select(p => p.ToString()), preset.Parameters.Select(p => p.ToString()));
        var chain = ModelSpec.Build<float>("linear:16-relu-linear:9-relu-linear", [2], 3, Initialization.He, new Rng(5));
        Assert.Equal(direct.Values.ToArray(), chain.Values.ToArray());
        float[] x = [0.5f, -1, 2, 0.25f];
        Assert.Equal(direct.Forward(x, 2).ToArray(), chain.Forward(x, 2).ToArray());
    }

    [Theory]
    [InlineData("conv:8,k=3", "needs images [C, H, W]")]
    [InlineData("flatten-conv:8,k=3", "put it before flatten")]
    [InlineData("conv:8", "needs k=")]
    [InlineData("conv:8,k=3,q=2", "has no option q=")]
    [InlineData("conv:0,k=3", "at least 1")]
    [InlineData("linear-relu--linear", "an empty layer")]
    [InlineData("res(linear:4", "unbalanced parentheses")]
    [InlineData("res(linear:4)", "needs equal shapes")]
    [InlineData("lstm:4", "unknown layer 'lstm:4'")]
    [InlineData("flatten-linear:-1", "'1' is not a layer: a '-' separates layers, so a negative number ('linear:-1') splits the spec there")]
    [InlineData("mlp:64,x", "'x' is not a hidden width")]
    [InlineData("dropout:1.5", "Invalid dropout probability 1.5")]
    [InlineData("conv:8,k=3,k=5", "gives k= twice; give it once")]
    [InlineData("conv:8,k=3,alg=fast", "has alg=fast; use alg=auto, unfold, winograd, winograd4x4 or winograd6x6")]
    [InlineData("conv:8,k=2,alg=winograd", "asks for Winograd's algorithm, which takes 3x3 kernels at stride 1; use alg=unfold or alg=auto")]
    [InlineData("mlp:64,,64", "'' is not a hidden width")]
    [InlineData("transformer:layers=1,d=8", "needs heads= (for example transformer:layers=2,d=64,heads=4)")]
    public void Bad_specs_are_rejected_with_the_problem_and_the_fix(string spec, string message)
    {
        var shape = spec.StartsWith("conv:8,k=3") && message.Contains("images") || spec.StartsWith("linear") || spec.StartsWith("res") || spec.StartsWith("mlp") || spec.StartsWith("lstm") || spec.StartsWith("dropout") ? new[] { 6 } : [1, 5, 5];
        var e = Assert.Throws<ArgumentException>(() => ModelSpec.Build<float>(spec, shape, 3, Initialization.Torch, new Rng(0)));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("", ConvolutionAlgorithm.Auto)]
    [InlineData(",alg=unfold", ConvolutionAlgorithm.Unfold)]
    [InlineData(",alg=winograd", ConvolutionAlgorithm.Winograd)]
    [InlineData(",alg=Winograd4x4", ConvolutionAlgorithm.Winograd4x4)]
    [InlineData(",alg=winograd6x6", ConvolutionAlgorithm.Winograd6x6)]
    public void A_spec_can_name_the_convolution_algorithm(string option, ConvolutionAlgorithm expected)
    {
        var model = ModelSpec.Build<float>($"conv:8,k=3,p=1{option}-relu-maxpool:2-flatten-linear", [8, 8, 8], 3, Initialization.Torch, new Rng(0));
        Assert.Equal(expected, Assert.IsType<Conv2d<float>>(model.Layers[0]).Algorithm);
    }

    [Fact]
    public void Relu_lets_nan_through_and_zeroes_both_zeros_as_torch_does()
    {
        // torch.relu(tensor([nan, -1., 0., -0., 2.])) = [nan, 0., 0., 0., 2.], and threshold_backward passes the gradient where
        // the input is not <= 0 (NaN included). A vector's worth and a tail, so both paths of the kernel are taken.
        float[] pattern = [float.NaN, -1f, 0f, -0f, 2f];
        var x = Enumerable.Range(0, 37).Select(i => pattern[i % 5]).ToArray();
        var y = new float[x.Length];
        Activations.Forward(Activation.ReLU, x, y);
        var dy = Enumerable.Repeat(3f, x.Length).ToArray();
        var dx = new float[x.Length];
        Activations.Backward(Activation.ReLU, x, y, dy, dx);
        for (int i = 0; i < x.Length; i++)
        {
            float expected = float.IsNaN(x[i]) ? float.NaN : x[i] > 0 ? x[i] : 0f;
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[i]));
            Assert.Equal(float.IsNaN(x[i]) || x[i] > 0 ? 3f : 0f, dx[i]);
        }
    }

    [Theory]
    [InlineData(3, 28, 28, 2)]
    [InlineData(2, 16, 32, 2)]
    [InlineData(4, 14, 14, 3)]
    [InlineData(2, 5, 7, 3)]
    [InlineData(1, 9, 33, 1)]
    public void Float_max_pooling_picks_the_same_inputs_as_the_double_path(int channels, int height, int width, int batch)
    {
        // The float 2 x 2 path runs in vectors (spilling past row ends), the double path one window at a time; with
        // many ties, signed zeros and NaNs both must pick the first largest input of every window, as PyTorch does.
        // Backward, even sides with eight windows or more to a row (28 and 32 wide) take the float path that writes
        // whole windows (overlapping the row's last ones when the row is not whole vectors: 14 windows), the rest scatter.
        var rng = new Rng(5);
        float[] choices = [-0f, 0f, 1f, 2f, -1f, float.NaN];
        var x = Enumerable.Range(0, batch * channels * height * width).Select(_ => choices[(int)(rng.NextDouble() * choices.Length)]).ToArray();
        var single = new Pool2d<float>(Pooling.Max, [channels, height, width], 2);
        var reference = new Pool2d<double>(Pooling.Max, [channels, height, width], 2);
        var y = single.Forward(x, batch).ToArray();
        var expected = reference.Forward(x.Select(v => (double)v).ToArray(), batch).ToArray();
        Assert.Equal(expected.Length, y.Length);
        for (int i = 0; i < y.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(y[i]) == BitConverter.SingleToInt32Bits((float)expected[i]), $"output {i}: {y[i]} against {expected[i]}");
        // The gradient lands on the chosen input of each window, and every other input is written as +0 (a gradient of -0
        // too, as adding it to a cleared plane gives), whatever the buffer held before.
        var dy = Enumerable.Range(0, y.Length).Select(i => i % 13 == 0 ? -0f : i % 13).ToArray();
        var dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        var dxExpected = Enumerable.Repeat(double.NaN, x.Length).ToArray();
        single.Backward(x, dy, dx, batch);
        reference.Backward(x.Select(v => (double)v).ToArray(), dy.Select(v => (double)v).ToArray(), dxExpected, batch);
        Assert.Equal(dxExpected.Select(v => BitConverter.SingleToInt32Bits((float)v)), dx.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Dropout_zeroes_a_fraction_p_scales_the_rest_and_is_seeded()
    {
        var rng = new Rng(2);
        var x = Enumerable.Range(0, 4000).Select(_ => rng.NextNormal() + 3).ToArray();
        var a = new Dropout<double>([1000], 0.3, new Rng(7));
        var b = new Dropout<double>([1000], 0.3, new Rng(7));
        var y = a.Forward(x, 4).ToArray();
        Assert.Equal(y, b.Forward(x, 4).ToArray());
        int dropped = y.Count(v => v == 0);
        Assert.InRange(dropped / 4000.0, 0.27, 0.33);
        for (int i = 0; i < x.Length; i++) Assert.True(y[i] == 0 || y[i] == x[i] * (1 / (1 - 0.3)));
        // The gradient goes through exactly the kept inputs, with the same scale.
        var dy = Enumerable.Range(0, 4000).Select(i => (double)(i % 7) - 3).ToArray();
        var dx = new double[4000];
        a.Backward(x, dy, dx, 4);
        for (int i = 0; i < x.Length; i++) Assert.Equal(y[i] == 0 ? 0 : dy[i] * (1 / (1 - 0.3)), dx[i]);
        // A second batch draws a new mask; evaluation mode passes everything through.
        Assert.NotEqual(y, a.Forward(x, 4).ToArray());
        a.Training = false;
        Assert.Equal(x, a.Forward(x, 4).ToArray());
    }

    [Fact]
    public void Batch_norm_in_training_mode_needs_more_than_one_value_per_channel()
    {
        var bn = new BatchNorm<double>([3]);
        var e = Assert.Throws<ArgumentException>(() => bn.Forward([1.0, 2, 3], 1));
        Assert.Contains("more than one value per channel", e.Message);
        bn.Training = false;
        Assert.Equal([1.0 / Math.Sqrt(1 + 1e-5), 2 / Math.Sqrt(1 + 1e-5), 3 / Math.Sqrt(1 + 1e-5)], bn.Forward([1.0, 2, 3], 1).ToArray());
    }

    [Fact]
    public void Training_mode_reaches_every_layer_of_a_model()
    {
        var model = ModelSpec.Build<float>("conv:2,k=3-batchnorm-res(relu-dropout:0.5)-flatten-linear", [1, 5, 5], 3, Initialization.Torch, new Rng(0));
        var residual = (Residual<float>)model.Layers[2];
        var dropout = ((Sequential<float>)residual.Body).Layers[1];
        model.Training = false;
        Assert.False(model.Layers[1].Training);
        Assert.False(dropout.Training);
        Assert.Equal(["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.4.weight", "layers.4.bias"], model.Parameters.Select(p => p.Name));
        Assert.Equal(["layers.1.running_mean", "layers.1.running_var", "layers.1.num_batches_tracked"], model.Buffers().Select(b => b.Name));
    }

    [Theory]
    [InlineData("conv:4,k=3,p=1-batchnorm-relu-maxpool:2-conv:6,k=3,s=2,p=1-relu-avgpool:2-flatten-dropout:0.2-linear:16-relu-linear")]
    [InlineData("conv:8,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1-relu-flatten-linear")] // the second convolution by Winograd's algorithm
    public void A_cnn_training_step_allocates_nothing(string spec)
    {
        var model = ModelSpec.Build<float>(spec, [1, 12, 12], 10, Initialization.Torch, new Rng(0));
        var sgd = new Sgd<float>(model.Parameters, new SgdOptions { LearningRate = 0.05, Momentum = 0.9 });
        var rng = new Rng(1);
        const int batch = 8;
        var x = Enumerable.Range(0, batch * 144).Select(_ => (float)rng.NextNormal()).ToArray();
        var labels = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
        var dz = new float[batch * 10];
        double first = 0, last = 0;
        void Step(int i)
        {
            var z = model.Forward(x, batch);
            last = Losses.Evaluate(Nn.Loss.CrossEntropy, z, labels, batch, dz, out _);
            if (i == 0) first = last;
            model.Backward(x, dz, batch, accumulate: false);
            sgd.Step();
        }
        for (int i = 0; i < 20; i++) Step(i);
        int step = 20;
        Assert.Equal(0, ModelTrainingTests.LeastAllocated(() => Step(step++)).Caller);
        Assert.True(last < 0.9 * first, $"the loss went from {first} to {last}: the steps did not learn");
    }

    /// <summary>
    /// Winograd's F(2x2, 3x3), F(4x4, 3x3) and F(6x6, 3x3) against the unfolded product, forward and backward, on odd sizes: output
    /// heights and widths that are not multiples of the blocks (partial tiles), channels that do not fill a vector,
    /// several groups of examples of sizes at most one apart (64 channels at 14 x 14: at most two examples to a group in float
    /// and one in double for F(2x2, 3x3), four and two for F(4x4, 3x3), five and two for F(6x6, 3x3), over batches of 5
    /// and 12), outputs whose edge F(4x4, 3x3) and F(6x6, 3x3) take by blocks of 2 along either axis or both (14 x 14,
    /// 5 x 7 and 9 x 4 among them), and, for F(2x2, 3x3), examples each larger than a
    /// group's budget (64 channels at 24 x 23). F(4x4, 3x3) and F(6x6, 3x3) round more in
    /// float: up to 9.8e-6 and 9.6e-6 of the largest output measured here (F(6x6, 3x3) 2e-6 to 9.6e-6 across the cases,
    /// every gradient within 9.9e-6), against 3e-6 for F(2x2, 3x3).
    /// </summary>
    [Theory]
    [InlineData(1, 8, 9, 5, 7, 1)]
    [InlineData(3, 5, 7, 6, 5, 0)]
    [InlineData(3, 3, 2, 5, 7, 2)]
    [InlineData(5, 17, 20, 9, 4, 1)]
    [InlineData(5, 8, 8, 14, 14, 1)]
    [InlineData(2, 9, 16, 24, 23, 1)]
    [InlineData(5, 64, 64, 14, 14, 1)]
    [InlineData(12, 64, 64, 14, 14, 1)]
    [InlineData(2, 64, 64, 24, 23, 1)]
    public void Winograd_convolution_equals_the_unfolded_product(int batch, int c, int o, int h, int w, int padding)
    {
        Compare<double>(ConvolutionAlgorithm.Winograd, 1e-13);
        Compare<float>(ConvolutionAlgorithm.Winograd, 3e-6);
        Compare<double>(ConvolutionAlgorithm.Winograd4x4, 1e-13);
        Compare<float>(ConvolutionAlgorithm.Winograd4x4, 2e-5);
        Compare<double>(ConvolutionAlgorithm.Winograd6x6, 1e-13);
        Compare<float>(ConvolutionAlgorithm.Winograd6x6, 2e-5);

        void Compare<T>(ConvolutionAlgorithm algorithm, double tolerance) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var rng = new Rng((ulong)(batch * 1000 + c * 100 + o));
            Conv2d<T> Make(ConvolutionAlgorithm algorithm)
            {
                var layer = new Conv2d<T>([c, h, w], o, 3, padding: padding) { Algorithm = algorithm };
                layer.Initialize(Initialization.Torch, new Rng(7));
                return layer;
            }
            var (direct, winograd) = (Make(ConvolutionAlgorithm.Unfold), Make(algorithm));
            var x = Enumerable.Range(0, batch * direct.InputSize).Select(_ => T.CreateTruncating(rng.NextNormal())).ToArray();
            var dy = Enumerable.Range(0, batch * direct.OutputSize).Select(_ => T.CreateTruncating(rng.NextNormal())).ToArray();
            var expected = direct.Forward(x, batch).ToArray();
            Near(expected, winograd.Forward(x, batch), "output");
            var (dxDirect, dxWinograd) = (new T[x.Length], new T[x.Length]);
            direct.Backward(x, dy, dxDirect, batch, accumulate: false);
            winograd.Backward(x, dy, dxWinograd, batch, accumulate: false);
            Near(dxDirect, dxWinograd, "d input");
            Near(direct.Gradients, winograd.Gradients, "d weight and bias");
            // A second backward pass adds onto the parameter gradients.
            winograd.Backward(x, dy, dxWinograd, batch, accumulate: true);
            Near([.. direct.Gradients.ToArray().Select(g => g + g)], winograd.Gradients, "accumulated gradients");

            void Near(ReadOnlySpan<T> want, ReadOnlySpan<T> got, string what)
            {
                Assert.Equal(want.Length, got.Length);
                double scale = 0;
                foreach (var v in want) scale = Math.Max(scale, Math.Abs(double.CreateTruncating(v)));
                double worst = 0;
                for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(double.CreateTruncating(got[i] - want[i])) / scale);
                Assert.True(worst <= tolerance, $"{typeof(T).Name} {algorithm} {what}: {worst:E2} of the largest entry");
            }
        }
    }

    /// <summary>
    /// The unfolded convolution's output is, to the last bit, one chain of fused multiply-adds per output, from zero over
    /// the kernel's inputs in order (channel, row, column), then the bias: rows of a vector's width and wider, padding 0
    /// to 2, one and two input channels, 1 x 1 and 3 x 3 kernels, on the padded grid and on the output's own (no more
    /// kernel entries than output channels, where the bias comes from a row of ones; rows of 28 and of fewer than a
    /// vector), in both precisions. Another way of computing the layer
    /// (a direct convolution, say) must keep these numbers.
    /// </summary>
    [Theory]
    [InlineData(1, 1, 5, 28, 28, 3, 1)]
    [InlineData(2, 1, 3, 17, 40, 3, 2)]
    [InlineData(1, 1, 4, 9, 18, 3, 0)]
    [InlineData(1, 1, 2, 6, 16, 1, 0)]
    [InlineData(1, 2, 3, 9, 19, 3, 1)]
    [InlineData(2, 1, 16, 28, 28, 3, 1)]
    [InlineData(2, 2, 24, 5, 6, 3, 1)]
    public void A_convolution_output_is_one_chain_of_fused_multiply_adds_then_the_bias(int batch, int c, int o, int h, int w, int k, int padding)
    {
        Check<float>(MathF.FusedMultiplyAdd);
        Check<double>(Math.FusedMultiplyAdd);

        void Check<T>(Func<T, T, T, T> fma) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var layer = new Conv2d<T>([c, h, w], o, k, padding: padding);
            layer.Initialize(Initialization.Torch, new Rng(5));
            layer.Bias.Value.Span.Fill(T.CreateTruncating(0.375));
            var rng = new Rng((ulong)(h * 100 + w));
            var x = Enumerable.Range(0, batch * layer.InputSize).Select(_ => T.CreateTruncating(rng.NextNormal())).ToArray();
            var y = layer.Forward(x, batch).ToArray();
            var weight = layer.Weight.Value.Span;
            int ho = h + 2 * padding - k + 1, wo = w + 2 * padding - k + 1;
            T At(int b, int ch, int yy, int xx) => yy < 0 || yy >= h || xx < 0 || xx >= w ? T.Zero : x[((b * c + ch) * h + yy) * w + xx];
            for (int b = 0; b < batch; b++)
                for (int oc = 0; oc < o; oc++)
                    for (int oy = 0; oy < ho; oy++)
                        for (int ox = 0; ox < wo; ox++)
                        {
                            T sum = T.Zero;
                            for (int ch = 0, q = 0; ch < c; ch++)
                                for (int i = 0; i < k; i++)
                                    for (int j = 0; j < k; j++, q++) sum = fma(weight[oc * c * k * k + q], At(b, ch, oy + i - padding, ox + j - padding), sum);
                            T want = sum + T.CreateTruncating(0.375), got = y[((b * o + oc) * ho + oy) * wo + ox];
                            if (want != got) Assert.Fail($"{typeof(T).Name} y[{b}, {oc}, {oy}, {ox}] = {got}, the chain gives {want}");
                        }
        }
    }

    /// <summary>
    /// A convolution's weight and bias gradients are the same, bit for bit, whether or not it is asked for an input
    /// gradient (a first layer is not): computing the input gradient leaves them alone, on the output's own grid (no more
    /// kernel entries than output channels) and on the padded one, in both precisions (3 x 3 and 2 x 2 kernels, odd
    /// sides, padding).
    /// </summary>
    [Theory]
    [InlineData(1, 16, 3, 1)]
    [InlineData(2, 12, 2, 0)]
    [InlineData(2, 4, 3, 1)]
    public void A_convolution_without_an_input_gradient_has_the_same_weight_gradient(int c, int o, int k, int padding)
    {
        Check<float>();
        Check<double>();

        void Check<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            const int batch = 3;
            var layer = new Conv2d<T>([c, 9, 11], o, k, padding: padding);
            layer.Initialize(Initialization.Torch, new Rng(2));
            var rng = new Rng(9);
            var x = Enumerable.Range(0, batch * layer.InputSize).Select(_ => T.CreateTruncating(rng.NextNormal())).ToArray();
            var dy = Enumerable.Range(0, batch * layer.OutputSize).Select(_ => T.CreateTruncating(rng.NextNormal())).ToArray();
            layer.Forward(x, batch);
            layer.Backward(x, dy, new T[x.Length], batch, accumulate: false);
            var withInput = layer.Gradients.ToArray();
            layer.Backward(x, dy, [], batch, accumulate: false);
            Assert.Equal(withInput, layer.Gradients.ToArray());
        }
    }

    /// <summary>
    /// A NaN in one backward pass leaves the next forward pass finite: the channels added to fill a vector (9 of 16 or 8
    /// used) never take the gradient's values into the inputs' buffers.
    /// </summary>
    [Theory]
    [InlineData(ConvolutionAlgorithm.Winograd)]
    [InlineData(ConvolutionAlgorithm.Winograd4x4)]
    [InlineData(ConvolutionAlgorithm.Winograd6x6)]
    public void A_nan_gradient_does_not_reach_a_later_winograd_forward_pass(ConvolutionAlgorithm algorithm)
    {
        var layer = new Conv2d<float>([9, 6, 6], 8, 3, padding: 1) { Algorithm = algorithm };
        layer.Initialize(Initialization.Torch, new Rng(2));
        var rng = new Rng(3);
        var x = Enumerable.Range(0, 2 * layer.InputSize).Select(_ => (float)rng.NextNormal()).ToArray();
        var dy = new float[2 * layer.OutputSize];
        dy[layer.OutputSize + 5] = float.NaN;   // in the last example, whose gradient plane is the last one copied out
        layer.Forward(x, 2);
        layer.Backward(x, dy, new float[x.Length], 2, accumulate: false);
        Assert.All(layer.Forward(x, 2).ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>
    /// Layers taken into a second Sequential lose the first one's arrangements: a ReLU first in it is a layer of its own
    /// again (its gradient written), and the pooling after it no longer rectifies.
    /// </summary>
    [Fact]
    public void A_relu_reused_at_the_front_of_another_sequential_runs_its_own_passes()
    {
        var conv = new Conv2d<double>([1, 6, 6], 2, 3, padding: 1);
        var relu = new Nonlinearity<double>(Activation.ReLU, [2, 6, 6]);
        var pool = new Pool2d<double>(Pooling.Max, [2, 6, 6], 2);
        _ = new Sequential<double>([conv, relu, pool]);
        Assert.True(relu.PassesThrough);
        var second = new Sequential<double>([relu, pool]);
        Assert.False(relu.PassesThrough);
        var (soloRelu, soloPool) = (new Nonlinearity<double>(Activation.ReLU, [2, 6, 6]), new Pool2d<double>(Pooling.Max, [2, 6, 6], 2));
        var rng = new Rng(4);
        var x = Enumerable.Range(0, 2 * 72).Select(_ => rng.NextNormal()).ToArray();
        var dy = Enumerable.Range(0, 2 * 18).Select(_ => rng.NextNormal()).ToArray();
        Assert.Equal(soloPool.Forward(soloRelu.Forward(x, 2), 2).ToArray(), second.Forward(x, 2).ToArray());
        var (dPool, expected, dx) = (new double[x.Length], new double[x.Length], new double[x.Length]);
        soloPool.Backward(soloRelu.LastOutput(2), dy, dPool, 2);
        soloRelu.Backward(x, dPool, expected, 2);
        second.Backward(x, dy, dx, 2, accumulate: false);
        Assert.Equal(expected, dx);
    }

    [Fact]
    public void A_convolution_shared_with_another_sequential_runs_the_passes_its_layers_now_call_for()
    {
        // The second Sequential takes the ReLU away from the convolution's side (it no longer passes through), so the
        // first may no longer run the pooling's backward pass through the convolution: its gradients stay those of its
        // layers' own passes.
        var conv = new Conv2d<double>([1, 6, 6], 2, 3, padding: 1);
        var relu = new Nonlinearity<double>(Activation.ReLU, [2, 6, 6]);
        var pool = new Pool2d<double>(Pooling.Max, [2, 6, 6], 2);
        var first = new Sequential<double>([conv, relu, pool]);
        first.Initialize(Initialization.Torch, new Rng(2));
        _ = new Sequential<double>([relu, pool]);
        var rng = new Rng(4);
        var x = Enumerable.Range(0, 2 * 36).Select(_ => rng.NextNormal()).ToArray();
        var dy = Enumerable.Range(0, 2 * 18).Select(_ => rng.NextNormal()).ToArray();
        var y = first.Forward(x, 2).ToArray();
        var dx = new double[x.Length];
        first.Backward(x, dy, dx, 2, accumulate: false);
        var gradients = first.Gradients.ToArray();
        Assert.Equal(pool.Forward(relu.Forward(conv.Forward(x, 2), 2), 2).ToArray(), y);
        var (dPool, dRelu, expected) = (new double[2 * 72], new double[2 * 72], new double[x.Length]);
        pool.Backward(relu.LastOutput(2), dy, dPool, 2);
        relu.Backward(conv.LastOutput(2), dPool, dRelu, 2);
        conv.Backward(x, dRelu, expected, 2, accumulate: false);
        Assert.Equal(expected, dx);
        Assert.Equal(first.Gradients.ToArray(), gradients);
    }

    /// <summary>
    /// The default algorithm takes F(4x4, 3x3) where its tiles need at most four fifths of F(2x2, 3x3)'s multiplications
    /// and F(6x6, 3x3)'s do not need at most five sixths of its (7 x 7 outputs: 144 against 256, and 144 again), F(6x6, 3x3)
    /// where they do (14 x 14 outputs: 400 against 484 and 784 per channel pair), and F(2x2, 3x3) where F(4x4, 3x3) does
    /// not pay (2 x 6: 40 against 48): the same outputs, bit for bit, as the algorithm asked for by name, and not those of
    /// the next one.
    /// </summary>
    [Theory]
    [InlineData(14, 14, ConvolutionAlgorithm.Winograd6x6)]
    [InlineData(7, 7, ConvolutionAlgorithm.Winograd4x4)]
    [InlineData(2, 6, ConvolutionAlgorithm.Winograd)]
    public void The_default_algorithm_takes_the_winograd_tiles_with_fewer_multiplications(int ho, int wo, ConvolutionAlgorithm expected)
    {
        var rng = new Rng(11);
        var x = Enumerable.Range(0, 2 * 8 * ho * wo).Select(_ => (float)rng.NextNormal()).ToArray();
        float[] Output(ConvolutionAlgorithm algorithm)
        {
            var layer = new Conv2d<float>([8, ho, wo], 8, 3, padding: 1) { Algorithm = algorithm };
            layer.Initialize(Initialization.Torch, new Rng(3));
            return layer.Forward(x, 2).ToArray();
        }
        var other = expected == ConvolutionAlgorithm.Winograd4x4 ? ConvolutionAlgorithm.Winograd6x6 : ConvolutionAlgorithm.Winograd4x4;
        Assert.Equal(Output(expected), Output(ConvolutionAlgorithm.Auto));
        Assert.NotEqual(Output(other), Output(ConvolutionAlgorithm.Auto));
    }

    /// <summary>
    /// Blocks of 4 take the output but for the one or two rows or columns they leave at an edge, which blocks of 2 take
    /// (three left over take a block of 4 cut short): 14 x 14 outputs cost 22 x 22 = 484 multiplications per channel pair
    /// (3 x 3 tiles of 6 x 6 entries, 3 + 3 of 6 x 4 and one of 4 x 4), not the 576 of 4 x 4 blocks of 4; blocks of 6 the
    /// same way, 20 x 20 = 400 (2 x 2 tiles of 8 x 8, 2 + 2 of 8 x 4, one of 4 x 4), and 16 x 16 outputs, four left over,
    /// a block of 6 cut short.
    /// </summary>
    [Theory]
    [InlineData(14, 14, 4, 484)]
    [InlineData(16, 16, 4, 576)]
    [InlineData(5, 7, 4, 120)]
    [InlineData(2, 6, 4, 40)]
    [InlineData(3, 1, 4, 24)]
    [InlineData(14, 14, 2, 784)]
    [InlineData(5, 7, 2, 192)]
    [InlineData(14, 14, 6, 400)]
    [InlineData(16, 16, 6, 576)]
    [InlineData(7, 7, 6, 144)]
    [InlineData(6, 6, 6, 64)]
    public void Winograd_takes_the_edge_with_blocks_of_two(int ho, int wo, int size, long multiplications) =>
        Assert.Equal(multiplications, Winograd<float>.Multiplications(ho, wo, size));

    [Fact]
    public void Winograd_is_refused_for_kernels_it_does_not_fit()
    {
        var layer = new Conv2d<float>([2, 5, 5], 4, 3, stride: 2);
        var error = Assert.Throws<ArgumentException>(() => layer.Algorithm = ConvolutionAlgorithm.Winograd);
        Assert.Contains("3x3 kernels at stride 1", error.Message);
        Assert.Equal(ConvolutionAlgorithm.Auto, layer.Algorithm);
    }

    /// <summary>
    /// A ReLU before max pooling is applied by the pooling (to its outputs) and skipped in the backward pass: the same
    /// outputs and gradients, bit for bit, as with the two kept apart by an identity layer, in both precisions.
    /// </summary>
    [Fact]
    public void Max_pooling_applies_the_relu_before_it_with_the_same_numbers()
    {
        const string odd = "conv:8,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1-relu-maxpool:3,s=2-flatten-linear";
        // Even sides, ten windows to a row: the float backward pass writes whole windows (and the ReLU's mask with them).
        const string even = "conv:8,k=3,p=1-relu-maxpool:2-conv:8,k=3,p=1-relu-maxpool:2-flatten-linear";
        Compare<float>(odd, [2, 11, 13]);
        Compare<double>(odd, [2, 11, 13]);
        Compare<float>(even, [2, 16, 20]);
        Compare<double>(even, [2, 16, 20]);

        static void Compare<T>(string spec, int[] shape) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            const int batch = 3;
            var fused = ModelSpec.Build<T>(spec, shape, 4, Initialization.Torch, new Rng(3));
            var apart = ModelSpec.Build<T>(spec.Replace("relu-maxpool", "relu-identity-maxpool"), shape, 4, Initialization.Torch, new Rng(3));
            Assert.True(fused.Layers[1].PassesThrough);
            Assert.False(apart.Layers[1].PassesThrough);
            Assert.True(fused.Layers[6].PassesThrough);   // the flattening: a view of the pooled numbers
            Assert.Equal(apart.Values.ToArray(), fused.Values.ToArray());
            var rng = new Rng(5);
            // Inputs shifted down so that many windows hold no positive value, and one window all zeros.
            var x = Enumerable.Range(0, batch * fused.InputSize).Select(_ => T.CreateTruncating(rng.NextNormal() - 0.5)).ToArray();
            x.AsSpan(0, 30).Clear();
            var dy = Enumerable.Range(0, batch * 4).Select(_ => T.CreateTruncating(rng.NextNormal())).ToArray();
            Assert.Equal(apart.Forward(x, batch).ToArray(), fused.Forward(x, batch).ToArray());
            var (dxFused, dxApart) = (new T[x.Length], new T[x.Length]);
            // A backward pass with another gradient first, so that a pooling input left unwritten would keep its value.
            fused.Backward(x, dy.Select(v => v * T.CreateTruncating(3) + T.One).ToArray(), dxFused, batch, accumulate: false);
            fused.Backward(x, dy, dxFused, batch, accumulate: false);
            apart.Backward(x, dy, dxApart, batch, accumulate: false);
            Assert.Equal(dxApart, dxFused);
            Assert.Equal(apart.Gradients.ToArray(), fused.Gradients.ToArray());
        }
    }
}
