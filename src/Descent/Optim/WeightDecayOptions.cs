namespace Descent.Optim;

/// <summary>
/// Hyperparameters of the optimizers with weight decay, in either of its two forms: an L2 gradient term
/// <c>g += weight_decay * p</c> (PyTorch's <c>weight_decay</c> for most optimizers) or decoupled shrinking
/// <c>p *= 1 - lr * weight_decay</c> before the update (AdamW, Lion; Keras 3 applies it to every optimizer).
/// One piece of every rule applies it (<see cref="Decay{T}"/>).
/// </summary>
public abstract class WeightDecayOptions : OptimizerOptions
{
    /// <summary>Weight decay <c>weight_decay</c>: an L2 gradient term, or a decoupled decay with <see cref="DecoupledWeightDecay"/>.</summary>
    public double WeightDecay { get; set; }

    /// <summary>
    /// Decoupled weight decay (Loshchilov and Hutter 2019): shrink the parameter,
    /// <c>p = p * (1 - lr * weight_decay)</c>, before the update, instead of adding
    /// <c>weight_decay * p</c> to the gradient. On by default for AdamW and Lion.
    /// </summary>
    public bool DecoupledWeightDecay { get; set; }

    /// <summary>
    /// With decoupled decay, shrink by <c>p = p * (1 - weight_decay)</c>, not multiplied by the learning
    /// rate (the paper's form with a unit schedule multiplier; schedule <c>weight_decay</c> to follow the
    /// learning rate's schedule).
    /// </summary>
    public bool IndependentWeightDecay { get; set; }

    /// <summary>The weight-decay hyperparameters: <c>weight_decay</c>, <c>decoupled_weight_decay</c>, <c>independent_weight_decay</c>.</summary>
    protected static IEnumerable<Hyperparameter> Decay() =>
    [
        Hyperparameter.Real<WeightDecayOptions>("weight_decay", Interval.NonNegative,
            "weight decay: an L2 gradient term g += weight_decay * p, or decoupled shrinking with decoupled_weight_decay",
            o => o.WeightDecay, (o, v) => o.WeightDecay = v),
        Hyperparameter.Flag<WeightDecayOptions>("decoupled_weight_decay",
            "shrink p by (1 - lr*weight_decay) before the update instead of adding an L2 gradient term",
            o => o.DecoupledWeightDecay, (o, v) => o.DecoupledWeightDecay = v),
        Hyperparameter.Flag<WeightDecayOptions>("independent_weight_decay",
            "decoupled decay not multiplied by lr: p *= (1 - weight_decay)",
            o => o.IndependentWeightDecay, (o, v) => o.IndependentWeightDecay = v),
    ];

    /// <summary>Weight decay as an L2 gradient term: <c>weight_decay</c> unless decay is decoupled, then 0.</summary>
    internal double L2 => DecoupledWeightDecay ? 0 : WeightDecay;

    /// <summary>The factor the parameter is multiplied by before a decoupled update (1 when decay is coupled or zero).</summary>
    internal double DecoupledFactor => !DecoupledWeightDecay || WeightDecay == 0 ? 1
        : 1 - (IndependentWeightDecay ? WeightDecay : LearningRate * WeightDecay);

    /// <inheritdoc/>
    protected override void CheckCombination()
    {
        if (IndependentWeightDecay && !DecoupledWeightDecay)
            throw new ArgumentException("Invalid independent_weight_decay: it applies to decoupled weight decay only; also set decoupled_weight_decay.");
    }
}
