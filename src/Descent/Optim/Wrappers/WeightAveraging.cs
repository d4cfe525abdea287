using System.Numerics;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// An average of the weights along training, used for evaluation and export (PyTorch's
/// <c>torch.optim.swa_utils.AveragedModel</c>): an exponential moving average (<see cref="Ema"/>) or the equal
/// average of stochastic weight averaging from a start update on (<see cref="Swa"/>). The first average is a
/// copy; training itself is untouched, and <see cref="Optimizer{T}.Eval"/> puts the average into the parameters.
/// </summary>
/// <remarks>
/// <code>
/// EMA:  avg = d avg + (1 - d) p,  d = decay          [warmup: d = min(decay, (1 + n) / (10 + n)), n = averages so far]
/// SWA:  avg = avg + (p - avg) / (n + 1)              after every update past swa_start
/// </code>
/// Only the optimizer's parameters are averaged; the trainer recomputes batch normalization's statistics for the average
/// (<see cref="Nn.BatchNormStatistics"/>).
/// </remarks>
public sealed class WeightAveraging<T> : OptimizerWrapper<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly double _decay;
    private readonly bool _warmup;
    private readonly long _start;
    private T[][] _average = [];

    private WeightAveraging(string name, double decay, bool warmup, long start) => (Name, _decay, _warmup, _start) = (name, decay, warmup, start);

    /// <summary>
    /// The exponential moving average with <paramref name="decay"/>; with <paramref name="warmup"/> the decay starts
    /// low and rises as <c>(1 + n) / (10 + n)</c> (TensorFlow's <c>ExponentialMovingAverage</c> with <c>num_updates</c>).
    /// </summary>
    public static WeightAveraging<T> Ema(double decay, bool warmup = false) =>
        decay is > 0 and < 1 ? new("ema", decay, warmup, 0)
        : throw new ArgumentException($"Invalid EMA decay {decay}: must be in (0, 1), e.g. 0.999.");

    /// <summary>Stochastic weight averaging: the equal average of the weights after every update past <paramref name="start"/>.</summary>
    public static WeightAveraging<T> Swa(long start) =>
        start >= 0 ? new("swa", 0, false, start) : throw new ArgumentException($"Invalid SWA start {start}: must be at least 0.");

    /// <inheritdoc/>
    public override string Name { get; }

    /// <summary>Averages taken so far (PyTorch's <c>n_averaged</c>).</summary>
    public long Count { get; private set; }

    /// <summary>The averaged values of the parameter at position <paramref name="index"/> (group order).</summary>
    public ReadOnlySpan<T> Average(int index) => _average[index];

    /// <inheritdoc/>
    protected override void Attached() => _average = NewBuffers();

    /// <inheritdoc/>
    protected internal override void AfterUpdate()
    {
        if (Optimizer.StepCount <= _start) return;
        if (Count == 0) CopyParametersTo(_average);
        else if (Name == "ema")
        {
            double d = _warmup ? Math.Min(_decay, (1.0 + Count) / (10.0 + Count)) : _decay;
            T keep = T.CreateTruncating(d), take = T.CreateTruncating(1 - d);
            for (int i = 0; i < Parameters.Count; i++)
            {
                var p = Parameters[i].Value.Span;
                var avg = _average[i].AsSpan();
                for (int j = 0; j < avg.Length; j++) avg[j] = keep * avg[j] + take * p[j];
            }
        }
        else
        {
            T n = T.CreateTruncating(Count + 1);
            for (int i = 0; i < Parameters.Count; i++)
            {
                var p = Parameters[i].Value.Span;
                var avg = _average[i].AsSpan();
                for (int j = 0; j < avg.Length; j++) avg[j] += (p[j] - avg[j]) / n;
            }
        }
        Count++;
    }

    /// <inheritdoc/>
    protected internal override bool HasEvaluationPoint => Count > 0;

    /// <inheritdoc/>
    protected internal override void Eval()
    {
        if (Count > 0) SwapIn(_average);
    }

    /// <inheritdoc/>
    protected internal override void Train()
    {
        if (Count > 0) RestoreTraining();
    }

    /// <inheritdoc/>
    protected internal override void SaveState(StateDict state, string prefix)
    {
        SaveSetting(state, prefix, "decay", _decay);
        SaveSetting(state, prefix, "warmup", _warmup ? 1 : 0);
        SaveSetting(state, prefix, "start", _start);
        state.Set($"{prefix}.count", Count);
        SaveBuffers(state, prefix, "average", _average);
    }

    /// <inheritdoc/>
    protected internal override void LoadState(StateDict state, string prefix)
    {
        RequireSetting(state, prefix, "decay", _decay);
        RequireSetting(state, prefix, "warmup", _warmup ? 1 : 0);
        RequireSetting(state, prefix, "start", _start);
        Count = state.GetLong($"{prefix}.count");
        LoadBuffers(state, prefix, "average", _average);
    }
}
