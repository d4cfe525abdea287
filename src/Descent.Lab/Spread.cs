namespace Descent.Lab;

/// <summary>The median and range of a statistic over seeds.</summary>
/// <param name="Median">The median (the mean of the middle two for an even count).</param>
/// <param name="Min">The smallest value.</param>
/// <param name="Max">The largest value.</param>
/// <param name="Count">How many values.</param>
public readonly record struct Spread(double Median, double Min, double Max, int Count)
{
    /// <summary>The spread of <paramref name="values"/>.</summary>
    public static Spread Of(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) throw new ArgumentException("No values.", nameof(values));
        double median = v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        return new Spread(median, v[0], v[^1], v.Length);
    }

    /// <summary>The median alone for one value, else <c>median [min, max]</c>.</summary>
    public string Format(Func<double, string> format) => Count == 1 ? format(Median) : $"{format(Median)} [{format(Min)}, {format(Max)}]";
}
