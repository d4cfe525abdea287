namespace Descent.Optim;

/// <summary>Hyperparameters shared by the optimizers that divide by the square root of a running gradient scale (AdaGrad, RMSProp, Adam, NAdam, RAdam).</summary>
public abstract class AdaptiveOptions : EpsilonOptions
{
    /// <summary>
    /// Put <c>eps</c> inside the square root: divide by <c>sqrt(v + eps)</c> instead of PyTorch's
    /// <c>sqrt(v) + eps</c> (the form of TensorFlow's RMSProp and optax's <c>eps_root</c>).
    /// </summary>
    public bool EpsInsideSqrt { get; set; }

    /// <summary>The <c>eps_inside_sqrt</c> entry.</summary>
    protected static readonly Hyperparameter EpsInsideSqrtEntry = Hyperparameter.Flag<AdaptiveOptions>("eps_inside_sqrt",
        "divide by sqrt(v + eps) instead of sqrt(v) + eps", o => o.EpsInsideSqrt, (o, v) => o.EpsInsideSqrt = v);
}
