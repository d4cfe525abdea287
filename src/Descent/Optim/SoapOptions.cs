using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Soap{T}"/>, with the defaults of nikhilvyas/SOAP's <c>soap.py</c>.</summary>
public sealed class SoapOptions : OptimizerOptions, IBetas
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        Hyperparameter.Real<SoapOptions>("shampoo_beta", new Interval(-1, true, 1, false),
            "decay of the preconditioner's gradient outer products (negative: beta2, the reference's -1)", o => o.ShampooBeta, (o, v) => o.ShampooBeta = v),
        Hyperparameter.Real<SoapOptions>("eps", Interval.NonNegative, "term added to the denominator", o => o.Eps, (o, v) => o.Eps = v),
        Hyperparameter.Real<SoapOptions>("weight_decay", Interval.NonNegative, "decoupled weight decay p -= lr*weight_decay*p after the update",
            o => o.WeightDecay, (o, v) => o.WeightDecay = v),
        Hyperparameter.Count<SoapOptions>("precondition_frequency", new Interval(1, true, double.PositiveInfinity, false),
            "steps between refreshes of the eigenbases by a power iteration and a QR decomposition",
            o => o.PreconditionFrequency, (o, v) => o.PreconditionFrequency = v),
        Hyperparameter.Count<SoapOptions>("max_precond_dim", new Interval(1, true, double.PositiveInfinity, false),
            "largest dimension that gets a preconditioner; longer dimensions are left as they are",
            o => o.MaxPrecondDim, (o, v) => o.MaxPrecondDim = v),
        Hyperparameter.Flag<SoapOptions>("merge_dims", "merge adjacent dimensions while their product stays within max_precond_dim",
            o => o.MergeDims, (o, v) => o.MergeDims = v),
        Hyperparameter.Flag<SoapOptions>("precondition_1d", "give vectors (biases) a preconditioner too", o => o.Precondition1d, (o, v) => o.Precondition1d = v),
        Hyperparameter.Flag<SoapOptions>("normalize_grads", "divide the update by its RMS", o => o.NormalizeGrads, (o, v) => o.NormalizeGrads = v),
        Hyperparameter.Flag<SoapOptions>("correct_bias", "Adam's bias correction in the step size", o => o.CorrectBias, (o, v) => o.CorrectBias = v),
    ];

    /// <summary>
    /// Creates SOAP options with lr = 3e-3, betas = (0.95, 0.95), shampoo_beta = beta2, eps = 1e-8, weight_decay = 0.01,
    /// precondition_frequency = 10, max_precond_dim = 10000, bias correction on.
    /// </summary>
    public SoapOptions() => LearningRate = 3e-3;

    /// <inheritdoc/>
    public double Beta1 { get; set; } = 0.95;

    /// <inheritdoc/>
    public double Beta2 { get; set; } = 0.95;

    /// <summary>Decay <c>shampoo_beta</c> of the preconditioner matrices' moving averages; negative (the reference's -1) stands for <c>beta2</c>.</summary>
    public double ShampooBeta { get; set; } = -1;

    /// <summary>Term <c>eps</c> added to the square root of the second moment.</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>Decoupled weight decay <c>weight_decay</c>: <c>p -= lr * weight_decay * p</c> after the update.</summary>
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>Steps <c>precondition_frequency</c> between refreshes of the eigenbases.</summary>
    public double PreconditionFrequency { get; set; } = 10;

    /// <summary>Largest dimension <c>max_precond_dim</c> that gets a preconditioner (10000 leaves out common vocabulary sizes).</summary>
    public double MaxPrecondDim { get; set; } = 10000;

    /// <summary>Merge adjacent dimensions while their product stays within <c>max_precond_dim</c> (<c>merge_dims</c>).</summary>
    public bool MergeDims { get; set; }

    /// <summary>Precondition one-dimensional parameters with a full matrix (<c>precondition_1d</c>); off, they get Adam.</summary>
    public bool Precondition1d { get; set; }

    /// <summary>Divide each parameter's update by its RMS (<c>normalize_grads</c>).</summary>
    public bool NormalizeGrads { get; set; }

    /// <summary>Adam's bias correction <c>sqrt(1 - beta2^t) / (1 - beta1^t)</c> in the step size (<c>correct_bias</c>).</summary>
    public bool CorrectBias { get; set; } = true;

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Soap<T>(parameters, this);

}
