using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="RmsProp{T}"/>, with PyTorch's defaults.</summary>
public sealed class RmsPropOptions : AdaptiveOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        Hyperparameter.Real<RmsPropOptions>("alpha", Interval.UnitClosed, "decay rate of the squared-gradient average", o => o.Alpha, (o, v) => o.Alpha = v),
        EpsEntry,
        Hyperparameter.Real<RmsPropOptions>("momentum", Interval.NonNegative, "momentum factor", o => o.Momentum, (o, v) => o.Momentum = v),
        Hyperparameter.Flag<RmsPropOptions>("centered", "divide by the estimated standard deviation instead of the RMS", o => o.Centered, (o, v) => o.Centered = v),
        EpsInsideSqrtEntry,
        Hyperparameter.Real<RmsPropOptions>("initial_square_avg", Interval.NonNegative, "starting value of the squared-gradient average (optax's initial_scale; 1 in TensorFlow 1 and Lua torch)",
            o => o.InitialSquareAvg, (o, v) => o.InitialSquareAvg = v),
    ];

    /// <summary>Creates RMSProp options with lr = 1e-2, alpha = 0.99, eps = 1e-8.</summary>
    public RmsPropOptions() => LearningRate = 1e-2;

    /// <summary>Smoothing constant <c>alpha</c> of the squared-gradient average.</summary>
    public double Alpha { get; set; } = 0.99;

    /// <summary>Momentum factor <c>momentum</c>.</summary>
    public double Momentum { get; set; }

    /// <summary>Starting value <c>initial_square_avg</c> of the squared-gradient average (PyTorch starts at 0; optax's <c>initial_scale</c>).</summary>
    public double InitialSquareAvg { get; set; }

    /// <summary>Centered RMSProp <c>centered</c>: subtract the squared mean gradient from the average of squares.</summary>
    public bool Centered { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new RmsProp<T>(parameters, this);
}
