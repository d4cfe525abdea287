using System.Globalization;

namespace Descent.Lab;

/// <summary>The one number format of the report: three significant digits, plain decimals from 0.001 to 99,999, else 1.23e-11.</summary>
public static class Numbers
{
    /// <summary><paramref name="value"/> with <paramref name="digits"/> significant digits.</summary>
    public static string Format(double value, int digits = 3)
    {
        if (!double.IsFinite(value)) return double.IsNaN(value) ? "NaN" : value > 0 ? "inf" : "-inf";
        if (value == 0) return "0";
        double magnitude = Math.Abs(value);
        int exponent = (int)Math.Floor(Math.Log10(magnitude));
        if (Math.Round(magnitude / Math.Pow(10, exponent), digits - 1) >= 10) exponent++;   // 9.996 rounds to 10.0
        if (exponent < -3 || exponent > 4)
        {
            string mantissa = (value / Math.Pow(10, exponent)).ToString("0." + new string('#', digits - 1), CultureInfo.InvariantCulture);
            return $"{mantissa}e{exponent}";
        }
        int decimals = digits - 1 - exponent;
        if (decimals < 0)
        {
            double unit = Math.Pow(10, -decimals);   // 1501 at three digits is 1500
            return (Math.Round(value / unit) * unit).ToString("0", CultureInfo.InvariantCulture);
        }
        return Math.Round(value, decimals).ToString("0." + new string('#', decimals), CultureInfo.InvariantCulture).TrimEnd('.');
    }

    /// <summary>A fraction as a percentage with one decimal: 0.9045 is "90.5%".</summary>
    public static string Percent(double fraction) => (100 * fraction).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    /// <summary>A difference of fractions in percentage points with one decimal: 0.036 is "3.6 points".</summary>
    public static string Points(double fraction) => (100 * fraction).ToString("0.0", CultureInfo.InvariantCulture) + " points";

    /// <summary>Seconds with one decimal.</summary>
    public static string Seconds(double seconds) => seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    /// <summary>A ratio with three significant digits and a times sign: "25.3x".</summary>
    public static string Times(double ratio) => Format(ratio) + "x";
}
