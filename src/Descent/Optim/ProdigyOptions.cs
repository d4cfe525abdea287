using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Prodigy{T}"/>, with the defaults of konstmish/prodigy.</summary>
public sealed class ProdigyOptions : OptimizerOptions, IBetas
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        Hyperparameter.Real<ProdigyOptions>("beta3", Interval.UnitHalfOpen, "decay of the D estimate's averages (0: sqrt(beta2), the reference's None)", o => o.Beta3, (o, v) => o.Beta3 = v),
        Hyperparameter.Real<ProdigyOptions>("eps", Interval.Positive, "term added to the denominator, times D", o => o.Eps, (o, v) => o.Eps = v),
        Hyperparameter.Real<ProdigyOptions>("weight_decay", Interval.NonNegative, "weight decay: p -= weight_decay d lr p (decoupled) or an L2 gradient term", o => o.WeightDecay, (o, v) => o.WeightDecay = v),
        Hyperparameter.Flag<ProdigyOptions>("decouple", "AdamW-style decoupled weight decay (on, as the reference)", o => o.Decouple, (o, v) => o.Decouple = v),
        Hyperparameter.Flag<ProdigyOptions>("use_bias_correction", "Adam's bias correction in the step size", o => o.UseBiasCorrection, (o, v) => o.UseBiasCorrection = v),
        Hyperparameter.Flag<ProdigyOptions>("safeguard_warmup", "leave lr out of the D estimate's denominator", o => o.SafeguardWarmup, (o, v) => o.SafeguardWarmup = v),
        Hyperparameter.Real<ProdigyOptions>("d0", Interval.Positive, "initial estimate of D, the distance to the solution", o => o.D0, (o, v) => o.D0 = v),
        Hyperparameter.Real<ProdigyOptions>("d_coef", Interval.Positive, "multiplier of the D estimate", o => o.DCoef, (o, v) => o.DCoef = v),
        Hyperparameter.Real<ProdigyOptions>("growth_rate", Interval.NonNegative, "largest growth of D per step (0: unrestricted, the reference's inf)", o => o.GrowthRate, (o, v) => o.GrowthRate = v),
    ];

    /// <summary>Creates Prodigy options with lr = 1, betas = (0.9, 0.999), beta3 = sqrt(beta2), eps = 1e-8, d0 = 1e-6, d_coef = 1.</summary>
    public ProdigyOptions() => LearningRate = 1.0;

    /// <inheritdoc/>
    public double Beta1 { get; set; } = 0.9;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>Decay <c>beta3</c> of the D estimate's numerator and of <c>s</c>; 0 stands for the reference's None, <c>sqrt(beta2)</c>.</summary>
    public double Beta3 { get; set; }

    /// <summary>Term <c>eps</c> added to the denominator, scaled by D.</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>Weight decay <c>weight_decay</c>.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Decoupled weight decay <c>decouple</c> (on): <c>p -= weight_decay d lr p</c>; off: an L2 gradient term.</summary>
    public bool Decouple { get; set; } = true;

    /// <summary>Adam's bias correction in the step size, <c>use_bias_correction</c>.</summary>
    public bool UseBiasCorrection { get; set; }

    /// <summary>Leave the learning rate out of the D estimate's denominator, <c>safeguard_warmup</c> (for warmup schedules).</summary>
    public bool SafeguardWarmup { get; set; }

    /// <summary>Initial D estimate <c>d0</c>.</summary>
    public double D0 { get; set; } = 1e-6;

    /// <summary>Multiplier <c>d_coef</c> of the D estimate, the method's knob.</summary>
    public double DCoef { get; set; } = 1.0;

    /// <summary>Largest growth of D per step, <c>growth_rate</c>; 0 stands for the reference's unrestricted inf.</summary>
    public double GrowthRate { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Prodigy<T>(parameters, this);

    /// <inheritdoc/>
    protected override void CheckCombination()
    {
        if (GrowthRate != 0 && GrowthRate < 1)
            throw new ArgumentException($"Invalid growth_rate: {GrowthRate} (growth_rate must be at least 1, or 0 for unrestricted).");
    }
}
