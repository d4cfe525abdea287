using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Lars{T}"/>, with optax's defaults (<c>optax.lars</c>).</summary>
public sealed class LarsOptions : OptimizerOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        Hyperparameter.Real<LarsOptions>("weight_decay", Interval.NonNegative, "weight_decay * p added to the gradient before the trust ratio", o => o.WeightDecay, (o, v) => o.WeightDecay = v),
        Hyperparameter.Real<LarsOptions>("trust_coefficient", Interval.Positive, "multiplier of the trust ratio ||p|| / (||u|| + eps)", o => o.TrustCoefficient, (o, v) => o.TrustCoefficient = v),
        Hyperparameter.Real<LarsOptions>("eps", Interval.NonNegative, "term added to the update's norm in the trust ratio", o => o.Eps, (o, v) => o.Eps = v),
        Hyperparameter.Real<LarsOptions>("momentum", Interval.UnitHalfOpen, "momentum factor", o => o.Momentum, (o, v) => o.Momentum = v),
        Hyperparameter.Flag<LarsOptions>("nesterov", "Nesterov momentum", o => o.Nesterov, (o, v) => o.Nesterov = v),
    ];

    /// <summary>Creates LARS options with lr = 1, trust_coefficient = 1e-3, eps = 0, momentum = 0.9, no weight decay.</summary>
    public LarsOptions() => LearningRate = 1.0;

    /// <summary>Weight decay <c>weight_decay</c>: <c>weight_decay * p</c> joins the gradient, and so passes through the trust ratio.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Multiplier of the trust ratio, <c>trust_coefficient</c> (the paper's eta).</summary>
    public double TrustCoefficient { get; set; } = 1e-3;

    /// <summary>Term added to the update's norm in the trust ratio, <c>eps</c>.</summary>
    public double Eps { get; set; }

    /// <summary>Momentum factor <c>momentum</c> of the trace of scaled steps.</summary>
    public double Momentum { get; set; } = 0.9;

    /// <summary>Nesterov momentum <c>nesterov</c>.</summary>
    public bool Nesterov { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Lars<T>(parameters, this);
}
