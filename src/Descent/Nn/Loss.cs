using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Descent.Nn;

/// <summary>The training objectives, each averaged over the minibatch as PyTorch's <c>reduction='mean'</c>.</summary>
public enum Loss
{
    /// <summary>Softmax cross-entropy on class logits (<c>nn.CrossEntropyLoss</c>): <c>logsumexp(z) - z_y</c>.</summary>
    CrossEntropy,

    /// <summary>Binary cross-entropy on one logit per example (<c>nn.BCEWithLogitsLoss</c>): <c>max(z, 0) - z y + log(1 + exp(-|z|))</c>.</summary>
    BinaryCrossEntropy,

    /// <summary>Mean squared error against one-hot targets (<c>nn.MSELoss</c>), averaged over all outputs.</summary>
    MeanSquaredError,
}

/// <summary>Loss values, their gradients and accuracy, computed together in one pass over the outputs.</summary>
public static class Losses
{
    /// <summary>Parses <c>cross-entropy</c>, <c>bce</c> or <c>mse</c>.</summary>
    public static Loss Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "cross-entropy" or "ce" or "crossentropy" => Loss.CrossEntropy,
        "bce" or "binary-cross-entropy" => Loss.BinaryCrossEntropy,
        "mse" => Loss.MeanSquaredError,
        _ => throw new ArgumentException($"Unknown loss '{name}': choose cross-entropy, bce or mse."),
    };

    /// <summary>The command-line name.</summary>
    public static string Name(this Loss loss) => loss switch
    {
        Loss.CrossEntropy => "cross-entropy",
        Loss.BinaryCrossEntropy => "bce",
        _ => "mse",
    };

    /// <summary>Number of network outputs the loss needs for <paramref name="classes"/> classes.</summary>
    public static int Outputs(this Loss loss, int classes)
    {
        if (loss == Loss.BinaryCrossEntropy && classes != 2)
            throw new ArgumentException($"The bce loss is for two classes; this data has {classes}. Use cross-entropy.");
        return loss == Loss.BinaryCrossEntropy ? 1 : classes;
    }

    /// <summary>
    /// Mean loss over the batch of <paramref name="outputs"/> (<c>[batch, k]</c>) with integer
    /// <paramref name="labels"/>; writes <c>d loss / d outputs</c> into <paramref name="gradient"/> unless it is
    /// empty, and counts correct predictions in <paramref name="correct"/>.
    /// </summary>
    public static double Evaluate<T>(Loss loss, ReadOnlySpan<T> outputs, ReadOnlySpan<int> labels, int batch, Span<T> gradient, out int correct)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = outputs.Length / batch;
        bool wantGrad = !gradient.IsEmpty;
        T invB = PerExample<T>(batch);
        if (loss == Loss.CrossEntropy) return SoftmaxCrossEntropy(outputs, labels, batch, k, gradient, invB, out correct);
        double total = 0;
        correct = 0;
        for (int b = 0; b < batch; b++)
        {
            var z = outputs.Slice(b * k, k);
            int y = labels[b];
            switch (loss)
            {
                case Loss.BinaryCrossEntropy:
                    {
                        T zz = z[0], t = y == 1 ? T.One : T.Zero;
                        total += double.CreateTruncating(T.Max(zz, T.Zero) - zz * t + T.Log(T.One + T.Exp(-T.Abs(zz))));
                        if ((zz > T.Zero ? 1 : 0) == y) correct++;
                        if (wantGrad) gradient[b] = (T.One / (T.One + T.Exp(-zz)) - t) * invB;
                        break;
                    }
                default:
                    {
                        if (FirstMaximum(z).Arg == y) correct++;
                        T scale = T.CreateTruncating(2.0) * invB / T.CreateTruncating(k);
                        for (int j = 0; j < k; j++)
                        {
                            T d = z[j] - (j == y ? T.One : T.Zero);
                            total += double.CreateTruncating(d * d) / k;
                            if (wantGrad) gradient[b * k + j] = scale * d;
                        }
                        break;
                    }
            }
        }
        return total / batch;
    }

    /// <summary>
    /// <c>logsumexp(z) - z_y</c> per row and its gradient <c>(softmax(z) - onehot(y)) / batch</c>. The rows are
    /// shifted by their maxima first, then exponentiated in one vector pass over the whole batch (into the
    /// gradient buffer, or a pooled one when no gradient is wanted).
    /// </summary>
    private static double SoftmaxCrossEntropy<T>(ReadOnlySpan<T> outputs, ReadOnlySpan<int> labels, int batch, int k, Span<T> gradient, T invB, out int correct)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool wantGrad = !gradient.IsEmpty;
        T[]? rented = wantGrad ? null : System.Buffers.ArrayPool<T>.Shared.Rent(batch * k);
        try
        {
            return SoftmaxCrossEntropyInto(outputs, labels, batch, k, wantGrad ? gradient[..(batch * k)] : rented.AsSpan(0, batch * k), wantGrad, invB, out correct) / batch;
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<T>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The summed loss and (when <paramref name="wantGrad"/>) gradient, and the correct predictions unless not <paramref name="count"/>, with <paramref name="e"/> holding the exponentials and then
    /// the gradient. The maxima, shifts and gradients go a vector at a time; each row's sum of exponentials stays one
    /// sequential sum, so the numbers are those of the element-by-element loops this replaced.
    /// </summary>
    /// <remarks>
    /// A row whose length is not a whole number of vectors ends in a vector that reaches into the next row: its maximum
    /// masks those lanes out, its shift writes them (the next row's shift writes them again), and its gradient puts back
    /// what it read there. Only the last rows, whose last vector would pass the end of the batch, go element by element.
    /// Before 2026-12-04 every row's maximum and shift were calls of their own, with rows of fewer entries than a vector
    /// (ten classes at 512 bits) element by element: about 50-65 ns a row of ten at 512 bits, a tenth of mnist-linear's step.
    /// </remarks>
    private static double SoftmaxCrossEntropyInto<T>(ReadOnlySpan<T> outputs, ReadOnlySpan<int> labels, int batch, int k, Span<T> e, bool wantGrad, T invB, out int correct,
        bool count = true)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double total = 0;
        correct = 0;
        int lanes = Vector<T>.Count, whole = k - k % lanes, size = batch * k;
        // Rows [0, spilling) may read and write whole vectors past their end; the rest stop at it. A row's spill overwrites
        // the next row's place in e, so where e is the outputs themselves (in place) every row stops at its end.
        int spilling = whole == k ? batch : size < whole + lanes || outputs[..size].Overlaps(e[..size]) ? 0 : Math.Min((size - whole - lanes) / k + 1, batch);
        var inRow = Numerics.Lanes.FirstLanes<T>(k - whole);
        ref T z0 = ref MemoryMarshal.GetReference(outputs);
        ref T e0 = ref MemoryMarshal.GetReference(e[..size]);
        for (int b = 0; b < batch; b++)
        {
            var z = outputs.Slice(b * k, k);
            // The loop's maximum for the rows that stop at their end, and for a row holding a NaN (its first-maximum rule).
            T max = b < spilling ? RowMaximum(ref Unsafe.Add(ref z0, b * k), k, inRow) : T.NaN;
            if (T.IsNaN(max)) max = Maximum(z);
            if (count && FirstIndexOf(z, max) == labels[b]) correct++;
            total -= double.CreateTruncating(z[labels[b]] - max);
            if (b >= spilling)
            {
                Numerics.Kernels.AddScalar(z, -max, e.Slice(b * k, k));
                continue;
            }
            ref T from = ref Unsafe.Add(ref z0, b * k);
            ref T to = ref Unsafe.Add(ref e0, b * k);
            // z + (-max), as AddScalar adds it: the same bits, a NaN's sign included.
            var shift = new Vector<T>(-max);
            for (int j = 0; j < k; j += lanes) Vector.StoreUnsafe(Vector.LoadUnsafe(ref from, (nuint)j) + shift, ref to, (nuint)j);
        }
        Numerics.Lanes.ExpInPlace(e[..size]);
        var scale = new Vector<T>(invB);
        Span<T> sums = stackalloc T[SummedTogether];
        for (int b = 0; b < batch; b++)
        {
            var row = e.Slice(b * k, k);
            if (b % SummedTogether == 0) RowSums(e[(b * k)..], k, Math.Min(SummedTogether, batch - b), sums);
            T sum = sums[b % SummedTogether];
            total += double.CreateTruncating(T.Log(sum));       // logsumexp(z) - z_y = log(sum) - (z_y - max)
            if (!wantGrad) continue;
            // (softmax - onehot) / batch: x - 0 is x, so only the label's entry subtracts.
            T label = row[labels[b]];
            var divisor = new Vector<T>(sum);
            ref T r0 = ref Unsafe.Add(ref e0, b * k);
            int j = 0;
            for (; j < whole; j += lanes) Vector.StoreUnsafe(Vector.LoadUnsafe(ref r0, (nuint)j) / divisor * scale, ref r0, (nuint)j);
            if (j < k && b < spilling)
            {
                var last = Vector.LoadUnsafe(ref r0, (nuint)j);
                Vector.StoreUnsafe(Vector.ConditionalSelect(inRow, last / divisor * scale, last), ref r0, (nuint)j);
            }
            else
                for (; j < k; j++) row[j] = row[j] / sum * invB;
            row[labels[b]] = (label / sum - T.One) * invB;
        }
        return total;
    }

    /// <summary>
    /// The largest of the <paramref name="k"/> entries at <paramref name="row"/> (NaN when one is NaN), reading whole vectors:
    /// the lanes of the last one past the row, where it does not end on a vector's end, masked out by <paramref name="inRow"/>.
    /// Of a +0 and a -0 it may keep either where the loop keeps the first; the shifted row is the same either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T RowMaximum<T>(ref T row, int k, Vector<T> inRow) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector<T>.Count, whole = k - k % lanes;
        var top = new Vector<T>(T.NegativeInfinity);
        for (int j = 0; j < whole; j += lanes) top = Vector.Max(top, Vector.LoadUnsafe(ref row, (nuint)j));
        if (whole < k) top = Vector.Max(top, Vector.ConditionalSelect(inRow, Vector.LoadUnsafe(ref row, (nuint)whole), new Vector<T>(T.NegativeInfinity)));
        return Numerics.Lanes.MaxAcross(top);
    }

    /// <summary>
    /// The cross-entropy of the rows of class logits <paramref name="outputs"/> (one label each) summed rather than averaged, with
    /// its gradient written into <paramref name="gradient"/> as <see cref="Evaluate"/> writes it for a whole minibatch of
    /// <paramref name="minibatch"/> examples: a slice of one.
    /// </summary>
    internal static double CrossEntropySum<T>(ReadOnlySpan<T> outputs, ReadOnlySpan<int> labels, Span<T> gradient, int minibatch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = labels.Length;
        return SoftmaxCrossEntropyInto(outputs, labels, rows, outputs.Length / rows, gradient[..outputs.Length], true, PerExample<T>(minibatch), out _, count: false);
    }

    /// <summary>The weight of one example in the mean over <paramref name="batch"/>: the factor of every gradient entry.</summary>
    private static T PerExample<T>(int batch) where T : unmanaged, IFloatingPointIeee754<T> => T.One / T.CreateTruncating(batch);

    /// <summary>Rows whose sums <see cref="RowSums"/> takes side by side.</summary>
    private const int SummedTogether = 4;

    /// <summary>
    /// The sums of the first <paramref name="rows"/> (up to four) rows of <paramref name="e"/> (<paramref name="k"/> wide),
    /// each added element by element from the first, the rows side by side: one row's sum is a chain of dependent additions,
    /// four rows' are four chains the processor overlaps (a 2,048 x 65 cross-entropy spent most of its time waiting on them).
    /// </summary>
    private static void RowSums<T>(ReadOnlySpan<T> e, int k, int rows, Span<T> sums) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows < SummedTogether)
        {
            for (int r = 0; r < rows; r++)
            {
                T sum = T.Zero;
                foreach (var x in e.Slice(r * k, k)) sum += x;
                sums[r] = sum;
            }
            return;
        }
        T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
        ReadOnlySpan<T> r0 = e[..k], r1 = e.Slice(k, k), r2 = e.Slice(2 * k, k), r3 = e.Slice(3 * k, k);
        for (int j = 0; j < k; j++)
        {
            s0 += r0[j];
            s1 += r1[j];
            s2 += r2[j];
            s3 += r3[j];
        }
        (sums[0], sums[1], sums[2], sums[3]) = (s0, s1, s2, s3);
    }

    /// <summary>
    /// The largest entry of <paramref name="z"/> and the index of its first occurrence, as a loop that moves on only to a
    /// strictly larger entry finds them (so a NaN counts only as the first entry).
    /// </summary>
    private static (T Max, int Arg) FirstMaximum<T>(ReadOnlySpan<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = Maximum(z);
        return (max, FirstIndexOf(z, max));
    }

    /// <summary>
    /// Where <paramref name="max"/>, <paramref name="z"/>'s largest entry, first occurs, a vector at a time where the row is at
    /// least one long (the last vector ends at the row's end, overlapping the one before); 0 for a NaN, which nothing equals
    /// (a NaN maximum is a NaN first entry).
    /// </summary>
    private static int FirstIndexOf<T>(ReadOnlySpan<T> z, T max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector<T>.Count, k = z.Length;
        if (k >= lanes)
        {
            var wanted = new Vector<T>(max);
            for (int j = 0; j < k; j += lanes)
            {
                int at = Math.Min(j, k - lanes);
                if (!Vector.EqualsAny(new Vector<T>(z[at..]), wanted)) continue;
                for (int i = at; i < at + lanes; i++)
                    if (z[i] == max) return i;
            }
            return 0;
        }
        for (int i = 0; i < k; i++)
            if (z[i] == max) return i;
        return 0;
    }

    /// <summary>
    /// The largest entry of <paramref name="z"/> as a loop that moves on only to a strictly larger entry finds it: in vectors
    /// when the row is at least one vector long and holds no NaN, else that loop.
    /// </summary>
    private static T Maximum<T>(ReadOnlySpan<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = Vector<T>.Count, k = z.Length;
        if (k >= lanes)
        {
            // The last vector ends at the row's end, overlapping the one before: a maximum does not mind repeats. Both maxima
            // propagate NaN (IEEE 754's maximum): a row with a NaN falls through to the loop.
            var top = new Vector<T>(z);
            for (int j = lanes; j < k; j += lanes) top = Vector.Max(top, new Vector<T>(z[Math.Min(j, k - lanes)..]));
            T max = Numerics.Lanes.MaxAcross(top);
            if (!T.IsNaN(max)) return max;
        }
        T best = z[0];
        for (int j = 1; j < k; j++) if (z[j] > best) best = z[j];
        return best;
    }
}
