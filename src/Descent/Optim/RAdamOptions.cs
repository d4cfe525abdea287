using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="RAdam{T}"/>, with PyTorch's defaults.</summary>
public sealed class RAdamOptions : AdamFamilyOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        EpsEntry,
        EpsInsideSqrtEntry,
    ];

    /// <summary>Creates RAdam options with lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8.</summary>
    public RAdamOptions() => LearningRate = 1e-3;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new RAdam<T>(parameters, this);
}
