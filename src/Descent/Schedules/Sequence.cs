using Descent.State;

namespace Descent.Schedules;

/// <summary>
/// Runs schedules one after another, switching at milestones (PyTorch's <c>SequentialLR</c>, optax's
/// <c>join_schedules</c>): schedule <c>i</c> is in force from update <c>milestones[i-1] + 1</c> and
/// sees its own step count restarting at 1. Metrics go to the schedule in force, so a
/// <see cref="ReduceOnPlateau"/> can be one of the parts.
/// </summary>
public sealed class Sequence : Schedule
{
    private readonly Schedule[] _parts;
    private readonly long[] _milestones;

    /// <summary>Creates a sequence; there must be one milestone fewer than schedules, strictly increasing.</summary>
    public Sequence(IReadOnlyList<Schedule> parts, IReadOnlyList<long> milestones)
    {
        Require(parts.Count >= 1, "A sequence needs at least one schedule.");
        Require(milestones.Count == parts.Count - 1,
            $"A sequence of {parts.Count} schedules needs {parts.Count - 1} milestones, got {milestones.Count}.");
        for (int i = 0; i < milestones.Count; i++)
            Require(milestones[i] >= 1 && (i == 0 || milestones[i] > milestones[i - 1]),
                $"Invalid milestones [{string.Join(", ", milestones)}]: they must be positive and strictly increasing.");
        // Each later part starts as torch's SequentialLR starts it (a copy, so a schedule given here keeps its own values).
        _parts = [.. parts.Select((p, i) => i > 0 && p is Chainable c ? c.HandedOver() : p)];
        _milestones = [.. milestones];
    }

    /// <summary>The schedules in order.</summary>
    public IReadOnlyList<Schedule> Parts => _parts;

    /// <summary>Steps after which the next schedule takes over.</summary>
    public IReadOnlyList<long> Milestones => _milestones;

    /// <inheritdoc/>
    public override double At(long step)
    {
        RequireStep(step);
        var (part, local) = Locate(step);
        return part.At(local);
    }

    /// <inheritdoc/>
    public override void Observe(long step, double metric)
    {
        RequireStep(step);
        var (part, local) = Locate(step);
        part.Observe(local, metric);
    }

    private (Schedule Part, long LocalStep) Locate(long step)
    {
        int i = 0;
        while (i < _milestones.Length && step > _milestones[i]) i++;
        return (_parts[i], i == 0 ? step : step - _milestones[i - 1]);
    }

    /// <inheritdoc/>
    public override void SaveState(StateDict state, string prefix)
    {
        for (int i = 0; i < _parts.Length; i++) _parts[i].SaveState(state, $"{prefix}.{i}");
    }

    /// <inheritdoc/>
    public override void LoadState(StateDict state, string prefix)
    {
        for (int i = 0; i < _parts.Length; i++) _parts[i].LoadState(state, $"{prefix}.{i}");
    }
}
