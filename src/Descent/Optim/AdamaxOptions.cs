using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adamax{T}"/>, with PyTorch's defaults.</summary>
public sealed class AdamaxOptions : EpsilonOptions, IBetas
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        EpsEntry,
        Hyperparameter.Flag<AdamaxOptions>("eps_outside_max", "Keras's Adamax: u = max(b2 u, |g|) and divide by u + eps, instead of u = max(b2 u, |g| + eps)",
            o => o.EpsOutsideMax, (o, v) => o.EpsOutsideMax = v),
    ];

    /// <summary>Creates Adamax options with lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8.</summary>
    public AdamaxOptions() => LearningRate = 2e-3;

    /// <inheritdoc/>
    public double Beta1 { get; set; } = 0.9;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>
    /// Add <c>eps</c> to the divisor after the maximum, <c>u = max(beta2 * u, |g|)</c> and
    /// <c>p -= lr / (1 - beta1^t) * m / (u + eps)</c>, as Keras's <c>Adamax</c> does; PyTorch adds it inside the
    /// maximum, <c>u = max(beta2 * u, |g| + eps)</c>, so eps also enters the running norm.
    /// </summary>
    public bool EpsOutsideMax { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Adamax<T>(parameters, this);
}
