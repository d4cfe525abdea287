using System.Numerics;
using Descent.Schedules;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Several optimizers over disjoint sets of parameters, stepped, scheduled and saved as one (optax's
/// <c>multi_transform</c>; in PyTorch, two optimizers stepped together). <see cref="MuonSplit"/> builds the usual
/// one: Muon for a model's 2-D hidden weights, AdamW for the rest.
/// </summary>
/// <remarks>
/// A schedule on <c>lr</c> drives the first optimizer's learning rate and every other one's in proportion to its own
/// base learning rate, as one <c>LambdaLR</c> with the same factor on each PyTorch optimizer would; a schedule on any
/// other hyperparameter sets it, as given, in each optimizer that has it. Groups are the optimizers' groups in order,
/// so <c>Groups[0]</c> is the first optimizer's default group. State is saved under <c>{prefix}.0</c>,
/// <c>{prefix}.1</c>, ... by parameter name.
/// </remarks>
public sealed class MultiOptimizer<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Optimizer<T>[] _parts;
    private readonly ParameterGroup<T>[] _groups;

    /// <summary>Combines <paramref name="parts"/>, whose parameters must have distinct names.</summary>
    public MultiOptimizer(params Optimizer<T>[] parts) : base([], First(parts).Defaults)
    {
        _parts = [.. parts];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in _parts.SelectMany(o => o.AllParameters()))
            if (!seen.Add(p.Name))
                throw new ArgumentException($"Parameter '{p.Name}' is given to two optimizers: each parameter must be updated by one.");
        _groups = [.. _parts.SelectMany(o => o.Groups)];
    }

    /// <summary>The optimizers, in the order they step.</summary>
    public IReadOnlyList<Optimizer<T>> Parts => _parts;

    /// <summary>The optimizers' names joined by <c>+</c> (<c>muon+adamw</c>).</summary>
    public override string Name => string.Join("+", _parts.Select(p => p.Name));

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterGroup<T>> Groups => _groups;

    /// <inheritdoc/>
    public override long StepCount => _parts[0].StepCount;

    /// <inheritdoc/>
    protected override bool RuleRequiresClosure => _parts.Any(p => p.RequiresClosure);

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => [];

    /// <inheritdoc/>
    public override bool HasEvaluationPoint => _parts.Any(p => p.HasEvaluationPoint);

    /// <summary>Puts every part's evaluation point (its rule's and its wrappers') into its parameters.</summary>
    protected override void EnterEvaluation()
    {
        foreach (var part in _parts) part.Eval();
    }

    /// <summary>Restores every part's training point, in reverse order.</summary>
    protected override void LeaveEvaluation()
    {
        for (int i = _parts.Length - 1; i >= 0; i--) _parts[i].Train();
    }

    /// <inheritdoc/>
    protected override void StepCore()
    {
        for (int i = 0; i < _parts.Length; i++) _parts[i].Step();
    }

    /// <inheritdoc/>
    public override ParameterState<T> StateOf(string name) =>
        _parts.FirstOrDefault(p => p.AllParameters().Any(q => q.Name == name))?.StateOf(name)
        ?? throw new KeyNotFoundException($"No parameter named '{name}' in this optimizer.");

    /// <inheritdoc/>
    public override void Schedule(string hyperparameter, Schedules.Schedule schedule, ParameterGroup<T>? group = null)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (group is not null)
        {
            var owner = _parts.FirstOrDefault(p => p.Groups.Contains(group)) ?? throw new ArgumentException("The group does not belong to this optimizer.");
            owner.Schedule(hyperparameter, schedule, group);
            return;
        }
        var takers = _parts.Where(p => p.Defaults.Has(hyperparameter)).ToList();
        if (takers.Count == 0)
            throw new ArgumentException($"Unknown hyperparameter '{hyperparameter}' for {Name}: no part has it.");
        if (hyperparameter == "lr" && takers.Count > 1 && _parts[0].Defaults.LearningRate == 0)
            throw new ArgumentException($"A learning-rate schedule on {Name} scales each part's lr by its ratio to the first part's, which is 0: give {_parts[0].Name} a learning rate above 0.");
        foreach (var part in takers)
            part.Schedule(hyperparameter, hyperparameter == "lr" && part != _parts[0]
                ? new Proportional(schedule, part.Defaults.LearningRate / _parts[0].Defaults.LearningRate)
                : schedule);
    }

    /// <summary>The schedules attached, each once.</summary>
    public override IEnumerable<Schedules.Schedule> Schedules => _parts.SelectMany(p => p.Schedules).Where(s => s is not Proportional).Distinct();

    /// <inheritdoc/>
    protected override void SaveRule(StateDict state, string prefix)
    {
        state.Set($"{prefix}.name", Name);
        for (int i = 0; i < _parts.Length; i++) _parts[i].SaveState(state, $"{prefix}.{i}");
    }

    /// <inheritdoc/>
    protected override void LoadRule(StateDict state, string prefix)
    {
        string saved = state.GetString($"{prefix}.name");
        if (saved != Name)
            throw new InvalidDataException($"The saved optimizer state is for '{saved}', not '{Name}'.");
        for (int i = 0; i < _parts.Length; i++) _parts[i].LoadState(state, $"{prefix}.{i}");
    }

    /// <inheritdoc/>
    protected override void Update(Span<T> param, ReadOnlySpan<T> grad, ParameterState<T> state, OptimizerOptions options) =>
        throw new InvalidOperationException("A MultiOptimizer steps its parts; it has no update rule of its own.");

    private static Optimizer<T> First(Optimizer<T>[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0) throw new ArgumentException("A MultiOptimizer needs at least one optimizer.");
        return parts[0];
    }

    /// <summary>Another part's learning rate: the first part's schedule times the ratio of the base rates (told apart from a user's <see cref="Scaled"/> schedule).</summary>
    private sealed class Proportional(Schedules.Schedule schedule, double ratio) : Scaled(schedule, ratio);
}
