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
}
