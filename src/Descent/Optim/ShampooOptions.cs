using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Hyperparameters of <see cref="Shampoo{T}"/>, with the defaults of facebookresearch/optimizers' <c>DistributedShampoo</c>
/// and, for grafting, of its <c>AdamPreconditionerConfig</c> (the constructor's own default is no grafting: turn
/// <c>grafting</c> off for it).
/// </summary>
public sealed class ShampooOptions : OptimizerOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        Hyperparameter.Real<ShampooOptions>("beta1", Interval.UnitHalfOpen, "decay of the gradient's moving average (0: none)", o => o.Beta1, (o, v) => o.Beta1 = v),
        Hyperparameter.Real<ShampooOptions>("beta2", Interval.UnitClosed, "decay of the Kronecker factors (1: AdaGrad's sum)", o => o.Beta2, (o, v) => o.Beta2 = v),
        Hyperparameter.Real<ShampooOptions>("beta3", new Interval(-1, true, 1, false),
            "weight of the current gradient's average in the update (-1: beta1, the reference's default)", o => o.Beta3, (o, v) => o.Beta3 = v),
        Hyperparameter.Real<ShampooOptions>("epsilon", Interval.Positive, "added to the factors' eigenvalues before the inverse root",
            o => o.Epsilon, (o, v) => o.Epsilon = v),
        Hyperparameter.Real<ShampooOptions>("weight_decay", Interval.NonNegative, "weight decay: decoupled (p -= lr wd p) or an L2 gradient term",
            o => o.WeightDecay, (o, v) => o.WeightDecay = v),
        Hyperparameter.Flag<ShampooOptions>("decoupled_weight_decay", "AdamW-style decoupled weight decay (WeightDecayType.DECOUPLED, the reference's default); off: L2",
            o => o.DecoupledWeightDecay, (o, v) => o.DecoupledWeightDecay = v),
        Hyperparameter.Count<ShampooOptions>("max_preconditioner_dim", new Interval(1, true, double.PositiveInfinity, false),
            "largest factor dimension: small dimensions are merged up to it, larger ones split into blocks of it",
            o => o.MaxPreconditionerDim, (o, v) => o.MaxPreconditionerDim = v),
        Hyperparameter.Count<ShampooOptions>("precondition_frequency", new Interval(1, true, double.PositiveInfinity, false),
            "steps between recomputations of the inverse roots", o => o.PreconditionFrequency, (o, v) => o.PreconditionFrequency = v),
        Hyperparameter.Count<ShampooOptions>("start_preconditioning_step", new Interval(-1, true, double.PositiveInfinity, false),
            "first step that uses Shampoo's direction (before it, the grafting direction); -1: precondition_frequency",
            o => o.StartPreconditioningStep, (o, v) => o.StartPreconditioningStep = v),
        Hyperparameter.Flag<ShampooOptions>("use_bias_correction", "bias corrections of the gradient average and the factors",
            o => o.UseBiasCorrection, (o, v) => o.UseBiasCorrection = v),
        Hyperparameter.Flag<ShampooOptions>("grafting", "take each block's step length from Adam (AdaGrad with grafting_beta2 1)",
            o => o.Grafting, (o, v) => o.Grafting = v),
        Hyperparameter.Real<ShampooOptions>("grafting_beta2", new Interval(0, false, 1, true), "decay of the grafting's second moment (1: AdaGrad grafting)",
            o => o.GraftingBeta2, (o, v) => o.GraftingBeta2 = v),
        Hyperparameter.Real<ShampooOptions>("grafting_epsilon", Interval.Positive, "term added to the grafting's denominator",
            o => o.GraftingEpsilon, (o, v) => o.GraftingEpsilon = v),
    ];

    /// <summary>
    /// Creates Shampoo options with lr = 1e-2, betas = (0.9, 1.0), beta3 = beta1, epsilon = 1e-12, decoupled weight decay 0,
    /// max_preconditioner_dim = 1024, precondition_frequency = 1, preconditioning from that step, bias correction, and
    /// Adam grafting with beta2 = 0.999 and epsilon = 1e-10.
    /// </summary>
    public ShampooOptions() => LearningRate = 1e-2;

    /// <summary>Decay <c>betas[0]</c> of the gradient's moving average (the filtered gradient).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Decay <c>betas[1]</c> of the Kronecker factors; 1 sums the outer products (AdaGrad-style).</summary>
    public double Beta2 { get; set; } = 1.0;

    /// <summary>
    /// <c>beta3</c>: the update uses <c>lerp(F, g, 1 - beta3)</c> of the old average <c>F</c> and the gradient; -1, the
    /// default, stands for <c>beta1</c> (the updated average itself).
    /// </summary>
    public double Beta3 { get; set; } = -1;

    /// <summary><c>epsilon</c>, added to every factor's eigenvalues (after lifting a negative smallest one to zero) before the inverse root.</summary>
    public double Epsilon { get; set; } = 1e-12;

    /// <summary>Weight decay <c>weight_decay</c>.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Decoupled weight decay (on, the reference's <c>WeightDecayType.DECOUPLED</c>): <c>p -= lr (P + wd p)</c>; off, <c>L2</c>: <c>g += wd p</c>.</summary>
    public bool DecoupledWeightDecay { get; set; } = true;

    /// <summary><c>max_preconditioner_dim</c>: dimensions are merged while their product stays within it and split into blocks of it.</summary>
    public double MaxPreconditionerDim { get; set; } = 1024;

    /// <summary><c>precondition_frequency</c>: the inverse roots are recomputed every this many steps.</summary>
    public double PreconditionFrequency { get; set; } = 1;

    /// <summary><c>start_preconditioning_step</c>: before it, the update is the grafting direction; -1 stands for <c>precondition_frequency</c>.</summary>
    public double StartPreconditioningStep { get; set; } = -1;

    /// <summary><c>use_bias_correction</c>: the gradient average is divided by <c>1 - beta3 beta1^(t-1)</c> and the factors by <c>1 - beta2^t</c>.</summary>
    public bool UseBiasCorrection { get; set; } = true;

    /// <summary>
    /// Grafting (on: the reference's <c>grafting_config=AdamPreconditionerConfig()</c>): each block's Shampoo direction is
    /// rescaled to the norm of Adam's (AdaGrad's with <c>grafting_beta2</c> 1) direction. Off: <c>grafting_config=None</c>.
    /// </summary>
    public bool Grafting { get; set; } = true;

    /// <summary>The grafting's <c>beta2</c>: Adam's second moment with its bias correction; 1 is <c>AdaGradPreconditionerConfig</c> (a plain sum).</summary>
    public double GraftingBeta2 { get; set; } = 0.999;

    /// <summary>The grafting's <c>epsilon</c>, added to the square root of its second moment.</summary>
    public double GraftingEpsilon { get; set; } = 1e-10;

    /// <summary>The first step that uses Shampoo's direction.</summary>
    internal long Start => StartPreconditioningStep == -1 ? (long)PreconditionFrequency : (long)StartPreconditioningStep;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Shampoo<T>(parameters, this);

    /// <inheritdoc/>
    protected override void CheckCombination()
    {
        if (Beta3 < 0 && Beta3 != -1)
            throw new ArgumentException($"Invalid beta3: {Beta3} (beta3 must be in [0, 1), or -1 for beta1).");
        if (StartPreconditioningStep != -1 && StartPreconditioningStep < PreconditionFrequency)
            throw new ArgumentException($"Invalid start_preconditioning_step: {StartPreconditioningStep} (it must be at least precondition_frequency {PreconditionFrequency}, or -1).");
    }
}
