using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Sgd{T}"/>, with PyTorch's defaults.</summary>
public sealed class SgdOptions : WeightDecayOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        Hyperparameter.Real<SgdOptions>("momentum", Interval.NonNegative, "momentum factor", o => o.Momentum, (o, v) => o.Momentum = v),
        Hyperparameter.Real<SgdOptions>("dampening", Interval.UnitClosed, "dampening of the gradient added to the momentum buffer", o => o.Dampening, (o, v) => o.Dampening = v),
        Hyperparameter.Flag<SgdOptions>("nesterov", "Nesterov momentum", o => o.Nesterov, (o, v) => o.Nesterov = v),
    ];

    /// <summary>Creates SGD options with lr = 1e-3 and no momentum.</summary>
    public SgdOptions() => LearningRate = 1e-3;

    /// <summary>Momentum factor <c>momentum</c> (0 = plain gradient descent).</summary>
    public double Momentum { get; set; }

    /// <summary>
    /// Dampening <c>dampening</c>: the buffer accumulates <c>(1 - dampening) * g</c>. With
    /// <c>dampening = momentum = b</c> the buffer is the exponential moving average <c>v = b v + (1 - b) g</c>.
    /// </summary>
    public double Dampening { get; set; }

    /// <summary>Nesterov momentum <c>nesterov</c>: step along <c>g + momentum * buf</c>.</summary>
    public bool Nesterov { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Sgd<T>(parameters, this);

    /// <inheritdoc/>
    protected override void CheckCombination()
    {
        base.CheckCombination();
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new ArgumentException($"Invalid nesterov: Nesterov momentum requires momentum > 0 and dampening = 0 (got momentum {Momentum}, dampening {Dampening}).");
    }
}
