using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// The usual way to train a model with Muon, as its authors and Keras do: the 2-D weights of the hidden layers on
/// <see cref="Muon{T}"/>, everything else on <see cref="AdamW{T}"/>: biases and normalization weights (not 2-D),
/// convolution kernels (4-D; PyTorch's Muon takes 2-D parameters only), token and position embeddings (Keras's
/// <c>exclude_embeddings</c>), and the output layer, the model's last linear layer (Keras's <c>exclude_layers</c>).
/// </summary>
public static class MuonSplit
{
    /// <summary>The parameters of <paramref name="model"/> for Muon and those for AdamW, each in the model's order.</summary>
    public static (IReadOnlyList<Parameter<T>> Muon, IReadOnlyList<Parameter<T>> AdamW) Partition<T>(Layer<T> model)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        var modules = model.Modules().ToList();
        var output = modules.OfType<Linear<T>>().LastOrDefault();
        var hidden = new HashSet<Parameter<T>>(ReferenceEqualityComparer.Instance);
        foreach (var m in modules)
        {
            if (m is Embedding<T> or PositionalEmbedding<T> || m == output) continue;
            foreach (var p in m.OwnParameters)
                if (p.Shape.Count == 2) hidden.Add(p);
        }
        return ([.. model.Parameters.Where(hidden.Contains)], [.. model.Parameters.Where(p => !hidden.Contains(p))]);
    }

    /// <summary>
    /// Muon with <paramref name="muon"/> (PyTorch's defaults when null) for the hidden 2-D weights of <paramref name="model"/>
    /// and AdamW with <paramref name="adamw"/> (PyTorch's defaults, lr 1e-3, when null) for the rest, as one optimizer.
    /// </summary>
    public static MultiOptimizer<T> Create<T>(Layer<T> model, MuonOptions? muon = null, AdamWOptions? adamw = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (hidden, rest) = Partition(model);
        if (hidden.Count == 0)
            throw new ArgumentException("The model has no 2-D hidden weights for Muon (its matrices, if any, are embeddings or the output layer); choose another optimizer, such as adamw.");
        return new MultiOptimizer<T>(new Muon<T>(hidden, muon), new AdamW<T>(rest, adamw));
    }
}
