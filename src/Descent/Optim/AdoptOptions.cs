using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adopt{T}"/>, with optax's defaults (<c>optax.contrib.adopt</c>).</summary>
public sealed class AdoptOptions : WeightDecayOptions, IBetas
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        Hyperparameter.Real<AdoptOptions>("eps", Interval.NonNegative, "smallest denominator: g / max(sqrt(v), eps)", o => o.Eps, (o, v) => o.Eps = v),
        Hyperparameter.Flag<AdoptOptions>("nesterov", "Nesterov momentum", o => o.Nesterov, (o, v) => o.Nesterov = v),
        Hyperparameter.Flag<AdoptOptions>("use_clipping", "clip the normalized gradient to [-t^0.25, t^0.25] (t the update from 0)", o => o.UseClipping, (o, v) => o.UseClipping = v),
    ];

    /// <summary>Creates ADOPT options with lr = 1e-3, betas = (0.9, 0.9999), eps = 1e-6, clipping on.</summary>
    public AdoptOptions() => LearningRate = 1e-3;

    /// <inheritdoc/>
    public double Beta1 { get; set; } = 0.9;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.9999;

    /// <summary>The smallest denominator <c>eps</c>: the gradient is divided by <c>max(sqrt(v), eps)</c>.</summary>
    public double Eps { get; set; } = 1e-6;

    /// <summary>Nesterov momentum <c>nesterov</c>: step along <c>beta1 m + (1 - beta1) n</c> instead of <c>m</c>.</summary>
    public bool Nesterov { get; set; }

    /// <summary>Clip the normalized gradient to <c>[-t^0.25, t^0.25]</c> at update <c>t</c> (from 0), <c>use_clipping</c> (on, as optax).</summary>
    public bool UseClipping { get; set; } = true;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Adopt<T>(parameters, this);
}
