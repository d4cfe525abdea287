using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="AdamW{T}"/>: Adam's, with decoupled weight decay 1e-2 (PyTorch's defaults).</summary>
public sealed class AdamWOptions : AdamOptions
{
    /// <summary>Creates AdamW options with weight_decay = 1e-2, decoupled.</summary>
    public AdamWOptions()
    {
        WeightDecay = 1e-2;
        DecoupledWeightDecay = true;
    }

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new AdamW<T>(parameters, this);
}
