using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="ScheduleFreeSgd{T}"/>, with the reference's defaults.</summary>
public sealed class ScheduleFreeSgdOptions : ScheduleFreeOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        Hyperparameter.Real<ScheduleFreeSgdOptions>("momentum", OpenUnit, "interpolation y = (1 - momentum) z + momentum x", o => o.Momentum, (o, v) => o.Momentum = v),
        .. Averaging(),
    ];

    /// <summary>Creates schedule-free SGD options with lr = 1, momentum = 0.9, weight_lr_power = 2.</summary>
    public ScheduleFreeSgdOptions() => LearningRate = 1.0;

    /// <summary>Momentum <c>momentum</c>: where the gradient is evaluated, <c>y = (1 - momentum) z + momentum x</c>.</summary>
    public double Momentum { get; set; } = 0.9;

    internal override double Interpolation => Momentum;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new ScheduleFreeSgd<T>(parameters, this);
}
