namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Lion{T}"/>, with the paper's defaults.</summary>
public sealed class LionOptions : AdamFamilyOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common("decoupled weight decay: p *= (1 - lr * weight_decay) before the update"),
        Beta1Entry,
        Beta2Entry,
        IndependentEntry,
    ];

    /// <summary>Creates Lion options with lr = 1e-4, betas = (0.9, 0.99), no weight decay.</summary>
    public LionOptions()
    {
        LearningRate = 1e-4;
        Beta2 = 0.99;
        DecoupledWeightDecay = true;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    /// <inheritdoc/>
    protected override string OptimizerName => "lion";
}
