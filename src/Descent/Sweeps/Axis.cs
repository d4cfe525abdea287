using System.Globalization;
using System.Text.Json.Nodes;

namespace Descent.Sweeps;

/// <summary>How an axis gives its values.</summary>
public enum AxisKind
{
    /// <summary>Values listed one by one.</summary>
    List,

    /// <summary>A range whose values are evenly spaced in the logarithm (a log grid) or drawn log-uniformly when sampling.</summary>
    LogUniform,

    /// <summary>A range whose values are evenly spaced, or drawn uniformly when sampling.</summary>
    Uniform,
}

/// <summary>
/// One axis of a sweep: a setting (any training setting, or an optimizer hyperparameter by its PyTorch name)
/// and its values, listed or given as a range with a count.
/// </summary>
/// <param name="Name">The setting, as in <c>config.json</c> (<c>batch</c>, <c>optimizer</c>, <c>seed</c>) or a hyperparameter (<c>lr</c>, <c>momentum</c>).</param>
/// <param name="Kind">Listed values or a range.</param>
/// <param name="Values">The listed values (for <see cref="AxisKind.List"/>).</param>
/// <param name="Low">The range's low end.</param>
/// <param name="High">The range's high end.</param>
/// <param name="Count">How many grid points the range has (0 when sampling).</param>
/// <param name="Integer">Whether the setting takes whole numbers (range values are then rounded).</param>
public sealed record Axis(string Name, AxisKind Kind, IReadOnlyList<JsonNode> Values, double Low, double High, int Count, bool Integer)
{
    /// <summary>
    /// The grid values: the list, or <see cref="Count"/> points from <see cref="Low"/> to <see cref="High"/>, evenly spaced
    /// (in the logarithm for <see cref="AxisKind.LogUniform"/>: <c>low (high/low)^(i/(count-1))</c>), rounded to 12 significant
    /// digits so that a log grid from 1e-4 to 1e-1 gives exactly 1e-4, 1e-3, 1e-2, 1e-1 and the same trial ids as that list.
    /// </summary>
    public IReadOnlyList<JsonNode> Grid()
    {
        if (Kind == AxisKind.List) return Values;
        var points = new List<JsonNode>(Count);
        for (int i = 0; i < Count; i++)
        {
            double f = Count == 1 ? 0 : (double)i / (Count - 1);
            points.Add(Point(f));
        }
        return points;
    }

    /// <summary>A random value of the axis: a listed value chosen uniformly, or a range point drawn (log-)uniformly.</summary>
    public JsonNode Draw(Numerics.Rng rng) => Kind == AxisKind.List ? Values[rng.NextInt(Values.Count)].DeepClone() : Point(rng.NextDouble());

    /// <summary>The range point a fraction <paramref name="f"/> of the way from low to high (in the logarithm for log-uniform).</summary>
    private JsonNode Point(double f)
    {
        double v = Kind == AxisKind.LogUniform ? Math.Exp(Math.Log(Low) + f * (Math.Log(High) - Math.Log(Low))) : Low + f * (High - Low);
        v = f == 0 ? Low : f == 1 ? High : double.Parse(v.ToString("G12", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return Integer ? JsonValue.Create((long)Math.Round(v)) : JsonValue.Create(v);
    }
}
