using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adam{T}"/> and <see cref="AdamW{T}"/>, with PyTorch's defaults.</summary>
public class AdamOptions : AdamFamilyOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        EpsEntry,
        Hyperparameter.Flag<AdamOptions>("amsgrad", "AMSGrad: divide by the running maximum of the second moment", o => o.Amsgrad, (o, v) => o.Amsgrad = v),
        EpsInsideSqrtEntry,
        Hyperparameter.Flag<AdamOptions>("amsgrad_bias_corrected", "optax's AMSGrad: keep the maximum of the bias-corrected second moment v/(1-b2^t), not of v",
            o => o.AmsgradBiasCorrected, (o, v) => o.AmsgradBiasCorrected = v),
        Hyperparameter.Flag<AdamOptions>("eps_before_bias_correction", "Keras/TensorFlow's epsilon-hat: p -= lr sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)",
            o => o.EpsBeforeBiasCorrection, (o, v) => o.EpsBeforeBiasCorrection = v),
    ];

    /// <summary>Creates Adam options with lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, no weight decay.</summary>
    public AdamOptions() => LearningRate = 1e-3;

    /// <summary>AMSGrad (Reddi et al. 2018) <c>amsgrad</c>: normalize by the maximum second moment seen so far.</summary>
    public bool Amsgrad { get; set; }

    /// <summary>
    /// With <see cref="Amsgrad"/>, keep the running maximum of the bias-corrected second moment,
    /// <c>vmax = max(vmax, v / (1 - beta2^t))</c>, and divide by <c>sqrt(vmax) + eps</c>, as <c>optax.amsgrad</c>
    /// does; PyTorch keeps the maximum of <c>v</c> itself and corrects it afterwards. The two differ once the
    /// corrected average falls (the correction shrinks as <c>t</c> grows).
    /// </summary>
    public bool AmsgradBiasCorrected { get; set; }

    /// <summary>
    /// Add <c>eps</c> to the square root of the uncorrected second moment and fold both bias corrections into
    /// the step, <c>p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)</c>: the "epsilon hat" of
    /// Kingma and Ba's section 2, as Keras, TensorFlow and Lua torch compute Adam.
    /// </summary>
    public bool EpsBeforeBiasCorrection { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    /// <inheritdoc/>
    protected override void CheckCombination()
    {
        base.CheckCombination();
        if (EpsBeforeBiasCorrection && EpsInsideSqrt)
            throw new ArgumentException("Invalid eps_before_bias_correction: it places eps outside the square root; turn off eps_inside_sqrt.");
        if (AmsgradBiasCorrected && !Amsgrad)
            throw new ArgumentException("Invalid amsgrad_bias_corrected: it changes AMSGrad's maximum only; also set amsgrad.");
        if (AmsgradBiasCorrected && EpsBeforeBiasCorrection)
            throw new ArgumentException("Invalid amsgrad_bias_corrected: the maximum of corrected values leaves no correction to put after eps; turn off eps_before_bias_correction.");
    }

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Adam<T>(parameters, this);
}
