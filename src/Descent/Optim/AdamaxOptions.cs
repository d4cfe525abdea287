namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adamax{T}"/>, with PyTorch's defaults.</summary>
public sealed class AdamaxOptions : AdamFamilyOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common("L2 penalty: adds weight_decay * p to the gradient"),
        Beta1Entry,
        Beta2Entry,
        EpsEntry,
    ];

    /// <summary>Creates Adamax options with lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8.</summary>
    public AdamaxOptions() => LearningRate = 2e-3;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    /// <inheritdoc/>
    protected override string OptimizerName => "adamax";
}
