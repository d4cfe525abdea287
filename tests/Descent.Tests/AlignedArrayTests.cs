using Descent.Nn;
using Descent.Numerics;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// Buffers that start on a cache line: the aligned array itself, and the buffers a model's passes read and write. Run
/// apart from the other tests: the playground's servers, which other tests start in this process, compact the large
/// object heap once quiet, which may move a large array between its allocation and the check.
/// </summary>
[Collection(nameof(AlignedArrayTests))]
public class AlignedArrayTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(100_003)]   // past 85,000 bytes, where ordinary arrays go to the large object heap
    public void Every_aligned_array_starts_a_cache_line_and_holds_its_length_of_zeros(int length)
    {
        for (int i = 0; i < 8; i++)
        {
            Check(new AlignedArray<float>(length));
            Check(new AlignedArray<double>(length));
            Check(new AlignedArray<int>(length));
            // Pinned allocations between them of odd sizes, so that the next small array starts elsewhere in its line.
            _ = GC.AllocateArray<byte>(8 * i + 24, pinned: true);
        }

        void Check<T>(AlignedArray<T> a) where T : unmanaged, IEquatable<T>
        {
            Assert.Equal(length, a.Length);
            Assert.Equal(length, a.AsSpan().Length);
            Assert.Equal(length, a.AsMemory().Length);
            Assert.All(a.AsSpan().ToArray(), x => Assert.Equal(default, x));
            if (length == 0) return;
            Assert.True(AlignedArray<T>.StartsLine(a.AsSpan()), $"{typeof(T).Name}[{length}] starts off a cache line");
            if (length > 1) Assert.False(AlignedArray<T>.StartsLine(a.AsSpan(1)), $"{typeof(T).Name}[{length}]: its second element too");
        }
    }

    [Fact]
    public void Writes_through_a_span_are_what_the_indexer_and_the_memory_read()
    {
        var a = new AlignedArray<float>(10);
        a.AsSpan(3, 2).Fill(7);
        a[9] = 5;
        Assert.Equal([0, 0, 0, 7, 7, 0, 0, 0, 0, 5], a.AsMemory().ToArray());
        Assert.Equal(7, a.AsSpan(4)[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedArray<float>(-1));
        Assert.Throws<IndexOutOfRangeException>(() => a[10]);
    }

    [Fact]
    public void A_cnn_and_a_transformer_keep_their_parameters_gradients_and_outputs_on_cache_lines()
    {
        var rng = new Rng(4);
        foreach (var (spec, shape, outputs) in new[] { ("cnn", new[] { 1, 28, 28 }, 10), ("transformer:layers=1,d=32,heads=2,ctx=8", new[] { 8 }, 20) })
        {
            var model = ModelSpec.Build<float>(spec, shape, outputs, Initialization.Torch, rng);
            int batch = 3, size = shape.Aggregate(1, (a, b) => a * b);
            var x = new float[batch * size];
            for (int i = 0; i < x.Length; i++) x[i] = spec == "cnn" ? (float)rng.NextNormal() : i % outputs;
            var logits = model.Forward(x, batch);
            model.Backward(x, new float[logits.Length], batch);
            Assert.True(AlignedArray<float>.StartsLine(model.Values), $"{spec}: parameters");
            Assert.True(AlignedArray<float>.StartsLine(model.Gradients), $"{spec}: gradients");
            // A convolution whose outputs its pooling takes as they are made keeps none, nor does the ReLU passing them on.
            var kept = model.Layers.Where((l, i) => !Pooled(i) && !(l.PassesThrough && Pooled(i - 1))).ToList();
            Assert.True(kept.Count >= 4, $"{spec}: {kept.Count} layers keep outputs");
            bool Pooled(int i) => i >= 0 && model.Layers[i] is Conv2d<float> { OutputsPooled: true };
            foreach (var layer in kept)
                Assert.True(AlignedArray<float>.StartsLine(layer.LastOutput(batch)), $"{spec}: {layer.GetType().Name}'s outputs");
        }
    }
}

/// <summary>Runs <see cref="AlignedArrayTests"/> after every parallel test, with no playground server left in the process.</summary>
[CollectionDefinition(nameof(AlignedArrayTests), DisableParallelization = true)]
public class AlignedArrayCollection;
