using Descent.Numerics;
using Descent.State;

namespace Descent.Data;

/// <summary>
/// Minibatches drawn without replacement: each epoch is a fresh permutation of the examples from a
/// seeded generator, cut into batches of <see cref="BatchSize"/> (the last one smaller, or dropped with
/// <see cref="DropLast"/>). Its position and generator are saved so a resumed run sees the same batches.
/// </summary>
public sealed class Batches
{
    private readonly Dataset _data;
    private readonly Rng _rng;
    private readonly int[] _order, _rows;
    private int _position;

    /// <summary>Creates the sampler; the first epoch's permutation is drawn at once.</summary>
    public Batches(Dataset data, int batchSize, Rng rng, bool dropLast = false)
    {
        if (batchSize < 1) throw new ArgumentException($"Invalid batch size {batchSize}: must be at least 1.");
        if (dropLast && batchSize > data.Count)
            throw new ArgumentException($"Batch size {batchSize} with drop-last leaves no batch: {data.Name} has only {data.Count} examples.");
        _data = data;
        _rng = rng;
        BatchSize = Math.Min(batchSize, data.Count);
        DropLast = dropLast;
        _order = new int[data.Count];
        _rows = new int[BatchSize];
        NewEpoch();
        Epoch = 0;
    }

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether an incomplete last batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Completed epochs.</summary>
    public long Epoch { get; private set; }

    /// <summary>Batches in one epoch.</summary>
    public int BatchesPerEpoch => DropLast ? _data.Count / BatchSize : (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>
    /// Copies the next batch's features and labels into the buffers (sized for <see cref="BatchSize"/> examples:
    /// <see cref="Dataset.LabelsPerExample"/> labels each) and returns its size.
    /// </summary>
    public int Next(Span<float> features, Span<int> labels)
    {
        int size = NextRows(_rows);
        _data.Gather(_rows.AsSpan(0, size), features, labels);
        return size;
    }

    /// <summary>
    /// Moves to the next batch and writes the indices of its examples in the dataset into <paramref name="rows"/> (sized for
    /// <see cref="BatchSize"/>), returning its size: for a model that gathers the examples itself (<see cref="Nn.Layer{T}.ForwardRows"/>).
    /// </summary>
    public int NextRows(Span<int> rows)
    {
        int remaining = _order.Length - _position;
        if (remaining == 0 || (DropLast && remaining < BatchSize))
        {
            Epoch++;
            NewEpoch();
            remaining = _order.Length;
        }
        int size = Math.Min(BatchSize, remaining);
        _order.AsSpan(_position, size).CopyTo(rows);
        _position += size;
        return size;
    }

    private void NewEpoch()
    {
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _rng.Shuffle(_order.AsSpan());
        _position = 0;
    }

    /// <summary>Writes the permutation, the position in it, the epoch and the generator.</summary>
    public void SaveState(StateDict state, string prefix)
    {
        state.Set(prefix + ".order", [.. _order.Select(i => (double)i)]);
        state.Set(prefix + ".position", _position);
        state.Set(prefix + ".epoch", Epoch);
        _rng.SaveState(state, prefix + ".rng");
    }

    /// <summary>Restores the state written by <see cref="SaveState"/>.</summary>
    public void LoadState(StateDict state, string prefix)
    {
        var order = new double[_order.Length];
        state.CopyTo(prefix + ".order", order.AsSpan());
        for (int i = 0; i < order.Length; i++) _order[i] = (int)order[i];
        _position = (int)state.GetLong(prefix + ".position");
        Epoch = state.GetLong(prefix + ".epoch");
        _rng.LoadState(state, prefix + ".rng");
    }
}
