using Descent.Numerics;
using System.Globalization;

namespace Descent.Cli;

/// <summary>Parsing of numbers given on the command line, with messages that show the expected form.</summary>
internal static class Numbers
{
    /// <summary>A finite real in C# double notation (<c>0.01</c>, <c>1e-3</c>).</summary>
    public static double Real(string text, string option)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v))
            return v;
        throw new UsageException($"Invalid {option} value '{text}': expected a finite number such as 0.01 or 1e-3.");
    }

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static int Whole(string text, string option, int min, int max)
    {
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max)
            return v;
        throw new UsageException($"Invalid {option} value '{text}': expected a whole number from {min} to {max}.");
    }

    /// <summary>A point <c>X,Y</c>.</summary>
    public static (double X, double Y) Point(string text, string option)
    {
        var parts = text.Split(',');
        if (parts.Length == 2
            && double.TryParse(parts[0].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x)
            && double.TryParse(parts[1].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double y) && double.IsFinite(y))
            return (x, y);
        throw new UsageException($"Invalid {option} value '{text}': expected two finite numbers separated by a comma, e.g. {option}=-1.5,2.");
    }

    /// <summary>Round-trip formatting: the shortest text that parses back to the same double.</summary>
    public static string Format(double v) => RoundTrip.Format(v);
}
