namespace Descent.Optim;

/// <summary>
/// Hyperparameters of the optimizers built on Adam's two moving averages (Adam, AdamW, NAdam, RAdam,
/// Adamax, Lion), with the weight-decay variants they share.
/// </summary>
public abstract class AdamFamilyOptions : AdaptiveOptions
{
    /// <summary>Decay rate of the first-moment (gradient) average, <c>betas[0]</c>.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Decay rate of the second-moment average, <c>betas[1]</c>.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>
    /// Decoupled weight decay (Loshchilov and Hutter 2019): shrink the parameter,
    /// <c>p = p * (1 - lr * weight_decay)</c>, before the update, instead of adding
    /// <c>weight_decay * p</c> to the gradient. On for AdamW and Lion.
    /// </summary>
    public bool DecoupledWeightDecay { get; set; }

    /// <summary>
    /// With decoupled decay, shrink by <c>p = p * (1 - weight_decay)</c>, not multiplied by the learning
    /// rate (the paper's form with a unit schedule multiplier; schedule <c>weight_decay</c> to follow the
    /// learning rate's schedule).
    /// </summary>
    public bool IndependentWeightDecay { get; set; }

    /// <summary>The <c>beta1</c> entry.</summary>
    protected static readonly Hyperparameter Beta1Entry = Hyperparameter.Real<AdamFamilyOptions>("beta1", Interval.UnitHalfOpen,
        "decay rate of the gradient average", o => o.Beta1, (o, v) => o.Beta1 = v);

    /// <summary>The <c>beta2</c> entry.</summary>
    protected static readonly Hyperparameter Beta2Entry = Hyperparameter.Real<AdamFamilyOptions>("beta2", Interval.UnitHalfOpen,
        "decay rate of the second-moment average", o => o.Beta2, (o, v) => o.Beta2 = v);

    /// <summary>The <c>decoupled_weight_decay</c> entry.</summary>
    protected static readonly Hyperparameter DecoupledEntry = Hyperparameter.Flag<AdamFamilyOptions>("decoupled_weight_decay",
        "shrink p by (1 - lr*weight_decay) instead of adding an L2 gradient", o => o.DecoupledWeightDecay, (o, v) => o.DecoupledWeightDecay = v);

    /// <summary>The <c>independent_weight_decay</c> entry.</summary>
    protected static readonly Hyperparameter IndependentEntry = Hyperparameter.Flag<AdamFamilyOptions>("independent_weight_decay",
        "decoupled decay not multiplied by lr: p *= (1 - weight_decay)", o => o.IndependentWeightDecay, (o, v) => o.IndependentWeightDecay = v);

    /// <summary>Weight decay as an L2 gradient term: <c>weight_decay</c> unless decay is decoupled, then 0.</summary>
    internal double L2 => DecoupledWeightDecay ? 0 : WeightDecay;

    /// <summary>The factor the parameter is multiplied by before a decoupled update (1 when decay is coupled or zero).</summary>
    internal double DecoupledFactor => !DecoupledWeightDecay || WeightDecay == 0 ? 1
        : 1 - (IndependentWeightDecay ? WeightDecay : LearningRate * WeightDecay);

    /// <inheritdoc/>
    protected override void CheckCombination()
    {
        if (IndependentWeightDecay && !DecoupledWeightDecay)
            throw new ArgumentException("Invalid independent_weight_decay: it applies to decoupled weight decay only; also set decoupled_weight_decay (or use adamw).");
    }
}
