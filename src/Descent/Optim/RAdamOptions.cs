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
        Hyperparameter.Real<RAdamOptions>("threshold", new Interval(4, true, double.PositiveInfinity, false),
            "rectify once rho_t > threshold (optax's threshold; at least 4, where the rectification reaches 0)", o => o.Threshold, (o, v) => o.Threshold = v),
        Hyperparameter.Flag<RAdamOptions>("eps_after_bias_correction", "optax's RAdam: divide by sqrt(v/(1-b2^t)) + eps, not sqrt(1-b2^t)/(sqrt(v) + eps)",
            o => o.EpsAfterBiasCorrection, (o, v) => o.EpsAfterBiasCorrection = v),
    ];

    /// <summary>Creates RAdam options with lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, threshold = 5.</summary>
    public RAdamOptions() => LearningRate = 1e-3;

    /// <summary>
    /// The variance is tractable, and the step rectified, once <c>rho_t &gt; threshold</c> (<c>threshold</c>; PyTorch's 5).
    /// optax's <c>threshold</c> is the same setting with <c>&gt;=</c>, which differs only where <c>rho_t</c> equals it exactly.
    /// </summary>
    public double Threshold { get; set; } = 5;

    /// <summary>
    /// Add <c>eps</c> to the square root of the bias-corrected second moment, <c>m_hat / (sqrt(v / (1 - beta2^t)) + eps) * r</c>,
    /// as optax's <c>radam</c> (and PyTorch's Adam) does; PyTorch's RAdam adds it before the correction,
    /// <c>m_hat * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r</c>.
    /// </summary>
    public bool EpsAfterBiasCorrection { get; set; }

    /// <summary>Whether the second moment is bias-corrected before eps is added (optax's placement, or eps inside the root).</summary>
    internal bool CorrectsBeforeEps => EpsAfterBiasCorrection || EpsInsideSqrt;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    /// <inheritdoc/>
    protected override void CheckCombination()
    {
        base.CheckCombination();
        if (EpsAfterBiasCorrection && EpsInsideSqrt)
            throw new ArgumentException("Invalid eps_after_bias_correction: eps_inside_sqrt already adds eps after the correction, inside the root; turn one off.");
    }

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new RAdam<T>(parameters, this);
}
