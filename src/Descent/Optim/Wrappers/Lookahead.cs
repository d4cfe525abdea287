using System.Numerics;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Lookahead (Zhang et al. 2019, "Lookahead Optimizer: k steps forward, 1 step back"; <c>optax.lookahead</c>):
/// the wrapped optimizer moves the fast weights; every <c>k</c> updates the slow weights move a fraction
/// <c>alpha</c> of the way to them, and the fast weights restart from there.
/// </summary>
/// <remarks>
/// <code>
/// after updates k, 2k, ...:   slow = slow + alpha (fast - slow);   fast = slow
/// </code>
/// The slow weights start at the parameters' values when the wrapper is attached. Evaluation
/// (<see cref="Optimizer{T}.Eval"/>) uses the slow weights, the algorithm's output.
/// </remarks>
public sealed class Lookahead<T> : OptimizerWrapper<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[][] _slow = [];

    /// <summary>Syncs every <paramref name="k"/> updates with step size <paramref name="alpha"/> (the paper's k = 5, alpha = 0.5).</summary>
    public Lookahead(int k = 5, double alpha = 0.5)
    {
        if (k < 1) throw new ArgumentException($"Invalid lookahead k {k}: must be at least 1.");
        if (!(alpha > 0 && alpha <= 1)) throw new ArgumentException($"Invalid lookahead alpha {alpha}: must be in (0, 1].");
        (K, Alpha) = (k, alpha);
    }

    /// <inheritdoc/>
    public override string Name => "lookahead";

    /// <summary>Updates between syncs, <c>k</c> (optax's <c>sync_period</c>).</summary>
    public int K { get; }

    /// <summary>The slow weights' step towards the fast ones, <c>alpha</c> (optax's <c>slow_step_size</c>).</summary>
    public double Alpha { get; }

    /// <summary>Updates since the last sync.</summary>
    public int SinceSync { get; private set; }

    /// <inheritdoc/>
    protected override void Attached()
    {
        _slow = NewBuffers();
        CopyParametersTo(_slow);
    }

    /// <inheritdoc/>
    protected internal override void AfterUpdate()
    {
        if (++SinceSync < K) return;
        SinceSync = 0;
        var alpha = T.CreateTruncating(Alpha);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var fast = Parameters[i].Value.Span;
            var slow = _slow[i].AsSpan();
            for (int j = 0; j < slow.Length; j++) fast[j] = slow[j] = T.FusedMultiplyAdd(alpha, fast[j] - slow[j], slow[j]);
        }
    }

    /// <inheritdoc/>
    protected internal override bool HasEvaluationPoint => true;

    /// <inheritdoc/>
    protected internal override void Eval() => SwapIn(_slow);

    /// <inheritdoc/>
    protected internal override void Train() => RestoreTraining();

    /// <inheritdoc/>
    protected internal override void SaveState(StateDict state, string prefix)
    {
        SaveSetting(state, prefix, "k", K);
        SaveSetting(state, prefix, "alpha", Alpha);
        state.Set($"{prefix}.since_sync", SinceSync);
        SaveBuffers(state, prefix, "slow", _slow);
    }

    /// <inheritdoc/>
    protected internal override void LoadState(StateDict state, string prefix)
    {
        RequireSetting(state, prefix, "k", K);
        RequireSetting(state, prefix, "alpha", Alpha);
        SinceSync = (int)state.GetLong($"{prefix}.since_sync");
        LoadBuffers(state, prefix, "slow", _slow);
    }
}
