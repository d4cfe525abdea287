namespace Descent.Optim;

/// <summary>Hyperparameters of the optimizers that add a small <c>eps</c> to a denominator (AdaGrad, RMSProp, Adadelta, the Adam family).</summary>
public abstract class EpsilonOptions : WeightDecayOptions
{
    /// <summary>Term added to the denominator for numerical stability (<c>eps</c>).</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>The <c>eps</c> entry.</summary>
    protected static readonly Hyperparameter EpsEntry = Hyperparameter.Real<EpsilonOptions>("eps", Interval.NonNegative,
        "term added to the denominator", o => o.Eps, (o, v) => o.Eps = v);
}
