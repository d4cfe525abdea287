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
    private readonly long[] _allocatedAt;             // the update each slot was allocated in (0: before any)
    private readonly ParameterState<T>? _whole;      // for a range of the parameter's elements: the whole parameter's state
    private ParameterState<T>[] _ranges = [];         // this parameter's ranges, one per part of a split step
    private long _step;

    internal ParameterState(IReadOnlyList<int> shape, int length, int[] slotLengths, double[] initialScalars)
    {
        Shape = shape;
        Length = length;
        _slots = new T[slotLengths.Length][];
        _slotLengths = slotLengths;
        _allocatedAt = new long[slotLengths.Length];
        Scalars = (double[])initialScalars.Clone();
    }

    /// <summary>The state of elements <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="length"/> - 1 of <paramref name="whole"/>'s parameter.</summary>
    private ParameterState(ParameterState<T> whole, int offset, int length)
    {
        _whole = whole;
        Offset = offset;
        Length = length;
        Shape = [length];
        _slots = [];
        _slotLengths = [];
        _allocatedAt = [];
        Scalars = whole.Scalars;
    }

    /// <summary>For the state of a range of a parameter's elements, the first element's index in the parameter (0 otherwise).</summary>
    internal int Offset { get; }

    /// <summary>Number of elements of the parameter.</summary>
    public int Length { get; }

    /// <summary>The parameter's shape (the rules that treat matrices as matrices, Adafactor and Muon, read it).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Number of elements of slot <paramref name="slot"/>: the parameter's, or fewer for factored state (Adafactor's row and column averages).</summary>
    public int SlotLength(int slot) => _whole is null ? _slotLengths[slot] : Length;

    /// <summary>Updates applied to this parameter so far (PyTorch's <c>state['step']</c>).</summary>
    public long Step
    {
        get => _whole?.Step ?? _step;
        internal set => _step = value;
    }

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
        if (_whole is not null) return _whole.SharedSlot(slot, initial, out fresh).AsSpan(Offset, Length);
        var buffer = _slots[slot];
        fresh = buffer is null;
        return buffer ?? Allocate(slot, initial);
    }

    /// <summary>
    /// The slot's buffer for one of several ranges updated at once on different threads: allocated by whichever range
    /// asks first, and <paramref name="fresh"/> for every range when that was during the current update.
    /// </summary>
    private T[] SharedSlot(int slot, T initial, out bool fresh)
    {
        if (_slotLengths[slot] != Length)
            throw new InvalidOperationException($"A slot of {_slotLengths[slot]} elements for a parameter of {Length} cannot be split into ranges of elements.");
        var buffer = Volatile.Read(ref _slots[slot]);
        if (buffer is null)
            lock (_slots)
                buffer = _slots[slot] ?? Allocate(slot, initial);
        fresh = _allocatedAt[slot] == Step;
        return buffer;
    }

    private T[] Allocate(int slot, T initial)
    {
        var buffer = new T[_slotLengths[slot]];
        if (initial != T.Zero) buffer.AsSpan().Fill(initial);
        _allocatedAt[slot] = Step;
        Volatile.Write(ref _slots[slot], buffer);
        return buffer;
    }

    /// <summary>
    /// This parameter's elements cut into <paramref name="parts"/> consecutive ranges (<see cref="Numerics.Parts"/>), each
    /// with a state that reads and writes its range of the slots; made once per number of parts.
    /// </summary>
    internal ParameterState<T>[] Ranges(int parts)
    {
        if (_ranges.Length != parts) _ranges = Cut(parts);   // apart: a lambda here would allocate its closure at every call
        return _ranges;
    }

    private ParameterState<T>[] Cut(int parts)
    {
        var ranges = new ParameterState<T>[parts];
        for (int part = 0; part < parts; part++)
        {
            var (start, length) = Numerics.Parts.Range<T>(Length, part, parts);
            ranges[part] = new ParameterState<T>(this, start, length);
        }
        return ranges;
    }

    /// <summary>The slot's buffer, zero-initialised on first use.</summary>
    public Span<T> Slot(int slot) => Slot(slot, T.Zero, out _);

    /// <summary>Puts a loaded buffer in the slot, or with null empties it (a slot the saved state did not have yet).</summary>
    internal void Restore(int slot, T[]? buffer)
    {
        _slots[slot] = buffer;
        _allocatedAt[slot] = 0;
    }
}
