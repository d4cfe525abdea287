using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// AdamW (Loshchilov and Hutter 2019; PyTorch's <c>torch.optim.AdamW</c>): Adam with decoupled weight
/// decay <c>p = p * (1 - lr * weight_decay)</c> applied before the Adam step, default weight decay 1e-2.
/// </summary>
public sealed class AdamW<T> : Adam<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates AdamW over <paramref name="parameters"/>.</summary>
    public AdamW(IEnumerable<Parameter<T>> parameters, AdamWOptions? options = null) : base(parameters, options ?? new AdamWOptions()) { }
}
