using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Lion{T}"/>, with the paper's defaults (weight decay decoupled).</summary>
public sealed class LionOptions : WeightDecayOptions, IBetas
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
    ];

    /// <summary>Creates Lion options with lr = 1e-4, betas = (0.9, 0.99), no weight decay (decoupled when set).</summary>
    public LionOptions()
    {
        LearningRate = 1e-4;
        DecoupledWeightDecay = true;
    }

    /// <inheritdoc/>
    public double Beta1 { get; set; } = 0.9;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.99;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Lion<T>(parameters, this);
}
