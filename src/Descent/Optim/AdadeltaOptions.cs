using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adadelta{T}"/>, with PyTorch's defaults.</summary>
public sealed class AdadeltaOptions : EpsilonOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        Hyperparameter.Real<AdadeltaOptions>("rho", Interval.UnitClosed, "decay rate of the squared-gradient and squared-update averages", o => o.Rho, (o, v) => o.Rho = v),
        EpsEntry,
    ];

    /// <summary>Creates Adadelta options with lr = 1, rho = 0.9, eps = 1e-6.</summary>
    public AdadeltaOptions()
    {
        LearningRate = 1;
        Eps = 1e-6;
    }

    /// <summary>Decay rate <c>rho</c> of both running averages.</summary>
    public double Rho { get; set; } = 0.9;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Adadelta<T>(parameters, this);
}
