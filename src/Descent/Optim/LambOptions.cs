using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Lamb{T}"/>, with optax's defaults (<c>optax.lamb</c>).</summary>
public sealed class LambOptions : OptimizerOptions, IBetas
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        Hyperparameter.Real<LambOptions>("eps", Interval.NonNegative, "term added to the denominator", o => o.Eps, (o, v) => o.Eps = v),
        Hyperparameter.Real<LambOptions>("eps_root", Interval.NonNegative, "term added inside the square root", o => o.EpsRoot, (o, v) => o.EpsRoot = v),
        Hyperparameter.Real<LambOptions>("weight_decay", Interval.NonNegative, "weight_decay * p added to the Adam direction before the trust ratio", o => o.WeightDecay, (o, v) => o.WeightDecay = v),
    ];

    /// <summary>Creates LAMB options with lr = 1e-3, betas = (0.9, 0.999), eps = 1e-6, eps_root = 0, no weight decay.</summary>
    public LambOptions() => LearningRate = 1e-3;

    /// <inheritdoc/>
    public double Beta1 { get; set; } = 0.9;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>Term added to the denominator outside the square root, <c>eps</c>.</summary>
    public double Eps { get; set; } = 1e-6;

    /// <summary>Term added inside the square root, <c>eps_root</c>.</summary>
    public double EpsRoot { get; set; }

    /// <summary>Weight decay <c>weight_decay</c>: <c>weight_decay * p</c> joins the Adam direction, and so passes through the trust ratio.</summary>
    public double WeightDecay { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Lamb<T>(parameters, this);
}
