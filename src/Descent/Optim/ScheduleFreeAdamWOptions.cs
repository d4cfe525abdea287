using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="ScheduleFreeAdamW{T}"/>, with the reference's defaults.</summary>
public sealed class ScheduleFreeAdamWOptions : ScheduleFreeOptions, IBetas
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        Hyperparameter.Real<ScheduleFreeAdamWOptions>("beta1", OpenUnit, "interpolation y = (1 - beta1) z + beta1 x", o => o.Beta1, (o, v) => o.Beta1 = v),
        IBetas.Beta2Entry,
        Hyperparameter.Real<ScheduleFreeAdamWOptions>("eps", Interval.NonNegative, "term added to the denominator", o => o.Eps, (o, v) => o.Eps = v),
        Hyperparameter.Real<ScheduleFreeAdamWOptions>("inner_momentum", Interval.UnitHalfOpen,
            "moving average of the gradient inside the Adam step (0: none)", o => o.InnerMomentum, (o, v) => o.InnerMomentum = v),
        .. Averaging(),
    ];

    /// <summary>Creates schedule-free AdamW options with lr = 0.0025, betas = (0.9, 0.999), eps = 1e-8, weight_lr_power = 2.</summary>
    public ScheduleFreeAdamWOptions() => LearningRate = 0.0025;

    /// <summary>The interpolation <c>y = (1 - beta1) z + beta1 x</c> (<c>betas[0]</c>); there is no first moment unless <see cref="InnerMomentum"/> is set.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>Term added to the denominator <c>sqrt(v / (1 - beta2^t)) + eps</c>.</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>An exponential average of the gradient (bias-corrected) in place of the gradient, <c>inner_momentum</c> (0: none, the default).</summary>
    public double InnerMomentum { get; set; }

    internal override double Interpolation => Beta1;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new ScheduleFreeAdamW<T>(parameters, this);
}
