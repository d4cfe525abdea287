using System.Numerics;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Gradient accumulation (optax's <c>MultiSteps</c>, Keras's <c>gradient_accumulation_steps</c>): <c>k</c> calls of
/// <see cref="Optimizer{T}.Step()"/> make one update, from the mean of their <c>k</c> gradients. With losses that
/// average over their batch, <c>k</c> micro-batches of <c>b</c> examples give the gradient of one batch of
/// <c>k b</c> examples, to rounding; the optimizer's step count (and every schedule) counts updates.
/// </summary>
public sealed class GradientAccumulation<T> : OptimizerWrapper<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[][] _sum = [];

    /// <summary>Accumulates <paramref name="steps"/> gradients per update.</summary>
    public GradientAccumulation(int steps)
    {
        if (steps < 1) throw new ArgumentException($"Invalid accumulation steps {steps}: must be at least 1.");
        Steps = steps;
    }

    /// <inheritdoc/>
    public override string Name => "accumulate";

    /// <summary>Gradients per update, <c>k</c>.</summary>
    public int Steps { get; }

    /// <summary>Gradients accumulated towards the next update.</summary>
    public int Pending { get; private set; }

    /// <inheritdoc/>
    protected override void Attached() => _sum = NewBuffers();

    /// <inheritdoc/>
    protected internal override bool BeforeUpdate(Func<double>? closure)
    {
        Pending++;
        var scale = T.CreateTruncating(1.0 / Steps);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var sum = _sum[i].AsSpan();
            var grad = Parameters[i].Grad.Span;
            for (int j = 0; j < sum.Length; j++) sum[j] += grad[j];
            if (Pending < Steps) continue;
            for (int j = 0; j < sum.Length; j++) grad[j] = sum[j] * scale;
            sum.Clear();
        }
        if (Pending < Steps) return false;
        Pending = 0;
        return true;
    }

    /// <inheritdoc/>
    protected internal override void SaveState(StateDict state, string prefix)
    {
        state.Set($"{prefix}.steps", Steps);
        state.Set($"{prefix}.pending", Pending);
        SaveBuffers(state, prefix, "grad_sum", _sum);
    }

    /// <inheritdoc/>
    protected internal override void LoadState(StateDict state, string prefix)
    {
        long steps = state.GetLong($"{prefix}.steps");
        if (steps != Steps) throw new InvalidDataException($"The saved state accumulates {steps} gradients per update, this optimizer {Steps}.");
        Pending = (int)state.GetLong($"{prefix}.pending");
        LoadBuffers(state, prefix, "grad_sum", _sum);
    }
}

/// <summary>What <see cref="GradientAccumulation{T}"/> cannot be combined with, worded once for every place that refuses it.</summary>
internal static class GradientAccumulation
{
    /// <summary>
    /// Why a wrapper that takes a second gradient of its minibatch (SAM) and accumulation exclude each other, as the tail of a
    /// sentence after "a" or "SAM's".
    /// </summary>
    internal const string SecondGradient = "second gradient would be taken of one minibatch while the update averages several";
}
