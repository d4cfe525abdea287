using System.Globalization;
using System.Text.Json;
using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

/// <summary>Numbers written as text read back to the same double, including those the runtime's shortest form gets wrong.</summary>
public class RoundTripTests
{
    private static double Parse(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void Every_power_of_two_and_random_doubles_read_back_exactly()
    {
        for (int e = -1074; e < 1024; e++)
        {
            double x = Math.Pow(2, e);
            Assert.Equal(BitConverter.DoubleToInt64Bits(x), BitConverter.DoubleToInt64Bits(Parse(RoundTrip.Format(x))));
            Assert.Equal(BitConverter.DoubleToInt64Bits(-x), BitConverter.DoubleToInt64Bits(Parse(RoundTrip.Format(-x))));
        }
        var rng = new Rng(9);
        for (int i = 0; i < 100_000; i++)
        {
            double x = BitConverter.Int64BitsToDouble((long)(rng.NextUInt64() & 0x7FEF_FFFF_FFFF_FFFF));
            Assert.Equal(x, Parse(RoundTrip.Format(x)));
        }
        // Where the shortest form reads back, it is kept; 2^-25 is one of the values .NET 10's "R" prints one unit low.
        Assert.Equal("0.1", RoundTrip.Format(0.1));
        Assert.Equal("2.9802322387695312E-08", RoundTrip.Format(Math.Pow(2, -25)));
        Assert.Equal("NaN", RoundTrip.Format(double.NaN));
        Assert.Equal("[2.9802322387695312E-08,0.5]", JsonSerializer.Serialize(new[] { Math.Pow(2, -25), 0.5 }, new JsonSerializerOptions { Converters = { new RoundTrip.JsonConverter() } }));
    }

    [Fact]
    public void A_trajectory_that_passes_through_two_to_the_minus_25_prints_it_exactly()
    {
        // SGD on the ravine from (5, 1): y halves at every step (f = (x^2 + 100 y^2) / 2, lr 0.005: y <- y - 0.005 * 100 y),
        // so step 25's y is exactly 2^-25, which PyTorch computes too.
        foreach (string format in new[] { "csv", "json" })
        {
            var (code, output, _) = CliRunner.Run("trajectory", "-f", "ravine", "-o", "sgd", "--lr", "0.005", "--steps", "30", "--start=5,1", "--format", format);
            Assert.Equal(0, code);
            double y = format == "csv"
                ? Parse(output.Split('\n').Single(l => l.StartsWith("25,", StringComparison.Ordinal)).Split(',')[2])
                : JsonDocument.Parse(output).RootElement.GetProperty("path")[25].GetProperty("y").GetDouble();
            Assert.Equal(Math.Pow(2, -25), y);
        }
    }
}
