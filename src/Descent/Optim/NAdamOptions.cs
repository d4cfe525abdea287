using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="NAdam{T}"/>, with PyTorch's defaults.</summary>
public sealed class NAdamOptions : AdamFamilyOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        EpsEntry,
        Hyperparameter.Real<NAdamOptions>("momentum_decay", Interval.NonNegative, "psi in mu_t = beta1 * (1 - 0.5 * 0.96^(t * psi))", o => o.MomentumDecay, (o, v) => o.MomentumDecay = v),
        Hyperparameter.Flag<NAdamOptions>("constant_momentum", "optax's NAdam: mu_t = beta1 at every step (no momentum schedule)", o => o.ConstantMomentum, (o, v) => o.ConstantMomentum = v),
        EpsInsideSqrtEntry,
    ];

    /// <summary>Creates NAdam options with lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8, momentum_decay = 4e-3.</summary>
    public NAdamOptions() => LearningRate = 2e-3;

    /// <summary>
    /// Momentum decay <c>momentum_decay</c> (psi): the momentum schedule is <c>mu_t = beta1 * (1 - 0.5 * 0.96^(t * psi))</c>.
    /// PyTorch's 0.004 is Dozat's (and Keras 2's <c>schedule_decay</c>); Keras 3's <c>Nadam</c> computes
    /// <c>beta_1 * (1 - 0.5 * 0.96^t)</c>, which is psi = 1, and is otherwise this rule.
    /// </summary>
    public double MomentumDecay { get; set; } = 4e-3;

    /// <summary>
    /// Use a constant momentum <c>mu_t = beta1</c> instead of Dozat's schedule: the NAdam of optax
    /// (<c>optax.nadam</c>), <c>m_hat = beta1 * m / (1 - beta1^(t+1)) + (1 - beta1) * g / (1 - beta1^t)</c>.
    /// </summary>
    public bool ConstantMomentum { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new NAdam<T>(parameters, this);
}
