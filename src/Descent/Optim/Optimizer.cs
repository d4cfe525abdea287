using System.Numerics;
using Descent.Nn;
using Descent.Schedules;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Base of every optimizer: parameter groups, per-parameter state, hyperparameter schedules, and
/// saving and loading that state by parameter name. Subclasses supply one update rule, written once for
/// any floating-point type, that runs as a single fused pass over a parameter's values, gradient and
/// state.
/// </summary>
/// <remarks>
/// A step: the step count rises by one; each scheduled hyperparameter takes its value for that step;
/// every group's hyperparameters are validated; then every parameter is updated in place from its
/// gradient. The step allocates nothing (slots are allocated once, on first use).
/// </remarks>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<ParameterGroup<T>> _groups = [];
    private readonly Dictionary<string, ParameterState<T>> _state = new(StringComparer.Ordinal);
    private readonly List<(Hyperparameter Entry, Schedule Schedule, ParameterGroup<T>? Group)> _schedules = [];   // entries looked up once, not every step
    private readonly List<OptimizerWrapper<T>> _wrappers = [];
    private bool _wrapperNeedsClosure;   // kept by Wrap: Step asks on every update

    /// <summary>Creates the optimizer with every parameter in group 0 under <paramref name="defaults"/>.</summary>
    protected Optimizer(IEnumerable<Parameter<T>> parameters, OptimizerOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(defaults);
        defaults.Validate();
        Defaults = defaults.Clone();
        var all = new ParameterGroup<T>("*", defaults.Clone());
        foreach (var p in parameters)
        {
            var state = new ParameterState<T>(p.Shape, p.Length, [.. Enumerable.Range(0, SlotNames.Count).Select(k => SlotLength(k, p.Shape, p.Length))], InitialScalars);
            if (!_state.TryAdd(p.Name, state))
                throw new ArgumentException($"Two parameters are named '{p.Name}': names must be unique, because optimizer state is saved by name.");
            all.Members.Add(p);
            all.States.Add(state);
        }
        _groups.Add(all);
    }

    /// <summary>The optimizer's name on the command line and in saved state (<c>sgd</c>, <c>adam</c>, ...), from its registration.</summary>
    public virtual string Name => Defaults.OptimizerName;

    /// <summary>The hyperparameters new groups start from.</summary>
    public OptimizerOptions Defaults { get; }

    /// <summary>Parameter groups; group 0 holds the parameters no pattern claimed.</summary>
    public virtual IReadOnlyList<ParameterGroup<T>> Groups => _groups;

    /// <summary>Number of completed calls to <see cref="Step()"/>.</summary>
    public virtual long StepCount => _stepCount;

    private long _stepCount;

    /// <summary>Names of the per-element buffers this optimizer keeps (<c>exp_avg</c>, ...), saved under these names.</summary>
    protected abstract IReadOnlyList<string> SlotNames { get; }

    /// <summary>
    /// Number of elements slot <paramref name="slot"/> holds for a parameter of <paramref name="shape"/>: by default
    /// one per parameter element; 0 for a slot the parameter never uses.
    /// </summary>
    protected virtual int SlotLength(int slot, IReadOnlyList<int> shape, int length) => length;

    /// <summary>Names of per-parameter scalars.</summary>
    protected virtual IReadOnlyList<string> ScalarNames => [];

    /// <summary>Initial values of the per-parameter scalars.</summary>
    protected virtual double[] InitialScalars => [];

    /// <summary>
    /// Moves the parameters of group 0 whose names match <paramref name="pattern"/> into a new group whose
    /// hyperparameters start as a copy of <see cref="Defaults"/> and are then changed by <paramref name="configure"/>.
    /// </summary>
    protected ParameterGroup<T> AddGroupCore(string pattern, Action<OptimizerOptions> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        if (OneGroupOnly is { } reason) throw new ArgumentException(reason);
        var options = Defaults.Clone();
        configure(options);
        options.Validate();
        var group = new ParameterGroup<T>(pattern, options);
        var rest = _groups[0];
        for (int i = 0; i < rest.Members.Count; i++)
        {
            if (!ParameterGroup<T>.Matches(pattern, rest.Members[i].Name)) continue;
            group.Members.Add(rest.Members[i]);
            group.States.Add(rest.States[i]);
            rest.Members.RemoveAt(i);
            rest.States.RemoveAt(i--);
        }
        if (group.Members.Count == 0)
            throw new ArgumentException($"Parameter group pattern '{pattern}' matches no ungrouped parameter; names are: {string.Join(", ", AllParameters().Select(p => p.Name))}.");
        _groups.Add(group);
        return group;
    }

    /// <summary>
    /// Moves the ungrouped parameters whose names match <paramref name="pattern"/> into a new group whose hyperparameters
    /// are <see cref="Defaults"/> with <paramref name="hyperparameters"/> (by PyTorch name) set, as a <c>param_groups</c>
    /// entry of PyTorch: <c>AddGroup("layers.0.*", new Dictionary&lt;string, double&gt; { ["lr"] = 1e-4 })</c>.
    /// A pattern that matches no ungrouped parameter is an error naming the parameters.
    /// </summary>
    public ParameterGroup<T> AddGroup(string pattern, IReadOnlyDictionary<string, double> hyperparameters)
    {
        ArgumentNullException.ThrowIfNull(hyperparameters);
        return AddGroupCore(pattern, o =>
        {
            foreach (var (name, value) in hyperparameters) o.Set(name, value);
        });
    }

    /// <summary>Why the rule takes one parameter group only (it updates all parameters together), or null when it takes several.</summary>
    protected virtual string? OneGroupOnly => null;

    /// <summary>Every parameter, in group order.</summary>
    public IEnumerable<Parameter<T>> AllParameters() => Groups.SelectMany(g => g.Parameters);

    /// <summary>The state kept for the parameter called <paramref name="name"/>.</summary>
    public virtual ParameterState<T> StateOf(string name) => _state.TryGetValue(name, out var s) ? s
        : throw new KeyNotFoundException($"No parameter named '{name}' in this optimizer.");

    /// <summary>
    /// Makes the hyperparameter called <paramref name="hyperparameter"/> (its PyTorch name: <c>lr</c>,
    /// <c>momentum</c>, <c>beta1</c>, <c>weight_decay</c>, ...) follow <paramref name="schedule"/>: at update
    /// <c>t</c> it takes the value <c>schedule.At(t)</c>, in every group or only in <paramref name="group"/>.
    /// </summary>
    public virtual void Schedule(string hyperparameter, Schedule schedule, ParameterGroup<T>? group = null)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var h = Defaults.Find(hyperparameter);
        if (h.Kind != HyperparameterKind.Real)
            throw new ArgumentException($"'{hyperparameter}' is a switch and cannot follow a schedule.");
        if (group is not null && !_groups.Contains(group))
            throw new ArgumentException("The group does not belong to this optimizer.");
        _schedules.Add((h, schedule, group));
    }

    /// <summary>The schedules attached with <see cref="Schedule"/>.</summary>
    public virtual IEnumerable<Schedule> Schedules => _schedules.Select(s => s.Schedule);

    /// <summary>Sets every parameter's gradient to zero.</summary>
    public void ZeroGrad()
    {
        var groups = Groups;
        for (int g = 0; g < groups.Count; g++)
        {
            var members = groups[g].Parameters;
            for (int i = 0; i < members.Count; i++) members[i].ZeroGrad();
        }
    }

    /// <summary>
    /// Whether the parameters hold the point training evaluates gradients at (the default) rather than the point
    /// to evaluate the model at. The two differ for optimizers that keep an average of their iterates (the
    /// schedule-free ones) and for the averaging wrappers: see <see cref="Eval"/>.
    /// </summary>
    public bool Training { get; private set; } = true;

    /// <summary>
    /// Puts into the parameters the point the model should be evaluated and exported at (the rule's own, such as
    /// schedule-free's average <c>x</c>, then each wrapper's, such as an EMA), until <see cref="Train"/>
    /// (PyTorch's schedule-free <c>optimizer.eval()</c>). Nothing moves for optimizers whose parameters are that point.
    /// </summary>
    public void Eval()
    {
        if (!Training) return;
        EnterEvaluation();
        foreach (var w in _wrappers) w.Eval();
        Training = false;
    }

    /// <summary>Restores the training point after <see cref="Eval"/> (<c>optimizer.train()</c>), exactly as it was.</summary>
    public void Train()
    {
        if (Training) return;
        for (int i = _wrappers.Count - 1; i >= 0; i--) _wrappers[i].Train();
        LeaveEvaluation();
        Training = true;
    }

    /// <summary>
    /// Whether the rule evaluates the model at a point other than the one it trains at (schedule-free's average
    /// <c>x</c>), so that <see cref="Eval"/> moves the parameters even without wrappers.
    /// </summary>
    public virtual bool HasEvaluationPoint => false;

    /// <summary>
    /// Whether <see cref="Eval"/> puts a point other than the training one into the parameters now: the rule's own
    /// (<see cref="HasEvaluationPoint"/>) or a wrapper's (an average once it has begun, Lookahead's slow weights).
    /// A model evaluated there needs batch-normalization statistics of its own (<see cref="Nn.BatchNormStatistics"/>).
    /// </summary>
    public bool EvaluationPointDiffers => HasEvaluationPoint || _wrappers.Any(w => w.HasEvaluationPoint);

    /// <summary>The rule's own evaluation point: puts it into the parameters (nothing for most rules).</summary>
    protected virtual void EnterEvaluation() { }

    /// <summary>Undoes <see cref="EnterEvaluation"/> exactly.</summary>
    protected virtual void LeaveEvaluation() { }

    /// <summary>The wrappers around this optimizer's updates, innermost first (see <see cref="Wrap{TWrapper}"/>).</summary>
    public IReadOnlyList<OptimizerWrapper<T>> Wrappers => _wrappers;

    /// <summary>
    /// Puts <paramref name="wrapper"/> around the updates (and around the wrappers added before it): gradient
    /// accumulation, Lookahead, weight averaging. Wrap before the first step; returns the wrapper.
    /// </summary>
    public TWrapper Wrap<TWrapper>(TWrapper wrapper) where TWrapper : OptimizerWrapper<T>
    {
        ArgumentNullException.ThrowIfNull(wrapper);
        if (RuleRequiresClosure)
            throw new ArgumentException($"{Name} takes a closure step; wrappers work around optimizers that update once from one gradient.");
        if (wrapper.NeedsClosure && _wrappers.Any(w => w is GradientAccumulation<T>) || wrapper is GradientAccumulation<T> && _wrappers.Any(w => w.NeedsClosure))
            throw new ArgumentException($"{(wrapper.NeedsClosure ? wrapper : _wrappers.First(w => w.NeedsClosure)).Name} cannot be combined with gradient accumulation: a " +
                $"{GradientAccumulation.SecondGradient}; wrap the optimizer in one of the two only.");
        if (wrapper is WeightAveraging<T> && HasEvaluationPoint)
            throw new ArgumentException($"{Name} is evaluated at its own average of the iterates: {wrapper.Name} would average its training point instead and replace that average. Use one or the other.");
        if (StepCount > 0)
            throw new InvalidOperationException($"Wrap {wrapper.Name} around {Name} before its first step.");
        wrapper.Attach(this);
        _wrappers.Add(wrapper);
        _wrapperNeedsClosure |= wrapper.NeedsClosure;
        return wrapper;
    }

    /// <summary>Applies one update to every parameter from its current gradient (through the wrappers, which may hold it back).</summary>
    public void Step()
    {
        if (RequiresClosure)
            throw new InvalidOperationException($"{Name} evaluates the loss several times per step: call Step(closure) with a closure that recomputes the loss and the gradients.");
        RunUpdate(null);
    }

    /// <summary>The update through the wrappers, which may use <paramref name="closure"/> to take more gradients (SAM).</summary>
    private void RunUpdate(Func<double>? closure)
    {
        ThrowIfEvaluating();
        for (int w = 0; w < _wrappers.Count; w++)
            if (!_wrappers[w].BeforeUpdate(closure)) return;
        StepCore();
        for (int w = 0; w < _wrappers.Count; w++) _wrappers[w].AfterUpdate();
    }

    /// <summary>The update itself: every parameter by the rule (a combination of optimizers steps its parts instead).</summary>
    protected virtual void StepCore()
    {
        long t = BeginStep();
        for (int g = 0; g < _groups.Count; g++)
        {
            var group = _groups[g];
            var members = group.Members;
            for (int i = 0; i < members.Count; i++)
            {
                var state = group.States[i];
                state.Step++;
                Update(members[i].Value.Span, members[i].Grad.Span, state, group.Options);
            }
        }
        _stepCount = t;
    }

    private void ThrowIfEvaluating()
    {
        if (!Training)
            throw new InvalidOperationException($"{Name} is in evaluation mode: call Train() before Step() (Eval() put the evaluation point into the parameters).");
    }

    /// <summary>
    /// Whether the rule updates each element from that element's parameter, gradient and slot values alone, with
    /// coefficients that depend only on the step and the hyperparameters: a step can then be split into ranges of
    /// elements updated at once on several cores, with the same numbers. Such a rule's update is then called
    /// concurrently, each call with a range of the parameter and a <see cref="ParameterState{T}"/> of that range, whose
    /// slots are the ranges of slots as long as the parameter: it must keep no scratch of its own, write no per-parameter
    /// scalar, and read no shape, norm, <see cref="ParameterState{T}.Peek"/> or other element.
    /// </summary>
    protected virtual bool ElementWise => false;

    /// <summary>Whether the next step can be split into ranges of elements (<see cref="BeginParts"/>): the rule is element-wise and no wrapper or closure takes part.</summary>
    internal bool CanStepInParts => ElementWise && _wrappers.Count == 0 && !RequiresClosure;

    private long _partsStep;
    private int _parts;

    /// <summary>
    /// Starts a step split into <paramref name="parts"/> ranges of every parameter's elements (<see cref="Numerics.Parts"/>):
    /// the step's schedules and counts, here; then <see cref="StepPart(int)"/> for every part (or <see cref="StepPart(int, Parameter{T})"/>
    /// for every part of every parameter, in any order), at once on as many threads; then
    /// <see cref="EndParts"/>. The result is that of <see cref="Step()"/> to the last bit.
    /// </summary>
    internal void BeginParts(int parts)
    {
        if (!CanStepInParts)
            throw new InvalidOperationException($"{Name} cannot split a step into ranges of elements: its rule is not element-wise, or a wrapper or a closure takes part.");
        ThrowIfEvaluating();
        _partsStep = BeginStep();
        for (int g = 0; g < _groups.Count; g++)
        {
            var states = _groups[g].States;
            for (int i = 0; i < states.Count; i++)
            {
                states[i].Step++;
                states[i].Ranges(parts);
            }
        }
        _parts = parts;
    }

    /// <summary>Updates range <paramref name="part"/> of every parameter (between <see cref="BeginParts"/> and <see cref="EndParts"/>).</summary>
    internal void StepPart(int part)
    {
        for (int g = 0; g < _groups.Count; g++)
            for (int i = 0; i < _groups[g].Members.Count; i++) UpdatePart(_groups[g], i, part);
    }

    /// <summary>
    /// Updates range <paramref name="part"/> of <paramref name="parameter"/> alone (between <see cref="BeginParts"/> and
    /// <see cref="EndParts"/>), if it is a member of a group: the parts of the parameters can then be updated in any order,
    /// each once, on any core.
    /// </summary>
    internal void StepPart(int part, Parameter<T> parameter)
    {
        for (int g = 0; g < _groups.Count; g++)
        {
            var members = _groups[g].Members;
            for (int i = 0; i < members.Count; i++)
                if (ReferenceEquals(members[i], parameter))
                {
                    UpdatePart(_groups[g], i, part);
                    return;
                }
        }
    }

    private void UpdatePart(ParameterGroup<T> group, int member, int part)
    {
        var range = group.States[member].Ranges(_parts)[part];
        if (range.Length == 0) return;
        var p = group.Members[member];
        Update(p.Value.Span.Slice(range.Offset, range.Length), p.Grad.Span.Slice(range.Offset, range.Length), range, group.Options);
    }

    /// <summary>Records the step begun by <see cref="BeginParts"/> as complete.</summary>
    internal void EndParts() => EndStep(_partsStep);

    /// <summary>
    /// PyTorch's <c>optimizer.step(closure)</c>: <paramref name="closure"/> recomputes the loss at the current
    /// parameters and fills their gradients, and returns the loss. Most optimizers call it once and then step;
    /// those that search along a direction (L-BFGS) call it as often as they need. Returns the loss of the first call.
    /// </summary>
    public virtual double Step(Func<double> closure)
    {
        ArgumentNullException.ThrowIfNull(closure);
        double loss = closure();
        RunUpdate(closure);
        return loss;
    }

    /// <summary>
    /// Whether <see cref="Step()"/> is unavailable and a step needs a closure (<see cref="Step(Func{double})"/>): the rule
    /// searches along a direction (L-BFGS) or a wrapper takes a second gradient (SAM).
    /// </summary>
    public bool RequiresClosure => RuleRequiresClosure || _wrapperNeedsClosure;

    /// <summary>Whether the rule itself evaluates the loss several times per update.</summary>
    protected virtual bool RuleRequiresClosure => false;

    /// <summary>Sets every scheduled hyperparameter to its value for the coming update and validates every group; returns that update's number.</summary>
    protected long BeginStep()
    {
        long t = StepCount + 1;
        for (int i = 0; i < _schedules.Count; i++)
        {
            var (entry, schedule, only) = _schedules[i];
            double value = schedule.At(t);
            for (int g = 0; g < _groups.Count; g++)
                if (only is null || only == _groups[g]) entry.Set(_groups[g].Options, value);
        }
        for (int g = 0; g < _groups.Count; g++) _groups[g].Options.Validate();
        return t;
    }

    /// <summary>Records that update <paramref name="t"/> (from <see cref="BeginStep"/>) is complete.</summary>
    protected void EndStep(long t) => _stepCount = t;

    /// <summary>
    /// The update rule: changes <paramref name="param"/> in place from <paramref name="grad"/> and the
    /// parameter's <paramref name="state"/> (whose <see cref="ParameterState{T}.Step"/> already counts this update).
    /// </summary>
    protected abstract void Update(Span<T> param, ReadOnlySpan<T> grad, ParameterState<T> state, OptimizerOptions options);

    /// <summary>
    /// Writes the step count, every group's hyperparameters, every schedule's state and every parameter's
    /// state, keyed by parameter name, under <paramref name="prefix"/>.
    /// </summary>
    public void SaveState(StateDict state, string prefix = "optimizer")
    {
        if (!Training)
            throw new InvalidOperationException($"{Name} is in evaluation mode: call Train() before saving its state, so the state and the parameters saved beside it are the training point.");
        SaveRule(state, prefix);
        for (int i = 0; i < _wrappers.Count; i++)
        {
            state.Set($"{prefix}.wrappers.{i}.name", _wrappers[i].Name);
            _wrappers[i].SaveState(state, $"{prefix}.wrappers.{i}");
        }
    }

    /// <summary>The rule's part of <see cref="SaveState"/>: step count, groups, schedules and per-parameter state.</summary>
    protected virtual void SaveRule(StateDict state, string prefix)
    {
        state.Set($"{prefix}.name", Name);
        state.Set($"{prefix}.step_count", StepCount);
        for (int g = 0; g < _groups.Count; g++)
        {
            state.Set($"{prefix}.groups.{g}.pattern", _groups[g].Pattern);
            foreach (var h in _groups[g].Options.Hyperparameters)
                state.Set($"{prefix}.groups.{g}.{h.Name}", h.Get(_groups[g].Options));
        }
        for (int i = 0; i < _schedules.Count; i++)
            _schedules[i].Schedule.SaveState(state, $"{prefix}.schedules.{i}");
        foreach (var (name, s) in _state)
        {
            state.Set($"{prefix}.state.{name}.step", s.Step);
            for (int k = 0; k < SlotNames.Count; k++)
                if (s.Peek(k) is { } buffer) SetSlot(state, $"{prefix}.state.{name}.{SlotNames[k]}", buffer);
            for (int k = 0; k < ScalarNames.Count; k++)
                state.Set($"{prefix}.state.{name}.{ScalarNames[k]}", s.Scalars[k]);
        }
    }

    /// <summary>
    /// Restores what <see cref="SaveState"/> wrote. The optimizer must have been built the same way
    /// (same kind, same parameter names and groups, same schedules); a mismatch is an error naming it.
    /// </summary>
    public void LoadState(StateDict state, string prefix = "optimizer")
    {
        if (!Training)
            throw new InvalidOperationException($"{Name} is in evaluation mode: call Train() before loading a state, or Train() would later write the old training point over the loaded parameters.");
        for (int i = 0; i <= _wrappers.Count; i++)
        {
            string key = $"{prefix}.wrappers.{i}.name";
            string? savedWrapper = state.Contains(key) ? state.GetString(key) : null;
            string? mine = i < _wrappers.Count ? _wrappers[i].Name : null;
            if (savedWrapper != mine)
                throw new InvalidDataException($"The saved optimizer state has wrapper {i} '{savedWrapper ?? "none"}', this optimizer has '{mine ?? "none"}': build the optimizer with the same wrappers, in the same order.");
        }
        LoadRule(state, prefix);
        for (int i = 0; i < _wrappers.Count; i++)
            _wrappers[i].LoadState(state, $"{prefix}.wrappers.{i}");
    }

    /// <summary>The rule's part of <see cref="LoadState"/>.</summary>
    protected virtual void LoadRule(StateDict state, string prefix)
    {
        string saved = state.GetString($"{prefix}.name");
        if (saved != Name)
            throw new InvalidDataException($"The saved optimizer state is for '{saved}', not '{Name}'.");
        for (int g = 0; g < _groups.Count; g++)
        {
            string pattern = state.GetString($"{prefix}.groups.{g}.pattern");
            if (pattern != _groups[g].Pattern)
                throw new InvalidDataException($"Saved parameter group {g} has pattern '{pattern}', this optimizer's has '{_groups[g].Pattern}'.");
        }
        foreach (var name in _state.Keys)
            if (!state.Contains($"{prefix}.state.{name}.step"))
                throw new InvalidDataException($"The saved optimizer state has no entry for parameter '{name}'.");

        _stepCount = state.GetLong($"{prefix}.step_count");
        for (int g = 0; g < _groups.Count; g++)
            foreach (var h in _groups[g].Options.Hyperparameters)
                h.Set(_groups[g].Options, state.GetDouble($"{prefix}.groups.{g}.{h.Name}"));
        for (int i = 0; i < _schedules.Count; i++)
            _schedules[i].Schedule.LoadState(state, $"{prefix}.schedules.{i}");
        foreach (var (name, s) in _state)
        {
            s.Step = state.GetLong($"{prefix}.state.{name}.step");
            for (int k = 0; k < SlotNames.Count; k++)
            {
                string key = $"{prefix}.state.{name}.{SlotNames[k]}";
                if (!state.Contains(key))
                {
                    s.Restore(k, null);   // not made yet when the state was saved: made afresh when first used, as it was then
                    continue;
                }
                var buffer = new T[s.SlotLength(k)];
                GetSlot(state, key, buffer);
                s.Restore(k, buffer);
            }
            for (int k = 0; k < ScalarNames.Count; k++)
                s.Scalars[k] = state.GetDouble($"{prefix}.state.{name}.{ScalarNames[k]}");
        }
    }

    internal static void SetSlot(StateDict state, string key, T[] buffer)
    {
        if (buffer is float[] f) state.Set(key, f);
        else if (buffer is double[] d) state.Set(key, d);
        else throw new NotSupportedException($"Optimizer state of type {typeof(T).Name} cannot be saved; use float or double.");
    }

    internal static void GetSlot(StateDict state, string key, T[] buffer)
    {
        if (buffer is float[] f) state.CopyTo<float>(key, f);
        else if (buffer is double[] d) state.CopyTo<double>(key, d);
        else throw new NotSupportedException($"Optimizer state of type {typeof(T).Name} cannot be loaded; use float or double.");
    }
}

/// <summary>An optimizer whose hyperparameters are a <typeparamref name="TOptions"/>.</summary>
public abstract class Optimizer<T, TOptions> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TOptions : OptimizerOptions
{
    /// <summary>Creates the optimizer.</summary>
    protected Optimizer(IEnumerable<Parameter<T>> parameters, TOptions defaults) : base(parameters, defaults) { }

    /// <summary>
    /// Moves the ungrouped parameters whose names match <paramref name="pattern"/> into a new group
    /// whose hyperparameters start as the defaults and are then changed by <paramref name="configure"/>,
    /// e.g. <c>adam.AddGroup("*.bias", o =&gt; o.WeightDecay = 0)</c>.
    /// </summary>
    public ParameterGroup<T> AddGroup(string pattern, Action<TOptions> configure) =>
        AddGroupCore(pattern, o => configure((TOptions)o));

    /// <summary>The hyperparameters of group <paramref name="group"/>, typed.</summary>
    public TOptions OptionsOf(int group = 0) => (TOptions)Groups[group].Options;

    /// <inheritdoc/>
    protected sealed override void Update(Span<T> param, ReadOnlySpan<T> grad, ParameterState<T> state, OptimizerOptions options) =>
        Update(param, grad, state, (TOptions)options);

    /// <summary>The update rule with typed hyperparameters.</summary>
    protected abstract void Update(Span<T> param, ReadOnlySpan<T> grad, ParameterState<T> state, TOptions options);
}
