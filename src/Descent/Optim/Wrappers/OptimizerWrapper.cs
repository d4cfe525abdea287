using System.Numerics;
using Descent.Nn;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Something put around an optimizer's updates (<see cref="Optimizer{T}.Wrap{TWrapper}"/>), as optax wraps a
/// gradient transformation: it may hold an update back (gradient accumulation), act after each update
/// (Lookahead, weight averaging), offer its own evaluation point (the averaged weights), and saves its state
/// with the optimizer's, by parameter name. Wrappers compose: each sees the updates of the ones inside it.
/// </summary>
public abstract class OptimizerWrapper<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Parameter<T>[] _parameters = [];
    private T[][]? _training;

    /// <summary>The wrapper's name in saved state (<c>accumulate</c>, <c>lookahead</c>, <c>ema</c>, <c>swa</c>).</summary>
    public abstract string Name { get; }

    /// <summary>The optimizer wrapped.</summary>
    protected Optimizer<T> Optimizer { get; private set; } = null!;

    /// <summary>The optimizer's parameters, in group order.</summary>
    protected IReadOnlyList<Parameter<T>> Parameters => _parameters;

    internal void Attach(Optimizer<T> optimizer)
    {
        if (Optimizer is not null) throw new InvalidOperationException($"This {Name} wrapper already wraps {Optimizer.Name}; make a new one.");
        Optimizer = optimizer;
        _parameters = [.. optimizer.AllParameters()];
        Attached();
    }

    /// <summary>Called once the optimizer is known: allocate buffers here (never per step).</summary>
    protected virtual void Attached() { }

    /// <summary>Whether the wrapper takes more gradients per update, so the optimizer needs <see cref="Optimizer{T}.Step(Func{double})"/>.</summary>
    public virtual bool NeedsClosure => false;

    /// <summary>
    /// Before an update, with the gradients in place (and the closure that recomputes them, when the step was given
    /// one); <c>false</c> holds the update back (the optimizer does not step).
    /// </summary>
    protected internal virtual bool BeforeUpdate(Func<double>? closure) => true;

    /// <summary>After each update.</summary>
    protected internal virtual void AfterUpdate() { }

    /// <summary>Whether <see cref="Eval"/> puts a point other than the training one into the parameters now.</summary>
    protected internal virtual bool HasEvaluationPoint => false;

    /// <summary>Puts this wrapper's evaluation point into the parameters (see <see cref="Optimizer{T}.Eval"/>).</summary>
    protected internal virtual void Eval() { }

    /// <summary>Undoes <see cref="Eval"/> exactly.</summary>
    protected internal virtual void Train() { }

    /// <summary>Writes the wrapper's state under <paramref name="prefix"/>.</summary>
    protected internal abstract void SaveState(StateDict state, string prefix);

    /// <summary>Reads what <see cref="SaveState"/> wrote.</summary>
    protected internal abstract void LoadState(StateDict state, string prefix);

    /// <summary>One buffer per parameter, as long as it.</summary>
    protected T[][] NewBuffers() => [.. _parameters.Select(p => new T[p.Length])];

    /// <summary>Copies every parameter's values into <paramref name="buffers"/>.</summary>
    protected void CopyParametersTo(T[][] buffers)
    {
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].Value.Span.CopyTo(buffers[i]);
    }

    /// <summary>Keeps the parameters and puts <paramref name="point"/> in their place, until <see cref="RestoreTraining"/>.</summary>
    protected void SwapIn(T[][] point)
    {
        _training ??= NewBuffers();
        CopyParametersTo(_training);
        for (int i = 0; i < _parameters.Length; i++) point[i].CopyTo(_parameters[i].Value.Span);
    }

    /// <summary>Puts back the parameters <see cref="SwapIn"/> kept.</summary>
    protected void RestoreTraining()
    {
        for (int i = 0; i < _parameters.Length; i++) _training![i].CopyTo(_parameters[i].Value.Span);
    }

    /// <summary>Saves a setting of the wrapper (a radius, a period, a decay) as <c>{prefix}.{name}</c>, for <see cref="RequireSetting"/>.</summary>
    protected static void SaveSetting(StateDict state, string prefix, string name, double value) => state.Set($"{prefix}.{name}", value);

    /// <summary>
    /// Refuses state saved with another value of a setting, which would silently change the run on resuming; state saved
    /// before the setting was recorded is taken as it is.
    /// </summary>
    protected void RequireSetting(StateDict state, string prefix, string name, double value)
    {
        string key = $"{prefix}.{name}";
        if (!state.Contains(key)) return;
        double saved = state.GetDouble(key);
        if (saved != value) throw new InvalidDataException($"The saved state is for {Name} with {name} {saved}, this optimizer's is {value}; resume with the settings the state was saved with.");
    }

    /// <summary>Saves <paramref name="buffers"/> as <c>{prefix}.{parameter name}.{slot}</c>.</summary>
    protected void SaveBuffers(StateDict state, string prefix, string slot, T[][] buffers)
    {
        for (int i = 0; i < _parameters.Length; i++) Optimizer<T>.SetSlot(state, $"{prefix}.{_parameters[i].Name}.{slot}", buffers[i]);
    }

    /// <summary>Loads what <see cref="SaveBuffers"/> saved, naming a missing parameter.</summary>
    protected void LoadBuffers(StateDict state, string prefix, string slot, T[][] buffers)
    {
        for (int i = 0; i < _parameters.Length; i++)
        {
            string key = $"{prefix}.{_parameters[i].Name}.{slot}";
            if (!state.Contains(key)) throw new InvalidDataException($"The saved {Name} state has no {slot} for parameter '{_parameters[i].Name}'.");
            Optimizer<T>.GetSlot(state, key, buffers[i]);
        }
    }
}
