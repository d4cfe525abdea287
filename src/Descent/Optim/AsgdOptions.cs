using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Asgd{T}"/>, with PyTorch's defaults.</summary>
public sealed class AsgdOptions : WeightDecayOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        Hyperparameter.Real<AsgdOptions>("lambd", Interval.NonNegative, "decay term: p *= 1 - lambd * eta, and eta = lr / (1 + lambd * lr * t)^alpha", o => o.Lambd, (o, v) => o.Lambd = v),
        Hyperparameter.Real<AsgdOptions>("alpha", Interval.NonNegative, "power of the step-size decay eta = lr / (1 + lambd * lr * t)^alpha", o => o.Alpha, (o, v) => o.Alpha = v),
        Hyperparameter.Real<AsgdOptions>("t0", Interval.NonNegative, "step at which averaging starts (mu = 1 / max(1, t - t0))", o => o.T0, (o, v) => o.T0 = v),
    ];

    /// <summary>Creates ASGD options with lr = 1e-2, lambd = 1e-4, alpha = 0.75, t0 = 1e6.</summary>
    public AsgdOptions() => LearningRate = 1e-2;

    /// <summary>Decay term <c>lambd</c>.</summary>
    public double Lambd { get; set; } = 1e-4;

    /// <summary>Power <c>alpha</c> of the step-size decay.</summary>
    public double Alpha { get; set; } = 0.75;

    /// <summary>The step <c>t0</c> after which the average <c>ax</c> starts to lag the iterate.</summary>
    public double T0 { get; set; } = 1e6;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Asgd<T>(parameters, this);
}
