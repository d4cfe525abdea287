using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// Batch normalization over the first dimension of each example (the channels), as PyTorch's
/// <c>nn.BatchNorm1d(C)</c> (examples <c>[C]</c> or <c>[C, L]</c>) and <c>nn.BatchNorm2d(C)</c> (examples
/// <c>[C, H, W]</c>): <c>y = (x - mean) / sqrt(var + eps) * weight + bias</c> per channel, <c>eps = 1e-5</c>.
/// </summary>
/// <remarks>
/// In training mode the mean and the biased variance are those of the batch (over the examples and the
/// positions of each channel), and the running statistics move towards them:
/// <c>running = (1 - momentum) running + momentum batch</c>, with the <i>unbiased</i> variance
/// (<c>n / (n - 1)</c> times the biased one) for <c>running_var</c>, and <c>num_batches_tracked</c> counts
/// the batches. With no momentum (PyTorch's <c>momentum=None</c>) the running statistics are the cumulative
/// average of every batch's, <c>momentum = 1 / num_batches_tracked</c> (see <see cref="BatchNormStatistics"/>). In evaluation mode the running statistics normalize. Parameters <c>weight</c> (1) and
/// <c>bias</c> (0), <c>[C]</c>; buffers <c>running_mean</c> (0), <c>running_var</c> (1), <c>num_batches_tracked</c>.
/// </remarks>
public sealed class BatchNorm<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _channels, _positions;
    private readonly T[] _runningMean, _runningVar, _count = [T.Zero];
    private readonly T[] _invStd;
    private AlignedArray<T> _normalized = AlignedArray<T>.Empty;

    /// <summary>Normalizes examples of <paramref name="shape"/> (<c>[C]</c>, <c>[C, L]</c> or <c>[C, H, W]</c>) channel by channel.</summary>
    public BatchNorm(IReadOnlyList<int> shape, double? momentum = 0.1, double eps = 1e-5) : base(shape, shape)
    {
        if (shape.Count is < 1 or > 3) throw new ArgumentException($"BatchNorm takes examples of shape [C], [C, L] or [C, H, W], got [{string.Join(", ", shape)}].");
        if (!(eps > 0)) throw new ArgumentException($"Invalid batch-norm eps {eps}: must be positive.");
        _channels = shape[0];
        _positions = InputSize / _channels;
        Momentum = momentum;
        Eps = eps;
        Declare("weight", _channels);
        Declare("bias", _channels);
        _runningMean = new T[_channels];
        _runningVar = new T[_channels];
        _invStd = new T[_channels];
        Initialize(Initialization.Torch, new Rng(0));
    }

    /// <summary>
    /// Weight of the newest batch in the running statistics (PyTorch's default 0.1); null for their cumulative average
    /// over the batches since <see cref="ResetRunningStats"/> (PyTorch's <c>momentum=None</c>).
    /// </summary>
    public double? Momentum
    {
        get => _momentum;
        set => _momentum = value is null or (>= 0 and <= 1) ? value : throw new ArgumentException($"Invalid batch-norm momentum {value}: must be in [0, 1], or null for a cumulative average.");
    }

    private double? _momentum;

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>The scale per channel.</summary>
    public Parameter<T> Weight => Parameter(0);

    /// <summary>The shift per channel.</summary>
    public Parameter<T> Bias => Parameter(1);

    /// <summary>The running mean per channel.</summary>
    public ReadOnlySpan<T> RunningMean => _runningMean;

    /// <summary>The running (unbiased) variance per channel.</summary>
    public ReadOnlySpan<T> RunningVar => _runningVar;

    /// <summary>Batches seen in training mode.</summary>
    public long BatchesTracked => long.CreateTruncating(_count[0]);

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, IReadOnlyList<int> Shape, Memory<T> Value)> OwnBuffers =>
        [("running_mean", [_channels], _runningMean), ("running_var", [_channels], _runningVar), ("num_batches_tracked", [], _count)];

    /// <summary>Weight 1, bias 0, running mean 0, running variance 1, no batches tracked, whatever the initialization (draws nothing).</summary>
    public override void Initialize(Initialization initialization, Rng rng)
    {
        Weight.Value.Span.Fill(T.One);
        Bias.Value.Span.Clear();
        ResetRunningStats();
    }

    /// <summary>Running mean 0, running variance 1, no batches tracked (PyTorch's <c>reset_running_stats()</c>).</summary>
    public void ResetRunningStats()
    {
        _runningMean.AsSpan().Clear();
        _runningVar.AsSpan().Fill(T.One);
        _count[0] = T.Zero;
    }

    /// <inheritdoc/>
    public override ReadOnlySpan<T> Forward(ReadOnlySpan<T> input, int batch)
    {
        CheckInput(input, batch);
        var y = Output(batch);
        var xhat = Grow(ref _normalized, y.Length);
        var gamma = Weight.Value.Span;
        var beta = Bias.Value.Span;
        int n = batch * _positions;
        if (Training && n < 2)
            throw new ArgumentException($"BatchNorm in training mode needs more than one value per channel, got {batch} example(s) of [{string.Join(", ", InputShape)}].");
        // PyTorch counts the batch before weighing it: a cumulative average gives it 1 / (batches so far + 1).
        T eps = T.CreateTruncating(Eps), count = T.CreateTruncating(n);
        T m = _momentum is { } momentum ? T.CreateTruncating(momentum) : T.One / (_count[0] + T.One);
        for (int c = 0; c < _channels; c++)
        {
            T mean, invStd;
            if (Training)
            {
                T sum = T.Zero;
                for (int b = 0; b < batch; b++) foreach (T v in Plane(input, b, c)) sum += v;
                mean = sum / count;
                T squares = T.Zero;
                for (int b = 0; b < batch; b++) foreach (T v in Plane(input, b, c)) squares += (v - mean) * (v - mean);
                T variance = squares / count;
                invStd = T.One / T.Sqrt(variance + eps);
                _runningMean[c] = (T.One - m) * _runningMean[c] + m * mean;
                _runningVar[c] = (T.One - m) * _runningVar[c] + m * squares / (count - T.One);
            }
            else
            {
                mean = _runningMean[c];
                invStd = T.One / T.Sqrt(_runningVar[c] + eps);
            }
            _invStd[c] = invStd;
            for (int b = 0; b < batch; b++)
            {
                var x = Plane(input, b, c);
                int at = (b * _channels + c) * _positions;
                for (int s = 0; s < _positions; s++)
                {
                    xhat[at + s] = (x[s] - mean) * invStd;
                    y[at + s] = xhat[at + s] * gamma[c] + beta[c];
                }
            }
        }
        if (Training) _count[0] += T.One;
        return y;
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> input, ReadOnlySpan<T> outputGradient, Span<T> inputGradient, int batch, bool accumulate = true)
    {
        var gamma = Weight.Value.Span;
        var dGamma = Weight.Grad.Span;
        var dBeta = Bias.Grad.Span;
        T count = T.CreateTruncating(batch * _positions);
        for (int c = 0; c < _channels; c++)
        {
            T sumDy = T.Zero, sumDyXhat = T.Zero;
            for (int b = 0; b < batch; b++)
            {
                int at = (b * _channels + c) * _positions;
                for (int s = 0; s < _positions; s++)
                {
                    sumDy += outputGradient[at + s];
                    sumDyXhat += outputGradient[at + s] * _normalized[at + s];
                }
            }
            dGamma[c] = accumulate ? dGamma[c] + sumDyXhat : sumDyXhat;
            dBeta[c] = accumulate ? dBeta[c] + sumDy : sumDy;
            if (inputGradient.IsEmpty) continue;
            // Training: the batch statistics depend on x, so
            // dx = weight invstd / n (n dy - sum dy - xhat sum(dy xhat)); evaluation: dx = weight invstd dy.
            T scale = gamma[c] * _invStd[c];
            for (int b = 0; b < batch; b++)
            {
                int at = (b * _channels + c) * _positions;
                for (int s = 0; s < _positions; s++)
                {
                    T dy = outputGradient[at + s];
                    inputGradient[at + s] = Training
                        ? scale / count * (count * dy - sumDy - _normalized[at + s] * sumDyXhat)
                        : scale * dy;
                }
            }
        }
    }

    /// <summary>
    /// In evaluation mode the normalization is a fixed affine map per channel, <c>y = gamma xhat + beta</c> with
    /// <c>xhat = (x - running_mean) invstd</c>, so <c>R{y} = gamma invstd R{x} + v_gamma xhat + v_beta</c>.
    /// </summary>
    public override ReadOnlySpan<T> RForward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> direction, int batch)
    {
        if (Training)
            throw new InvalidOperationException("BatchNorm: Hessian-vector products need evaluation mode (set Training = false on the model), where the running statistics normalize.");
        var ry = ROutput(batch);
        var gamma = Weight.Value.Span;
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < _channels; c++)
                for (int s = 0, at = (b * _channels + c) * _positions; s < _positions; s++, at++)
                    ry[at] = gamma[c] * _invStd[c] * rInput[at] + direction[c] * _normalized[at] + direction[_channels + c];
        return ry;
    }

    /// <summary>
    /// The evaluation-mode gradients <c>dgamma = sum dy xhat</c>, <c>dbeta = sum dy</c>, <c>dx = gamma invstd dy</c>
    /// differentiated: <c>R{dgamma} = sum (R{dy} xhat + dy invstd R{x})</c>, <c>R{dbeta} = sum R{dy}</c>,
    /// <c>R{dx} = invstd (gamma R{dy} + v_gamma dy)</c>.
    /// </summary>
    public override void RBackward(ReadOnlySpan<T> input, ReadOnlySpan<T> rInput, ReadOnlySpan<T> outputGradient, ReadOnlySpan<T> rOutputGradient,
        ReadOnlySpan<T> direction, Span<T> rInputGradient, Span<T> rGradient, int batch)
    {
        var gamma = Weight.Value.Span;
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < _channels; c++)
                for (int s = 0, at = (b * _channels + c) * _positions; s < _positions; s++, at++)
                {
                    T dy = outputGradient[at], rdy = rOutputGradient[at];
                    rGradient[c] += rdy * _normalized[at] + dy * _invStd[c] * rInput[at];
                    rGradient[_channels + c] += rdy;
                    if (!rInputGradient.IsEmpty) rInputGradient[at] = _invStd[c] * (gamma[c] * rdy + direction[c] * dy);
                }
    }

    private ReadOnlySpan<T> Plane(ReadOnlySpan<T> input, int b, int c) => input.Slice((b * _channels + c) * _positions, _positions);
}
