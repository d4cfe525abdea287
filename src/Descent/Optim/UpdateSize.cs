using System.Numerics;

namespace Descent.Optim;

/// <summary>
/// How far one optimizer update moved the parameters: the root mean square and the largest absolute value of
/// <c>after - before</c> over every entry, from two copies of the flat parameter values (a model's <c>Values</c> before
/// and after <see cref="Optimizer{T}.Step()"/>). Adam's first update, for example, moves every entry with a gradient by
/// about <c>lr</c>, whatever the gradient's size.
/// </summary>
/// <param name="Rms">The root mean square of the change, <c>sqrt(mean((after - before)^2))</c>.</param>
/// <param name="Max">The largest absolute change of one entry.</param>
public readonly record struct UpdateSize(double Rms, double Max)
{
    /// <summary>The size of the change from <paramref name="before"/> to <paramref name="after"/> (same length, at least 1).</summary>
    public static UpdateSize Between<T>(ReadOnlySpan<T> before, ReadOnlySpan<T> after) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (before.Length != after.Length)
            throw new ArgumentException($"The parameter copies differ in length ({before.Length} and {after.Length}); take both from the same model.");
        if (before.Length == 0) throw new ArgumentException("An update of no parameters has no size.", nameof(before));
        double sum = 0, max = 0;
        for (int i = 0; i < before.Length; i++)
        {
            double d = double.CreateTruncating(after[i]) - double.CreateTruncating(before[i]);
            sum += d * d;
            max = Math.Max(max, Math.Abs(d));
        }
        return new UpdateSize(Math.Sqrt(sum / before.Length), max);
    }
}
