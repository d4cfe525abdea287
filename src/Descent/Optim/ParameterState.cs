using System.Numerics;

namespace Descent.Optim;

/// <summary>
/// What an optimizer remembers about one parameter: how many updates it has had, its per-element
/// buffers (slots such as <c>exp_avg</c>), and per-parameter scalars (such as NAdam's <c>mu_product</c>).
/// Slots are allocated the first time an update rule asks for them, never again.
/// </summary>
public sealed class ParameterState<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[]?[] _slots;
    private readonly int[] _slotLengths;

    internal ParameterState(IReadOnlyList<int> shape, int length, int[] slotLengths, double[] initialScalars)
    {
        Shape = shape;
        Length = length;
        _slots = new T[slotLengths.Length][];
        _slotLengths = slotLengths;
        Scalars = (double[])initialScalars.Clone();
    }

    /// <summary>Number of elements of the parameter.</summary>
    public int Length { get; }

    /// <summary>The parameter's shape (the rules that treat matrices as matrices, Adafactor and Muon, read it).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Number of elements of slot <paramref name="slot"/>: the parameter's, or fewer for factored state (Adafactor's row and column averages).</summary>
    public int SlotLength(int slot) => _slotLengths[slot];

    /// <summary>Updates applied to this parameter so far (PyTorch's <c>state['step']</c>).</summary>
    public long Step { get; internal set; }

    /// <summary>Per-parameter scalars, in the order the optimizer declares them.</summary>
    public double[] Scalars { get; }

    /// <summary>The slot's buffer if it has been allocated.</summary>
    public T[]? Peek(int slot) => _slots[slot];

    /// <summary>
    /// The slot's buffer, allocated and filled with <paramref name="initial"/> on first use; returns
    /// <c>true</c> in <paramref name="fresh"/> when it was just created (PyTorch's "buffer is None" case).
    /// </summary>
    public Span<T> Slot(int slot, T initial, out bool fresh)
    {
        var buffer = _slots[slot];
        fresh = buffer is null;
        if (buffer is null)
        {
            buffer = new T[_slotLengths[slot]];
            if (initial != T.Zero) buffer.AsSpan().Fill(initial);
            _slots[slot] = buffer;
        }
        return buffer;
    }

    /// <summary>The slot's buffer, zero-initialised on first use.</summary>
    public Span<T> Slot(int slot) => Slot(slot, T.Zero, out _);

    internal void Restore(int slot, T[] buffer) => _slots[slot] = buffer;
}
