using System.Numerics;

namespace Descent.Optim;

/// <summary>
/// The layer-wise trust ratio of LARS and LAMB (optax's <c>scale_by_trust_ratio</c>): an update <c>u</c> of a
/// parameter <c>p</c> is scaled by <c>coefficient * ||p|| / (||u|| + eps)</c>, or by 1 when either norm is zero
/// (so a parameter at zero, or one without an update, still moves as the plain rule moves it).
/// </summary>
internal static class TrustRatio
{
    /// <summary>The ratio for parameter <paramref name="p"/> and its update <paramref name="u"/>.</summary>
    public static double Of<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> u, double coefficient, double eps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double pn = Norm(p), un = Norm(u);
        return pn == 0 || un == 0 ? 1 : coefficient * pn / (un + eps);
    }

    /// <summary>The Euclidean norm, summed in the parameter's type.</summary>
    private static double Norm<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        foreach (T v in x) sum = T.FusedMultiplyAdd(v, v, sum);
        return double.CreateTruncating(T.Sqrt(sum));
    }

    /// <summary>A scratch buffer as long as the longest of <paramref name="parameters"/>, for the update before it is scaled.</summary>
    public static T[] Scratch<T>(IEnumerable<Nn.Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T> =>
        new T[parameters.Select(p => p.Length).DefaultIfEmpty(0).Max()];
}
