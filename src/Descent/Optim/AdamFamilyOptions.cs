namespace Descent.Optim;

/// <summary>Hyperparameters of the optimizers built on Adam's two moving averages and its square-root denominator (Adam, AdamW, NAdam, RAdam).</summary>
public abstract class AdamFamilyOptions : AdaptiveOptions, IBetas
{
    /// <inheritdoc/>
    public double Beta1 { get; set; } = 0.9;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.999;
}
