using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Descent.Numerics;

/// <summary>
/// Doubles written as text that reads back to the same double: the shortest such text (format <c>R</c>), or 17
/// significant digits where this runtime's shortest form does not read back. .NET 10's <c>R</c> prints a few values one
/// unit in the last place off (dotnet/runtime#131131): 2^-25 as <c>2.980232238769531E-08</c>, which reads back as the
/// double just below it, so a trajectory or metrics file would otherwise disagree with PyTorch's numbers it matches.
/// </summary>
public static class RoundTrip
{
    /// <summary>The shortest invariant-culture text that parses back to <paramref name="value"/> (<c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> as <c>R</c> writes them).</summary>
    public static string Format(double value)
    {
        string shortest = value.ToString("R", CultureInfo.InvariantCulture);
        return !double.IsFinite(value) || double.Parse(shortest, CultureInfo.InvariantCulture).Equals(value)
            ? shortest : value.ToString("G17", CultureInfo.InvariantCulture);
    }

    /// <summary>JSON numbers written by <see cref="Format"/> (non-finite values are refused, as System.Text.Json refuses them by default).</summary>
    public sealed class JsonConverter : JsonConverter<double>
    {
        /// <inheritdoc/>
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();

        /// <inheritdoc/>
        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteRawValue(Format(value), skipInputValidation: true);
            else writer.WriteNumberValue(value);
        }
    }
}
