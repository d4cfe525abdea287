using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Descent.Numerics;

namespace Descent.Optim;

/// <summary>
/// An optimizer's update of one vector of coordinates: the parameters, their gradient and up to three
/// state slots (moments, accumulators, buffers) in, the new parameters out and the slots updated in place.
/// The step's coefficients live in the implementing struct, broadcast to vectors once per step.
/// </summary>
internal interface IUpdateRule<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Updates one vector of coordinates; slots the rule does not use are scratch vectors.</summary>
    Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> s0, ref Vector<T> s1, ref Vector<T> s2);
}

/// <summary>
/// Runs an <see cref="IUpdateRule{T}"/> over a parameter in one pass: whole vectors in place, then the tail
/// through one zero-padded vector, so every element goes through the same vector body (and so the same rounding);
/// with <see cref="StreamsParameters"/>, the elements before the first aligned vector go through such a vector too.
/// </summary>
internal static class UpdateLoop
{
    [ThreadStatic]
    private static bool _streams;

    [ThreadStatic]
    private static long _streamedVectors;

    /// <summary>
    /// Whether <see cref="Run"/>, on this thread, writes the parameters' whole vectors with streaming (non-temporal)
    /// stores and fences them before it returns: such a store takes no copy of the line from another core first. A
    /// data-parallel step sets it for the parameters every core's replica reads (the trainer says which and why); the
    /// numbers are the same either way. It takes effect with vectors of 256 or 512 bits.
    /// </summary>
    public static bool StreamsParameters
    {
        get => _streams;
        set => _streams = value;
    }

    /// <summary>How many vectors <see cref="Run"/> has written with streaming stores on this thread, in all.</summary>
    public static long StreamedVectors => _streamedVectors;

    /// <summary>
    /// Applies <paramref name="rule"/> to every coordinate of <paramref name="p"/>; each slot is either
    /// as long as <paramref name="p"/> or empty (not used by the rule).
    /// </summary>
    public static void Run<T, TRule>(Span<T> p, ReadOnlySpan<T> grad, in TRule rule, Span<T> s0 = default, Span<T> s1 = default, Span<T> s2 = default)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TRule : struct, IUpdateRule<T>
    {
        if (grad.Length != p.Length || !Fits(s0, p.Length) || !Fits(s1, p.Length) || !Fits(s2, p.Length))
            Mismatch(p.Length, grad.Length, s0.Length, s1.Length, s2.Length);
        if (_streams && Vector<T>.Count * Unsafe.SizeOf<T>() >= 32 && !p.IsEmpty) RunStreaming(p, grad, rule, s0, s1, s2);
        else Loop(p, grad, rule, s0, s1, s2, stream: false);
    }

    /// <summary>
    /// <see cref="Run"/> with streaming stores: the elements before the first vector on a boundary of its size go through a
    /// zero-padded vector, as a tail does, the rest through <see cref="Loop"/>, with <paramref name="p"/> pinned
    /// throughout, since a streaming store takes an address.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void RunStreaming<T, TRule>(Span<T> p, ReadOnlySpan<T> grad, in TRule rule, Span<T> s0, Span<T> s1, Span<T> s2)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TRule : struct, IUpdateRule<T>
    {
        int bytes = Vector<T>.Count * sizeof(T);
        fixed (T* pinned = p)
        {
            int head = Math.Min(AlignedArray<T>.ElementsBeforeBoundary(ref *pinned, bytes), p.Length);
            if (head == 0 && (nint)pinned % bytes != 0)
            {
                Loop(p, grad, rule, s0, s1, s2, stream: false);   // less than an element off a boundary: never on one
                return;
            }
            if (head > 0) RunTail(p[..head], grad[..head], rule, Head(s0, head), Head(s1, head), Head(s2, head), head);
            if (head == p.Length) return;
            Loop(p[head..], grad[head..], rule, Rest(s0, head), Rest(s1, head), Rest(s2, head), stream: true);
            Fence();
            _streamedVectors += (p.Length - head) / Vector<T>.Count;
        }
    }

    /// <summary>The update of <see cref="Run"/>: whole vectors in place (by streaming stores when <paramref name="stream"/>), then the tail.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]   // inlined into a caller's large frame, the loop spilled its pointers to the stack
    private static void Loop<T, TRule>(Span<T> p, ReadOnlySpan<T> grad, in TRule rule, Span<T> s0, Span<T> s1, Span<T> s2, bool stream)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TRule : struct, IUpdateRule<T>
    {
        int whole = p.Length / Vector<T>.Count, tail = p.Length - whole * Vector<T>.Count;
        Vector<T> spare0 = default, spare1 = default, spare2 = default;
        ref Vector<T> vp = ref AsVectors(p);
        ref Vector<T> vg = ref Unsafe.As<T, Vector<T>>(ref MemoryMarshal.GetReference(grad));
        // An unused slot is a spare vector revisited at every index (mask 0) instead of a branch in the loop.
        ref Vector<T> v0 = ref s0.IsEmpty ? ref spare0 : ref AsVectors(s0);
        ref Vector<T> v1 = ref s1.IsEmpty ? ref spare1 : ref AsVectors(s1);
        ref Vector<T> v2 = ref s2.IsEmpty ? ref spare2 : ref AsVectors(s2);
        nint m0 = s0.IsEmpty ? 0 : -1, m1 = s1.IsEmpty ? 0 : -1, m2 = s2.IsEmpty ? 0 : -1;
        // A local copy: through the `in` reference the stores below might alias the coefficients, so they were
        // reloaded each iteration (measured without it: adam-step 1.6-2.3x and batch-1 training 1.2x slower).
        var local = rule;
        if ((m0 | m1 | m2) == 0)
            for (nint i = 0; i < whole; i++)
                Store(ref Unsafe.Add(ref vp, i), local.Apply(Unsafe.Add(ref vp, i), Unsafe.Add(ref vg, i), ref spare0, ref spare1, ref spare2), stream);
        else
            for (nint i = 0; i < whole; i++)
            {
                // Every load before any store: the slots are as long as the parameter, so their element i often lies a
                // multiple of 4 KB from the others', and a store to one then a load from another at such a distance made
                // the load wait for the store (adam-step at 512 bits: 720-750 steps/s before, 2,100-2,260 after). An unused
                // slot's spare is not written back, so its loads do not wait on stores either.
                ref Vector<T> r0 = ref Unsafe.Add(ref v0, i & m0), r1 = ref Unsafe.Add(ref v1, i & m1), r2 = ref Unsafe.Add(ref v2, i & m2);
                Vector<T> a0 = r0, a1 = r1, a2 = r2;
                var updated = local.Apply(Unsafe.Add(ref vp, i), Unsafe.Add(ref vg, i), ref a0, ref a1, ref a2);
                if (m0 != 0) r0 = a0;
                if (m1 != 0) r1 = a1;
                if (m2 != 0) r2 = a2;
                Store(ref Unsafe.Add(ref vp, i), updated, stream);
            }
        if (tail != 0) RunTail(p, grad, rule, s0, s1, s2, tail);
    }

    /// <summary>
    /// Writes <paramref name="v"/> at <paramref name="at"/>, with a streaming store when <paramref name="stream"/> (and the
    /// vectors are of 256 or 512 bits): <paramref name="at"/> then lies on a boundary of the vector's size, in memory the
    /// caller has pinned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store<T>(ref Vector<T> at, Vector<T> v, bool stream) where T : unmanaged
    {
        if (!stream)
            at = v;
        else if (Vector<T>.Count * sizeof(T) == 64)
            v.AsVector512().StoreAlignedNonTemporal((T*)Unsafe.AsPointer(ref at));
        else
            v.AsVector256().StoreAlignedNonTemporal((T*)Unsafe.AsPointer(ref at));
    }

    private static Span<T> Head<T>(Span<T> slot, int head) => slot.IsEmpty ? slot : slot[..head];

    private static Span<T> Rest<T>(Span<T> slot, int head) => slot.IsEmpty ? slot : slot[head..];

    /// <summary>Orders the streaming stores before any later store, so the cores that read the parameters next see them.</summary>
    private static void Fence()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }

    /// <summary>The last <paramref name="tail"/> coordinates through one zero-padded vector (apart, so the main loop keeps a small frame).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RunTail<T, TRule>(Span<T> p, ReadOnlySpan<T> grad, in TRule rule, Span<T> s0, Span<T> s1, Span<T> s2, int tail)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TRule : struct, IUpdateRule<T>
    {
        Vector<T> t0 = LoadTail(s0, tail), t1 = LoadTail(s1, tail), t2 = LoadTail(s2, tail);
        Lanes.StoreTail(p, tail, rule.Apply(Lanes.LoadTail<T>(p, tail), Lanes.LoadTail(grad, tail), ref t0, ref t1, ref t2));
        StoreTail(s0, tail, t0);
        StoreTail(s1, tail, t1);
        StoreTail(s2, tail, t2);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Mismatch(int parameters, int grad, int s0, int s1, int s2) =>
        throw new ArgumentException($"An update over {parameters} parameters got a gradient of {grad} and state of {s0}, {s1}, {s2} elements; each must match the parameter (state may be empty).");

    private static bool Fits<T>(Span<T> slot, int length) => slot.IsEmpty || slot.Length == length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref Vector<T> AsVectors<T>(Span<T> span) where T : unmanaged =>
        ref Unsafe.As<T, Vector<T>>(ref MemoryMarshal.GetReference(span));

    private static Vector<T> LoadTail<T>(Span<T> slot, int tail) where T : unmanaged =>
        slot.IsEmpty ? default : Lanes.LoadTail<T>(slot, tail);

    private static void StoreTail<T>(Span<T> slot, int tail, Vector<T> v) where T : unmanaged
    {
        if (!slot.IsEmpty) Lanes.StoreTail(slot, tail, v);
    }
}
