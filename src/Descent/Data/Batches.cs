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
    private readonly int[] _order;
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
        int remaining = _order.Length - _position;
        if (remaining == 0 || (DropLast && remaining < BatchSize))
        {
            Epoch++;
            NewEpoch();
            remaining = _order.Length;
        }
        int size = Math.Min(BatchSize, remaining);
        int d = _data.Dimensions, l = _data.LabelsPerExample;
        for (int i = 0; i < size; i++)
        {
            if (i + PrefetchAhead < size) Prefetch(_data.Features, _order[_position + i + PrefetchAhead] * d, d);
            int e = _order[_position + i];
            if (d <= ShortRow)
                for (int j = 0; j < d; j++) features[i * d + j] = _data.Features[e * d + j];
            else
                _data.Features.AsSpan(e * d, d).CopyTo(features.Slice(i * d, d));
            if (l == 1) labels[i] = _data.Labels[e];
            else _data.Labels.AsSpan(e * l, l).CopyTo(labels.Slice(i * l, l));
        }
        _position += size;
        return size;
    }

    /// <summary>Rows up to this many features are copied element by element: a copy call per two-feature row cost more than the copy.</summary>
    private const int ShortRow = 16;

    /// <summary>How many examples ahead the copy asks the memory system for: the rows are scattered, so the hardware cannot guess them.</summary>
    private const int PrefetchAhead = 4;

    /// <summary>
    /// Starts loading <paramref name="count"/> floats from <paramref name="start"/> into the L2 cache (no effect where prefetch
    /// instructions are missing). Into L2 rather than L1: the L1 cache can track few misses at once, so a row's worth of
    /// prefetches into it had to wait for free slots, while L2 tracks many more (mnist-linear at batch 1,000: 1.1-1.4x).
    /// </summary>
    private static unsafe void Prefetch(float[] data, int start, int count)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported || count < 64) return;
        fixed (float* p = &data[start])
            for (int offset = 0; offset < count; offset += 16) System.Runtime.Intrinsics.X86.Sse.Prefetch1(p + offset);
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
