using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adafactor{T}"/>, with PyTorch's defaults (<c>torch.optim.Adafactor</c>, PyTorch 2.5+).</summary>
public sealed class AdafactorOptions : OptimizerOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        Hyperparameter.Real<AdafactorOptions>("beta2_decay", new Interval(double.NegativeInfinity, false, 0, true),
            "exponent of the second-moment weight 1 - beta2_t = t^beta2_decay", o => o.Beta2Decay, (o, v) => o.Beta2Decay = v),
        Hyperparameter.Real<AdafactorOptions>("eps1", Interval.NonNegative,
            "floor of the second-moment estimate's square root (0: the parameter type's machine epsilon, torch's None)", o => o.Eps1, (o, v) => o.Eps1 = v),
        Hyperparameter.Real<AdafactorOptions>("eps2", Interval.NonNegative,
            "floor of the parameter's RMS in the relative step size", o => o.Eps2, (o, v) => o.Eps2 = v),
        Hyperparameter.Real<AdafactorOptions>("d", new Interval(1, true, double.PositiveInfinity, false),
            "clipping threshold on the update's RMS", o => o.D, (o, v) => o.D = v),
        Hyperparameter.Real<AdafactorOptions>("weight_decay", Interval.NonNegative,
            "decoupled weight decay p *= 1 - lr*weight_decay", o => o.WeightDecay, (o, v) => o.WeightDecay = v),
    ];

    /// <summary>Creates Adafactor options with lr = 1e-2, beta2_decay = -0.8, eps = (None, 1e-3), d = 1, no weight decay.</summary>
    public AdafactorOptions() => LearningRate = 1e-2;

    /// <summary>Decay exponent <c>beta2_decay</c>: the second moments move towards the new squared gradient by <c>t^beta2_decay</c>.</summary>
    public double Beta2Decay { get; set; } = -0.8;

    /// <summary>
    /// <c>eps[0]</c>: the floor of the second-moment estimate (its square under the square root) and of the row
    /// factor's mean. 0, the default, is PyTorch's <c>None</c>: the machine epsilon of the parameter type
    /// (2.2e-16 for <see cref="double"/>, 1.2e-7 for <see cref="float"/>).
    /// </summary>
    public double Eps1 { get; set; }

    /// <summary><c>eps[1]</c>: the floor of the parameter's RMS that scales the relative step size.</summary>
    public double Eps2 { get; set; } = 1e-3;

    /// <summary>Clipping threshold <c>d</c>: the update is divided by <c>max(1, RMS(update) / d)</c>.</summary>
    public double D { get; set; } = 1;

    /// <summary>Decoupled weight decay <c>weight_decay</c>: <c>p *= 1 - lr * weight_decay</c> before the update.</summary>
    public double WeightDecay { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Adafactor<T>(parameters, this);
}
