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

    /// <summary><c>y = f(x)</c>.</summary>
    public static void Forward<T>(Activation a, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (a)
        {
            case Activation.Identity: x.CopyTo(y); break;
            case Activation.ReLU: Relu(x, x, y); break;
            case Activation.Tanh: for (int i = 0; i < x.Length; i++) y[i] = T.Tanh(x[i]); break;
            case Activation.Sigmoid: for (int i = 0; i < x.Length; i++) y[i] = T.One / (T.One + T.Exp(-x[i])); break;
            case Activation.Gelu when typeof(T) == typeof(float):
                GeluFloat(MemoryMarshal.Cast<T, float>(x), [], MemoryMarshal.Cast<T, float>(y));
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

    /// <summary><c>dx = dy * f'(x)</c>, given the input <paramref name="x"/> and output <paramref name="y"/> of the forward pass.</summary>
    public static void Backward<T>(Activation a, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (a)
        {
            case Activation.Identity: dy.CopyTo(dx); break;
            case Activation.ReLU: Relu(x, dy, dx); break;
            case Activation.Tanh: for (int i = 0; i < x.Length; i++) dx[i] = dy[i] * (T.One - y[i] * y[i]); break;
            case Activation.Sigmoid: for (int i = 0; i < x.Length; i++) dx[i] = dy[i] * (T.One - y[i]) * y[i]; break;
            case Activation.Gelu when typeof(T) == typeof(float):
                GeluFloat(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(dy), MemoryMarshal.Cast<T, float>(dx));
                break;
            case Activation.Gelu:
                for (int i = 0; i < x.Length; i++)
                {
                    // d/dx [x Phi(x)] = Phi(x) + x phi(x)
                    double v = double.CreateTruncating(x[i]);
                    double cdf = 0.5 * (1 + SpecialFunctions.Erf(v / Math.Sqrt(2)));
                    double pdf = Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI);
                    dx[i] = dy[i] * T.CreateTruncating(cdf + v * pdf);
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
    /// GELU in float, a vector at a time: <c>y = x Phi(x)</c>, or with <paramref name="dy"/> not empty its gradient
    /// <c>dx = dy (Phi(x) + x phi(x))</c>. <c>Phi(x) = erfc(-x / sqrt 2) / 2</c> with erfc from the Chebyshev fit
    /// <c>erfc z = t exp(-z^2 - 1.26551223 + t (1.00002368 + t (0.37409196 + ...)))</c>, <c>t = 1 / (1 + z / 2)</c>
    /// (Press et al., Numerical Recipes, section 6.2), whose relative error is below 1.2e-7 for every z &gt;= 0, so
    /// the tails keep float precision too. The double path's series (exact to double rounding) had taken 70 ns an
    /// element, nine tenths of a transformer step; this is within a few float roundings of it.
    /// </summary>
    private static void GeluFloat(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> to)
    {
        bool backward = !dy.IsEmpty;
        int n = x.Length, l = Vector<float>.Count, i = 0;
        for (; i + l <= n; i += l)
        {
            var v = new Vector<float>(x[i..]);
            GeluLanes(v, backward ? new Vector<float>(dy[i..]) : default, backward).CopyTo(to[i..]);
        }
        if (i < n)
        {
            var v = Lanes.LoadTail(x, n - i);
            var g = backward ? Lanes.LoadTail(dy, n - i) : default;
            Lanes.StoreTail(to, n - i, GeluLanes(v, g, backward));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> GeluLanes(Vector<float> x, Vector<float> dy, bool backward)
    {
        var z = Vector.Abs(x) * new Vector<float>(0.70710678f);
        var t = Vector<float>.One / (Vector<float>.One + new Vector<float>(0.5f) * z);
        var p = new Vector<float>(0.17087277f);
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(-0.82215223f));
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(1.48851587f));
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(-1.13520398f));
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(0.27886807f));
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(-0.18628806f));
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(0.09678418f));
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(0.37409196f));
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(1.00002368f));
        p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(-1.26551223f));
        // erfc(|x| / sqrt 2) / 2 is Phi(-|x|); Phi(x) = 1 - Phi(-x) for x >= 0.
        var half = new Vector<float>(0.5f) * t * Vector.Exp(p - z * z);
        var cdf = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<float>.Zero), Vector<float>.One - half, half);
        if (!backward) return x * cdf;
        var pdf = Vector.Exp(new Vector<float>(-0.5f) * x * x) * new Vector<float>(0.39894228f);
        return dy * Vector.FusedMultiplyAdd(x, pdf, cdf);
    }

    /// <summary><c>to[i] = gate[i] &gt; 0 ? from[i] : 0</c>: the ReLU (gate = from) and its gradient (gate = the pre-activation).</summary>
    private static void Relu<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> from, Span<T> to) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gate.Length, whole = n / Vector<T>.Count;
        var g = MemoryMarshal.Cast<T, Vector<T>>(gate[..(whole * Vector<T>.Count)]);
        var f = MemoryMarshal.Cast<T, Vector<T>>(from[..(whole * Vector<T>.Count)]);
        var t = MemoryMarshal.Cast<T, Vector<T>>(to[..(whole * Vector<T>.Count)]);
        for (int i = 0; i < g.Length; i++) t[i] = Vector.ConditionalSelect(Vector.GreaterThan(g[i], Vector<T>.Zero), f[i], Vector<T>.Zero);
        for (int i = whole * Vector<T>.Count; i < n; i++) to[i] = gate[i] > T.Zero ? from[i] : T.Zero;
    }
}
