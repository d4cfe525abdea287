namespace Descent.Schedules;

/// <summary>
/// Each update's value is the one before times <c>factor(k)</c>, from <c>initial</c> at the first (PyTorch's
/// <c>MultiplicativeLR</c>, with <paramref name="factor"/> as its <c>lr_lambda</c>, rounded at every update as it is).
/// <paramref name="factor"/> should be a pure function: an earlier update asked for walks again from the start.
/// </summary>
/// <remarks>
/// torch's <c>MultiplicativeLR</c> has no closed form, so after another scheduler in a <c>SequentialLR</c> it goes on from
/// the rate that one left; as a later part of a <see cref="Sequence"/> or <see cref="Warmup"/>, give it that rate as
/// <paramref name="initial"/> (the earlier part's value at the milestone) to match.
/// </remarks>
/// <param name="initial">The value at the first update.</param>
/// <param name="factor">The multiplier that takes the value after <c>k - 1</c> completed steps to the value after <c>k</c>.</param>
public sealed class Multiplicative(double initial, Func<long, double> factor) : Chainable
{
    private readonly Func<long, double> _factor = factor ?? throw new ArgumentNullException(nameof(factor));

    /// <summary>The value at the first update.</summary>
    public double Initial { get; } = Finite(initial, "initial value");

    /// <inheritdoc/>
    protected override double First => Initial;

    /// <inheritdoc/>
    protected override double Next(long k, double previous) => previous * _factor(k);
}
