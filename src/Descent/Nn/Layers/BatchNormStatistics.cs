using System.Numerics;
using Descent.State;

namespace Descent.Nn;

/// <summary>
/// Batch normalization's running statistics recomputed for the weights a model has now (PyTorch's
/// <c>torch.optim.swa_utils.update_bn</c>): needed whenever a model is evaluated at weights it was not trained at, such
/// as an SWA or EMA average or schedule-free's <c>x</c>, whose statistics the training run never measured.
/// </summary>
public static class BatchNormStatistics
{
    /// <summary>The batch-normalization layers of <paramref name="model"/>, in order.</summary>
    public static IReadOnlyList<BatchNorm<T>> Layers<T>(Layer<T> model) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        return [.. model.Modules().OfType<BatchNorm<T>>()];
    }

    /// <summary>
    /// Resets every batch-normalization layer's running statistics and sets them to the cumulative average over
    /// consecutive batches of <paramref name="batchSize"/> examples of <paramref name="inputs"/> (<paramref name="examples"/>
    /// of them, the last batch possibly smaller), at most <paramref name="maxBatches"/>, run forward in training mode, as
    /// <c>update_bn(loader, model)</c> does over a loader that does not shuffle. A final batch with a single value per
    /// channel, which training mode cannot normalize, is left out. Everything else is as it was: the momenta, the
    /// training or evaluation mode, and the random generators of dropout (which masks in training mode, as in PyTorch,
    /// but from a copy of its state, so evaluating a model does not change how its training goes on). Returns the
    /// batches used; a model without batch normalization is left alone (0).
    /// </summary>
    public static int Update<T>(Layer<T> model, ReadOnlySpan<T> inputs, int examples, int batchSize, int maxBatches = int.MaxValue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layers = Layers(model);
        if (layers.Count == 0) return 0;
        if (batchSize < 1) throw new ArgumentException($"Invalid batch size {batchSize}: must be at least 1.");
        if (examples < 0 || inputs.Length < (long)examples * model.InputSize)
            throw new ArgumentException($"{examples} examples need {(long)examples * model.InputSize} input values, got {inputs.Length}.");
        var momenta = layers.Select(l => l.Momentum).ToArray();
        bool training = model.Training;
        var generators = new StateDict();
        foreach (var (name, rng) in model.Generators()) rng.SaveState(generators, name);
        int batches = 0;
        try
        {
            foreach (var layer in layers)
            {
                layer.ResetRunningStats();
                layer.Momentum = null;
            }
            model.Training = true;
            int leastPositions = layers.Min(l => l.InputSize / l.InputShape[0]);
            for (int start = 0; start < examples && batches < maxBatches; start += batchSize)
            {
                int n = Math.Min(batchSize, examples - start);
                if (n * leastPositions < 2) break;
                model.Forward(inputs.Slice(start * model.InputSize, n * model.InputSize), n);
                batches++;
            }
        }
        finally
        {
            for (int i = 0; i < layers.Count; i++) layers[i].Momentum = momenta[i];
            model.Training = training;
            foreach (var (name, rng) in model.Generators()) rng.LoadState(generators, name);
        }
        return batches;
    }
}
