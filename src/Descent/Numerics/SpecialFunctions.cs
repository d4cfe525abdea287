namespace Descent.Numerics;

/// <summary>Special functions the base library lacks.</summary>
public static class SpecialFunctions
{
    /// <summary>
    /// The error function, to about 1e-15 relative: its Maclaurin series for |x| &lt; 2.5 and the
    /// Lentz continued fraction of erfc beyond (both converge fast there).
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax < 2.5)
        {
            // erf x = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 100; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return Math.CopySign(2 / Math.Sqrt(Math.PI) * sum, x);
        }
        if (ax > 6) return Math.CopySign(1, x);
        return Math.CopySign(1 - Erfc(ax), x);
    }

    /// <summary>erfc(x) for x &gt;= 2.5 by the continued fraction erfc x = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))).</summary>
    private static double Erfc(double x)
    {
        // Modified Lentz evaluation of K = x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))).
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int k = 1; k < 200; k++)
        {
            double a = k / 2.0;
            d = x + a * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = x + a / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }
}
