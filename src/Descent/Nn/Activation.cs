using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>Element-wise nonlinearities between dense layers.</summary>
public enum Activation
{
    /// <summary><c>f(x) = x</c>.</summary>
    Identity,

    /// <summary><c>max(0, x)</c>; derivative 0 at 0, as PyTorch.</summary>
    ReLU,

    /// <summary><c>tanh(x)</c>.</summary>
    Tanh,

    /// <summary><c>1 / (1 + exp(-x))</c>.</summary>
    Sigmoid,

    /// <summary>GELU, exact form <c>x Phi(x) = x (1 + erf(x / sqrt 2)) / 2</c> (PyTorch's default).</summary>
    Gelu,
}

/// <summary>Forward and backward passes of <see cref="Activation"/>, generic over float and double.</summary>
public static class Activations
{
    /// <summary>Parses a name (<c>relu</c>, <c>tanh</c>, <c>sigmoid</c>, <c>gelu</c>, <c>identity</c>).</summary>
    public static Activation Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "identity" or "linear" or "none" => Activation.Identity,
        "relu" => Activation.ReLU,
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        "gelu" => Activation.Gelu,
        _ => throw new ArgumentException($"Unknown activation '{name}': choose relu, tanh, sigmoid, gelu or identity."),
    };

    /// <summary>The command-line name.</summary>
    public static string Name(this Activation a) => a.ToString().ToLowerInvariant();

    /// <summary>
    /// <c>y = f(x)</c>. For GELU in float, a non-empty <paramref name="cdf"/> receives <c>Phi(x)</c> for
    /// <see cref="Backward"/> to reuse (the gradient then needs only the density); other cases ignore it.
    /// </summary>
    public static void Forward<T>(Activation a, ReadOnlySpan<T> x, Span<T> y, Span<T> cdf = default) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (a)
        {
            case Activation.Identity: x.CopyTo(y); break;
            case Activation.ReLU: Relu(x, x, y); break;
            case Activation.Tanh: for (int i = 0; i < x.Length; i++) y[i] = T.Tanh(x[i]); break;
            case Activation.Sigmoid: for (int i = 0; i < x.Length; i++) y[i] = T.One / (T.One + T.Exp(-x[i])); break;
            case Activation.Gelu when typeof(T) == typeof(float):
                GeluFloatForward(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(cdf), MemoryMarshal.Cast<T, float>(y));
                break;
            case Activation.Gelu:
                for (int i = 0; i < x.Length; i++)
                {
                    double v = double.CreateTruncating(x[i]);
                    y[i] = T.CreateTruncating(0.5 * v * (1 + SpecialFunctions.Erf(v / Math.Sqrt(2))));
                }
                break;
        }
    }

    /// <summary>
    /// <c>dx = dy * f'(x)</c>, given the input <paramref name="x"/> and output <paramref name="y"/> of the forward pass,
    /// and for GELU in float the <paramref name="cdf"/> that <see cref="Forward"/> kept (computed again when empty).
    /// </summary>
    public static void Backward<T>(Activation a, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, ReadOnlySpan<T> cdf = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (a)
        {
            case Activation.Identity: dy.CopyTo(dx); break;
            case Activation.ReLU: Relu(x, dy, dx); break;
            case Activation.Tanh: for (int i = 0; i < x.Length; i++) dx[i] = dy[i] * (T.One - y[i] * y[i]); break;
            case Activation.Sigmoid: for (int i = 0; i < x.Length; i++) dx[i] = dy[i] * (T.One - y[i]) * y[i]; break;
            case Activation.Gelu when typeof(T) == typeof(float):
                GeluFloatBackward(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(dy), MemoryMarshal.Cast<T, float>(cdf), MemoryMarshal.Cast<T, float>(dx));
                break;
            case Activation.Gelu:
                for (int i = 0; i < x.Length; i++)
                {
                    // d/dx [x Phi(x)] = Phi(x) + x phi(x)
                    double v = double.CreateTruncating(x[i]);
                    double phi = 0.5 * (1 + SpecialFunctions.Erf(v / Math.Sqrt(2)));
                    double pdf = Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI);
                    dx[i] = dy[i] * T.CreateTruncating(phi + v * pdf);
                }
                break;
        }
    }

    /// <summary>
    /// The first and second derivatives at <paramref name="x"/>, whose image <paramref name="y"/> = f(x) the forward pass has
    /// already computed (tanh and sigmoid take theirs from it, sparing a transcendental per element), in double precision,
    /// for exact Hessian-vector products: ReLU's are taken as PyTorch takes them (0 at and below 0, no curvature anywhere),
    /// GELU's are the exact <c>x Phi(x)</c>'s, <c>Phi + x phi</c> and <c>phi (2 - x^2)</c>.
    /// </summary>
    public static (double First, double Second) Derivatives(Activation a, double x, double y)
    {
        switch (a)
        {
            case Activation.Identity: return (1, 0);
            case Activation.ReLU: return (x > 0 ? 1 : 0, 0);
            case Activation.Tanh:
                {
                    double d = 1 - y * y;
                    return (d, -2 * y * d);
                }
            case Activation.Sigmoid:
                {
                    double d = y * (1 - y);
                    return (d, d * (1 - 2 * y));
                }
            default:
                {
                    double cdf = 0.5 * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2)));
                    double pdf = Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
                    return (cdf + x * pdf, pdf * (2 - x * x));
                }
        }
    }

    /// <summary>
    /// GELU in float, a vector at a time: <c>y = x Phi(x)</c>, and <c>Phi(x)</c> into <paramref name="cdf"/> when it is
    /// not empty. <c>Phi(x) = erfc(-x / sqrt 2) / 2</c> with erfc from the Chebyshev fit
    /// <c>erfc z = t exp(-z^2 - 1.26551223 + t (1.00002368 + t (0.37409196 + ...)))</c>, <c>t = 1 / (1 + z / 2)</c>
    /// (Press et al., Numerical Recipes, section 6.2), whose relative error is below 1.2e-7 for every z &gt;= 0, so
    /// the tails keep float precision too. The double path's series (exact to double rounding) had taken 70 ns an
    /// element, nine tenths of a transformer step; this is within a few float roundings of it.
    /// </summary>
    private static void GeluFloatForward(ReadOnlySpan<float> x, Span<float> cdf, Span<float> y)
    {
        bool keep = !cdf.IsEmpty;
        int n = x.Length, l = Vector<float>.Count, i = 0;
        // Two vectors at a time, their steps interleaved: one vector's chain of dependent steps (a division, a polynomial
        // and an exponential) is longer than the out-of-order window can cover, so a second one fills the gaps.
        for (; i + 2 * l <= n; i += 2 * l)
        {
            var v0 = new Vector<float>(x[i..]);
            var v1 = new Vector<float>(x[(i + l)..]);
            var (c0, c1) = GeluCdf(v0, v1);
            if (keep)
            {
                c0.CopyTo(cdf[i..]);
                c1.CopyTo(cdf[(i + l)..]);
            }
            (v0 * c0).CopyTo(y[i..]);
            (v1 * c1).CopyTo(y[(i + l)..]);
        }
        // What is left: a whole vector and a part of one, or just the part, as a pair.
        if (i == n) return;
        bool whole = n - i > l;
        int rest = n - i - (whole ? l : 0);
        var first = whole ? new Vector<float>(x[i..]) : Lanes.LoadTail(x.Slice(i, rest), rest);
        var last = whole ? Lanes.LoadTail(x.Slice(i + l, rest), rest) : first;
        var (cFirst, cLast) = GeluCdf(first, last);
        if (whole)
        {
            if (keep) cFirst.CopyTo(cdf[i..]);
            (first * cFirst).CopyTo(y[i..]);
            i += l;
        }
        if (keep) Lanes.StoreTail(cdf.Slice(i, rest), rest, cLast);
        Lanes.StoreTail(y.Slice(i, rest), rest, last * cLast);
    }

    /// <summary>
    /// The gradient of <see cref="GeluFloatForward"/>, <c>dx = dy (Phi(x) + x phi(x))</c>, with <c>Phi(x)</c> read from
    /// <paramref name="cdf"/> when the forward pass kept it (the same numbers), computed again when it is empty.
    /// </summary>
    private static void GeluFloatBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> cdf, Span<float> dx)
    {
        bool kept = !cdf.IsEmpty;
        int n = x.Length, l = Vector<float>.Count, i = 0;
        for (; i + l <= n; i += l)
        {
            var v = new Vector<float>(x[i..]);
            GeluGradient(v, kept ? new Vector<float>(cdf[i..]) : GeluCdf(v, v).Item1, new Vector<float>(dy[i..])).CopyTo(dx[i..]);
        }
        if (i == n) return;
        var tail = Lanes.LoadTail(x, n - i);
        Lanes.StoreTail(dx, n - i, GeluGradient(tail, kept ? Lanes.LoadTail(cdf, n - i) : GeluCdf(tail, tail).Item1, Lanes.LoadTail(dy, n - i)));
    }

    /// <summary>
    /// <c>Phi(x)</c> lane by lane for two vectors, from the erfc fit of <see cref="GeluFloatForward"/>, their steps
    /// interleaved (each lane's result does not depend on the other vector).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector<float>, Vector<float>) GeluCdf(Vector<float> x0, Vector<float> x1)
    {
        var scale = new Vector<float>(0.70710678f);
        var z0 = Vector.Abs(x0) * scale;
        var z1 = Vector.Abs(x1) * scale;
        var t0 = Vector<float>.One / (Vector<float>.One + new Vector<float>(0.5f) * z0);
        var t1 = Vector<float>.One / (Vector<float>.One + new Vector<float>(0.5f) * z1);
        var p0 = new Vector<float>(ErfcFit[0]);
        var p1 = p0;
        for (int k = 1; k < ErfcFit.Length; k++)
        {
            var c = new Vector<float>(ErfcFit[k]);
            p0 = Vector.FusedMultiplyAdd(p0, t0, c);
            p1 = Vector.FusedMultiplyAdd(p1, t1, c);
        }
        // erfc(|x| / sqrt 2) / 2 is Phi(-|x|); Phi(x) = 1 - Phi(-x) for x >= 0.
        var half0 = new Vector<float>(0.5f) * t0 * Lanes.ExpFloat(p0 - z0 * z0);
        var half1 = new Vector<float>(0.5f) * t1 * Lanes.ExpFloat(p1 - z1 * z1);
        return (Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x0, Vector<float>.Zero), Vector<float>.One - half0, half0),
            Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x1, Vector<float>.Zero), Vector<float>.One - half1, half1));
    }

    /// <summary>The coefficients of the erfc fit, highest power of <c>t</c> first.</summary>
    private static ReadOnlySpan<float> ErfcFit =>
        [0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f];

    /// <summary><c>dy (Phi(x) + x phi(x))</c> lane by lane, given <c>Phi(x)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> GeluGradient(Vector<float> x, Vector<float> cdf, Vector<float> dy)
    {
        var pdf = Lanes.ExpFloat(new Vector<float>(-0.5f) * x * x) * new Vector<float>(0.39894228f);
        return dy * Vector.FusedMultiplyAdd(x, pdf, cdf);
    }

    /// <summary>
    /// <c>to[i] = gate[i] &lt;= 0 ? 0 : from[i]</c>: the ReLU (gate = from) and its gradient (gate = the pre-activation), as PyTorch's
    /// <c>threshold</c> and <c>threshold_backward</c> compare, so a NaN goes through (a network whose weights went NaN gives a NaN
    /// loss, and its divergence is seen, rather than ReLU turning the NaN into 0).
    /// </summary>
    internal static void Relu<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> from, Span<T> to) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gate.Length, whole = n / Vector<T>.Count;
        var g = MemoryMarshal.Cast<T, Vector<T>>(gate[..(whole * Vector<T>.Count)]);
        var f = MemoryMarshal.Cast<T, Vector<T>>(from[..(whole * Vector<T>.Count)]);
        var t = MemoryMarshal.Cast<T, Vector<T>>(to[..(whole * Vector<T>.Count)]);
        for (int i = 0; i < g.Length; i++) t[i] = Vector.ConditionalSelect(Vector.LessThanOrEqual(g[i], Vector<T>.Zero), Vector<T>.Zero, f[i]);
        for (int i = whole * Vector<T>.Count; i < n; i++) to[i] = gate[i] <= T.Zero ? T.Zero : from[i];
    }
}
