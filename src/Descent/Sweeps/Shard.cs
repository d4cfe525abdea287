using System.Globalization;

namespace Descent.Sweeps;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/>: the trials whose position in the plan is <see cref="Index"/> modulo
/// <see cref="Count"/>. The partition is a pure function of the plan, so every process of a job array computes the same one
/// and needs nothing but its index.
/// </summary>
/// <param name="Index">This shard, from 0.</param>
/// <param name="Count">How many shards.</param>
/// <param name="Source">Where the shard came from (the flag or the scheduler's variables), for messages.</param>
public sealed record Shard(int Index, int Count, string Source)
{
    /// <summary>Every trial (one shard of one).</summary>
    public static Shard All { get; } = new(0, 1, "no shard: every trial");

    /// <summary>Whether the trial at <paramref name="planIndex"/> belongs to this shard.</summary>
    public bool Contains(int planIndex) => planIndex % Count == Index;

    /// <summary>The trials of this shard, in plan order.</summary>
    public IReadOnlyList<Trial> Of(IReadOnlyList<Trial> plan) => [.. plan.Where(t => Contains(t.Index))];

    /// <summary>
    /// The shard to run: <paramref name="flag"/> (<c>I/N</c>, as given by the user) when given; else the scheduler's environment:
    /// <c>SLURM_ARRAY_TASK_ID</c> (minus <c>SLURM_ARRAY_TASK_MIN</c>) of <c>SLURM_ARRAY_TASK_COUNT</c> for a Slurm job array,
    /// or <c>JOB_COMPLETION_INDEX</c> of <paramref name="count"/> (the Job's completions, passed in) for a Kubernetes Indexed Job;
    /// else every trial.
    /// </summary>
    public static Shard Resolve(string? flag, int? count, Func<string, string?> environment)
    {
        if (flag is not null)
        {
            var parts = flag.Split('/');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i) ||
                !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
                throw new ArgumentException($"Invalid shard '{flag}': expected I/N with 0 <= I < N, e.g. 0/4.");
            if (count is not null && count != n) throw new ArgumentException($"Shard {flag} says {n} shards but the shard count given says {count}; give one of them.");
            return Checked(i, n, $"shard {flag}");
        }
        if (environment("SLURM_ARRAY_TASK_ID") is { } slurmId)
        {
            int id = Variable("SLURM_ARRAY_TASK_ID", slurmId);
            int min = environment("SLURM_ARRAY_TASK_MIN") is { } m ? Variable("SLURM_ARRAY_TASK_MIN", m) : 0;
            int n = count ?? (environment("SLURM_ARRAY_TASK_COUNT") is { } c ? Variable("SLURM_ARRAY_TASK_COUNT", c)
                : throw new ArgumentException("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give the shard count (the array's size)."));
            return Checked(id - min, n, $"SLURM_ARRAY_TASK_ID={slurmId}" + (min != 0 ? $" - SLURM_ARRAY_TASK_MIN={min}" : "") + $", {(count is null ? "SLURM_ARRAY_TASK_COUNT" : "shards")}={n}");
        }
        if (environment("JOB_COMPLETION_INDEX") is { } k8sIndex)
        {
            int index = Variable("JOB_COMPLETION_INDEX", k8sIndex);
            if (count is null) throw new ArgumentException($"JOB_COMPLETION_INDEX={k8sIndex} names this shard but not how many there are: give the shard count (the Job's completions).");
            return Checked(index, count.Value, $"JOB_COMPLETION_INDEX={k8sIndex}, shards={count}");
        }
        if (count is not null) throw new ArgumentException("A shard count needs a shard index: a shard I/N, or a scheduler's SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX.");
        return All;
    }

    private static Shard Checked(int index, int count, string source)
    {
        if (count < 1) throw new ArgumentException($"Invalid shard count {count} ({source}): must be at least 1.");
        if (index < 0 || index >= count)
            throw new ArgumentException($"Shard index {index} is out of range for {count} shards ({source}): it must be from 0 to {count - 1}.");
        return new Shard(index, count, source);
    }

    private static int Variable(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
            : throw new ArgumentException($"{name}='{value}' is not a whole number >= 0.");

    /// <summary>For example "shard 2/4 (SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_COUNT=4)".</summary>
    public override string ToString() => Count == 1 && Source == All.Source ? "all trials (no shard)" : $"shard {Index}/{Count} ({Source})";
}
