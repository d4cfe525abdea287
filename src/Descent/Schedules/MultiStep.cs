namespace Descent.Schedules;

/// <summary>
/// Multiplies the value by <c>gamma</c> at each milestone: <c>value = initial * gamma^m</c> where
/// <c>m</c> counts the milestones at or below <c>k = t - 1</c> (PyTorch's <c>MultiStepLR</c>). A milestone given twice
/// counts twice: torch multiplies by <c>gamma ** 2</c> there.
/// </summary>
public sealed class MultiStep : Chainable
{
    private readonly long[] _milestones;

    /// <summary>Creates a multi-step schedule; milestones must be positive and in order (a repeated one counts as often as it is given).</summary>
    public MultiStep(double initial, IEnumerable<long> milestones, double gamma = 0.1)
    {
        RequireFinite(initial, "initial value");
        RequireFinite(gamma, "gamma");
        _milestones = milestones.ToArray();
        for (int i = 0; i < _milestones.Length; i++)
            Require(_milestones[i] >= 1 && (i == 0 || _milestones[i] >= _milestones[i - 1]),
                $"Invalid milestones [{string.Join(", ", _milestones)}]: they must be positive and in increasing order.");
        Initial = initial;
        Gamma = gamma;
    }

    /// <summary>Value before the first milestone.</summary>
    public double Initial { get; }

    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <summary>Steps at which the value is multiplied by <see cref="Gamma"/>.</summary>
    public IReadOnlyList<long> Milestones => _milestones;

    /// <inheritdoc/>
    protected override double First => Initial;

    /// <inheritdoc/>
    protected override double Next(long k, double previous)
    {
        int times = _milestones.Count(m => m == k);
        return times == 0 ? previous : previous * (times == 1 ? Gamma : Math.Pow(Gamma, times));   // torch: lr * gamma ** count
    }

    /// <inheritdoc/>
    protected override long Settled => _milestones.Length == 0 ? 0 : _milestones[^1];
}
