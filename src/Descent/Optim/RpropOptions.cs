using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Rprop{T}"/>, with PyTorch's defaults (<c>etas = (etaminus, etaplus)</c>, <c>step_sizes = (step_size_min, step_size_max)</c>).</summary>
public sealed class RpropOptions : OptimizerOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        Hyperparameter.Real<RpropOptions>("etaminus", new Interval(0, false, 1, false), "factor that shrinks a step when the gradient changes sign", o => o.EtaMinus, (o, v) => o.EtaMinus = v),
        Hyperparameter.Real<RpropOptions>("etaplus", new Interval(1, false, double.PositiveInfinity, false), "factor that grows a step while the gradient keeps its sign", o => o.EtaPlus, (o, v) => o.EtaPlus = v),
        Hyperparameter.Real<RpropOptions>("step_size_min", Interval.NonNegative, "smallest step", o => o.StepSizeMin, (o, v) => o.StepSizeMin = v),
        Hyperparameter.Real<RpropOptions>("step_size_max", Interval.NonNegative, "largest step", o => o.StepSizeMax, (o, v) => o.StepSizeMax = v),
    ];

    /// <summary>Creates Rprop options with lr = 1e-2 (the first step), etas = (0.5, 1.2), step sizes in [1e-6, 50].</summary>
    public RpropOptions() => LearningRate = 1e-2;

    /// <summary>Multiplicative decrease <c>etaminus</c> (in (0, 1)).</summary>
    public double EtaMinus { get; set; } = 0.5;

    /// <summary>Multiplicative increase <c>etaplus</c> (above 1).</summary>
    public double EtaPlus { get; set; } = 1.2;

    /// <summary>Smallest step <c>step_size_min</c>.</summary>
    public double StepSizeMin { get; set; } = 1e-6;

    /// <summary>Largest step <c>step_size_max</c>.</summary>
    public double StepSizeMax { get; set; } = 50;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Rprop<T>(parameters, this);

    /// <inheritdoc/>
    protected override void CheckCombination()
    {
        if (StepSizeMin > StepSizeMax)
            throw new ArgumentException($"Invalid step_size_min: {StepSizeMin} is above step_size_max {StepSizeMax}.");
    }
}
