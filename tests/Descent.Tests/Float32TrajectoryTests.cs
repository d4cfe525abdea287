using System.Text.Json;
using Descent.Nn;
using Descent.Optim;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// torch.optim's rules in float32, the precision training runs in, against PyTorch 1.13 bit for bit
/// (tools/reference/generate_float32.py): two tensors of 37 and 5 entries, so every vector width meets a remainder,
/// 25 steps on the gradient <c>p / 2 + c_t</c>. The float64 references cannot see how a scalar such as ASGD's eta is
/// rounded; these can.
/// </summary>
public class Float32TrajectoryTests
{
    private static readonly Lazy<JsonElement> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "float32_reference.json"))).RootElement);

    public static IEnumerable<object[]> Cases =>
        Enumerable.Range(0, Document.Value.GetProperty("cases").GetArrayLength()).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float_optimizer_equals_torch_float32_bit_for_bit(int index)
    {
        var c = Document.Value.GetProperty("cases")[index];
        var table = Document.Value.GetProperty("gradient_table");
        var parameters = c.GetProperty("start").EnumerateObject()
            .Select(s => Parameter<float>.FromValues(s.Name, [.. s.Value.EnumerateArray().Select(v => (float)v.GetDouble())])).ToArray();
        var optimizer = Optimizers.Create(c.GetProperty("optimizer").GetString()!, parameters, TorchReference.Options(c));
        string name = $"{c.GetProperty("optimizer").GetString()} {c.GetProperty("options")}";
        int step = 0;
        foreach (var expected in c.GetProperty("path").EnumerateArray())
        {
            foreach (var p in parameters)
            {
                var ct = table[step].GetProperty(p.Name).EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
                var value = p.Value.Span;
                var grad = p.Grad.Span;
                for (int i = 0; i < value.Length; i++) grad[i] = value[i] * 0.5f + ct[i];
            }
            optimizer.Step();
            step++;
            foreach (var p in parameters)
            {
                var want = expected.GetProperty(p.Name).EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
                var got = p.Value.Span;
                for (int i = 0; i < want.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]),
                        $"{name}: step {step}, {p.Name}[{i}] is {got[i]:R}, torch float32 has {want[i]:R}");
            }
        }
    }

    public static IEnumerable<object[]> Clips =>
        Enumerable.Range(0, Document.Value.GetProperty("clips").GetArrayLength()).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(Clips))]
    public void Global_norm_clipping_equals_torch_clip_grad_norm_bit_for_bit(int index)
    {
        var c = Document.Value.GetProperty("clips")[index];
        if (c.GetProperty("dtype").GetString() == "float32") Clip<float>(c);
        else Clip<double>(c);
    }

    private static void Clip<T>(JsonElement c) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var grads = c.GetProperty("grads").EnumerateArray().Select(g => g.EnumerateArray().Select(v => T.CreateTruncating(v.GetDouble())).ToArray()).ToArray();
        var parameters = grads.Select((g, i) => new Parameter<T>($"p{i}", [g.Length])).ToArray();
        for (int i = 0; i < grads.Length; i++) grads[i].CopyTo(parameters[i].Grad);
        double norm = GradientClipping.ClipByGlobalNorm(parameters, c.GetProperty("max_norm").GetDouble(), Number(c.GetProperty("norm_type")));
        string name = $"{c.GetProperty("dtype")} max_norm {c.GetProperty("max_norm")}, norm_type {c.GetProperty("norm_type")}";
        Assert.True(Number(c.GetProperty("norm")).Equals(norm), $"{name}: norm {norm:R}, torch {Number(c.GetProperty("norm")):R}");
        int k = 0;
        foreach (var want in c.GetProperty("clipped").EnumerateArray())
        {
            var got = parameters[k].Grad.Span;
            int i = 0;
            foreach (var v in want.EnumerateArray())
            {
                T w = T.CreateTruncating(Number(v));
                Assert.True(w.Equals(got[i]) && T.IsNegative(w) == T.IsNegative(got[i]), $"{name}: p{k}[{i}] is {got[i]}, torch has {w}");
                i++;
            }
            k++;
        }
    }

    /// <summary>A number of the reference file, where infinities and NaN are strings.</summary>
    private static double Number(JsonElement v) =>
        v.ValueKind == JsonValueKind.String ? double.Parse(v.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : v.GetDouble();
}
