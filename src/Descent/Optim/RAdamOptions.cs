namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="RAdam{T}"/>, with PyTorch's defaults.</summary>
public sealed class RAdamOptions : AdamFamilyOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common("weight decay: an L2 gradient term, or decoupled shrinking with decoupled_weight_decay"),
        Beta1Entry,
        Beta2Entry,
        EpsEntry,
        DecoupledEntry,
        IndependentEntry,
    ];

    /// <summary>Creates RAdam options with lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8.</summary>
    public RAdamOptions() => LearningRate = 1e-3;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    /// <inheritdoc/>
    protected override string OptimizerName => "radam";
}
