namespace Descent.Schedules;

/// <summary>
/// Multiplies the value by <c>gamma</c> at each milestone: <c>value = initial * gamma^m</c> where
/// <c>m</c> counts the milestones at or below <c>k = t - 1</c> (PyTorch's <c>MultiStepLR</c>).
/// </summary>
public sealed class MultiStep : Chainable
{
    private readonly long[] _milestones;

    /// <summary>Creates a multi-step schedule; milestones must be positive and increasing.</summary>
    public MultiStep(double initial, IEnumerable<long> milestones, double gamma = 0.1)
    {
        RequireFinite(initial, "initial value");
        RequireFinite(gamma, "gamma");
        _milestones = milestones.ToArray();
        for (int i = 0; i < _milestones.Length; i++)
            Require(_milestones[i] >= 1 && (i == 0 || _milestones[i] > _milestones[i - 1]),
                $"Invalid milestones [{string.Join(", ", _milestones)}]: they must be positive and strictly increasing.");
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
    protected override double Next(long k, double previous) => Array.BinarySearch(_milestones, k) >= 0 ? previous * Gamma : previous;

    /// <inheritdoc/>
    protected override long Settled => _milestones.Length == 0 ? 0 : _milestones[^1];
}
