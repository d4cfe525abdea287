using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adagrad{T}"/>, with PyTorch's defaults.</summary>
public sealed class AdagradOptions : AdaptiveOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        Hyperparameter.Real<AdagradOptions>("lr_decay", Interval.NonNegative, "learning-rate decay: lr / (1 + (t - 1) * lr_decay)", o => o.LearningRateDecay, (o, v) => o.LearningRateDecay = v),
        Hyperparameter.Real<AdagradOptions>("initial_accumulator_value", Interval.NonNegative, "starting value of the sum of squared gradients",
            o => o.InitialAccumulatorValue, (o, v) => o.InitialAccumulatorValue = v, flag: "initial-accumulator"),
        EpsEntry,
        EpsInsideSqrtEntry,
    ];

    /// <summary>Creates AdaGrad options with lr = 1e-2, eps = 1e-10.</summary>
    public AdagradOptions()
    {
        LearningRate = 1e-2;
        Eps = 1e-10;
    }

    /// <summary>Learning-rate decay <c>lr_decay</c>: the step size is <c>lr / (1 + (t - 1) * lr_decay)</c>.</summary>
    public double LearningRateDecay { get; set; }

    /// <summary>Starting value <c>initial_accumulator_value</c> of the accumulated squared gradients.</summary>
    public double InitialAccumulatorValue { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Adagrad<T>(parameters, this);
}
