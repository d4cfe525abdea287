using System.Numerics;
using Descent.Nn;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Clips the gradient an update uses (<see cref="GradientClipping"/>), for clipping inside the wrappers: put after
/// <see cref="GradientAccumulation{T}"/>, it clips the accumulated mean gradient, as a PyTorch loop that calls
/// <c>clip_grad_norm_</c> once before each <c>optimizer.step()</c> and as optax's
/// <c>MultiSteps(chain(clip_by_global_norm(m), ...))</c>. It clips as the trainer does (<see cref="GradientClipping.Clip{T}"/>).
/// </summary>
public sealed class GradientClip<T> : OptimizerWrapper<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly IReadOnlyList<Parameter<T>>? _order;

    /// <summary>Clips to global norm <paramref name="maxNorm"/> and entries to <paramref name="clipValue"/> (0 turns either off).</summary>
    /// <param name="maxNorm">Largest global 2-norm; 0 for none.</param>
    /// <param name="clipValue">Largest absolute entry; 0 for none.</param>
    /// <param name="order">
    /// The parameters in the order their norms are combined, as the list given to <c>clip_grad_norm_</c> (usually
    /// the model's <c>parameters()</c>): the order changes the global norm's last bits. Default: the optimizer's
    /// parameters, in group order. It must hold the optimizer's parameters.
    /// </param>
    public GradientClip(double maxNorm, double clipValue = 0, IReadOnlyList<Parameter<T>>? order = null)
    {
        if (!(maxNorm >= 0) || double.IsInfinity(maxNorm)) throw new ArgumentException($"Invalid max_norm: {maxNorm} (must be >= 0; 0 for none).");
        if (!(clipValue >= 0) || double.IsInfinity(clipValue)) throw new ArgumentException($"Invalid clip_value: {clipValue} (must be >= 0; 0 for none).");
        if (maxNorm == 0 && clipValue == 0) throw new ArgumentException("A gradient clip needs a max_norm or a clip_value above 0.");
        (MaxNorm, ClipValue, _order) = (maxNorm, clipValue, order);
    }

    /// <inheritdoc/>
    public override string Name => "clip";

    /// <summary>The largest global norm (0: not clipped by norm).</summary>
    public double MaxNorm { get; }

    /// <summary>The largest absolute entry (0: not clipped by value).</summary>
    public double ClipValue { get; }

    /// <inheritdoc/>
    protected override void Attached()
    {
        if (_order is not null && (_order.Count != Parameters.Count || !_order.ToHashSet().SetEquals(Parameters)))
            throw new ArgumentException("The clip's parameter order must list exactly the optimizer's parameters, each once.");
    }

    /// <inheritdoc/>
    protected internal override bool BeforeUpdate(Func<double>? closure)
    {
        GradientClipping.Clip(_order ?? Parameters, ClipValue, MaxNorm);
        return true;
    }

    /// <summary>Nothing to save: a clip has no state.</summary>
    protected internal override void SaveState(StateDict state, string prefix) { }

    /// <summary>Nothing to load: a clip has no state.</summary>
    protected internal override void LoadState(StateDict state, string prefix) { }
}
