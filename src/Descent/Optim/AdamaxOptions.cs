using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adamax{T}"/>, with PyTorch's defaults.</summary>
public sealed class AdamaxOptions : EpsilonOptions, IBetas
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        EpsEntry,
    ];

    /// <summary>Creates Adamax options with lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8.</summary>
    public AdamaxOptions() => LearningRate = 2e-3;

    /// <inheritdoc/>
    public double Beta1 { get; set; } = 0.9;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.999;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Adamax<T>(parameters, this);
}
