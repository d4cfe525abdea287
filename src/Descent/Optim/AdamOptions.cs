using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Adam{T}"/> and <see cref="AdamW{T}"/>, with PyTorch's defaults.</summary>
public class AdamOptions : AdamFamilyOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        .. Decay(),
        IBetas.Beta1Entry,
        IBetas.Beta2Entry,
        EpsEntry,
        Hyperparameter.Flag<AdamOptions>("amsgrad", "AMSGrad: divide by the running maximum of the second moment", o => o.Amsgrad, (o, v) => o.Amsgrad = v),
        EpsInsideSqrtEntry,
    ];

    /// <summary>Creates Adam options with lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8, no weight decay.</summary>
    public AdamOptions() => LearningRate = 1e-3;

    /// <summary>AMSGrad (Reddi et al. 2018) <c>amsgrad</c>: normalize by the maximum second moment seen so far.</summary>
    public bool Amsgrad { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Adam<T>(parameters, this);
}
