namespace Descent.Optim;

/// <summary>The two decay rates of the optimizers built on moving averages of the gradient (the Adam family, Adamax, Lion).</summary>
public interface IBetas
{
    /// <summary>Decay rate of the first-moment (gradient) average, <c>betas[0]</c>.</summary>
    double Beta1 { get; set; }

    /// <summary>Decay rate of the second average (Adam's second moment, Adamax's infinity norm, Lion's momentum), <c>betas[1]</c>.</summary>
    double Beta2 { get; set; }

    /// <summary>The <c>beta1</c> entry.</summary>
    internal static readonly Hyperparameter Beta1Entry = Hyperparameter.Real<IBetas>("beta1", Interval.UnitHalfOpen,
        "decay rate of the gradient average", o => o.Beta1, (o, v) => o.Beta1 = v);

    /// <summary>The <c>beta2</c> entry.</summary>
    internal static readonly Hyperparameter Beta2Entry = Hyperparameter.Real<IBetas>("beta2", Interval.UnitHalfOpen,
        "decay rate of the second average", o => o.Beta2, (o, v) => o.Beta2 = v);
}
