using System.Numerics;

namespace Descent.Nn;

/// <summary>
/// A named tensor the optimizer updates: a value buffer, a gradient buffer of the same length, and a shape.
/// The buffers may be slices of one flat allocation (a model's parameters laid end to end), so an
/// optimizer step can run over contiguous memory.
/// </summary>
/// <typeparam name="T"><see cref="float"/> for networks, <see cref="double"/> for 2-D landscapes.</typeparam>
public sealed class Parameter<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a parameter over existing buffers (for example slices of a flat model buffer).</summary>
    /// <param name="name">Dotted name, e.g. <c>layers.0.weight</c>; optimizer state is saved under it.</param>
    /// <param name="shape">Dimensions; their product must equal the buffer lengths.</param>
    /// <param name="value">The parameter's values.</param>
    /// <param name="grad">The gradient buffer, written by backpropagation and read by the optimizer.</param>
    public Parameter(string name, int[] shape, Memory<T> value, Memory<T> grad)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Parameter '{name}': negative dimension {d} in shape [{string.Join(", ", shape)}].", nameof(shape));
            count *= d;
        }
        if (count != value.Length)
            throw new ArgumentException($"Parameter '{name}': shape [{string.Join(", ", shape)}] holds {count} values but the value buffer has {value.Length}.", nameof(value));
        if (grad.Length != value.Length)
            throw new ArgumentException($"Parameter '{name}': gradient buffer has {grad.Length} values, the value buffer {value.Length}; they must match.", nameof(grad));
        Name = name;
        Shape = (int[])shape.Clone();
        Value = value;
        Grad = grad;
    }

    /// <summary>Creates a parameter with freshly allocated, zeroed value and gradient buffers.</summary>
    public Parameter(string name, params int[] shape)
        : this(name, shape, new T[Product(shape)], new T[Product(shape)]) { }

    /// <summary>Creates a parameter holding a copy of <paramref name="values"/>, shaped as a vector.</summary>
    public static Parameter<T> FromValues(string name, params T[] values)
    {
        var p = new Parameter<T>(name, values.Length);
        values.CopyTo(p.Value);
        return p;
    }

    /// <summary>Dotted name, unique within a model.</summary>
    public string Name { get; }

    /// <summary>Dimensions of the tensor.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Values, updated in place by optimizers.</summary>
    public Memory<T> Value { get; }

    /// <summary>Gradient of the loss with respect to <see cref="Value"/>.</summary>
    public Memory<T> Grad { get; }

    /// <summary>Number of scalar entries.</summary>
    public int Length => Value.Length;

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGrad() => Grad.Span.Clear();

    /// <summary>
    /// The Euclidean norm of the gradient (PyTorch's <c>p.grad.norm()</c>), summed in double: after a backward pass,
    /// how strongly the loss pulls on this tensor.
    /// </summary>
    public double GradNorm()
    {
        double sum = 0;
        foreach (T g in Grad.Span)
        {
            double v = double.CreateTruncating(g);
            sum += v * v;
        }
        return Math.Sqrt(sum);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";

    private static int Product(int[] shape)
    {
        long n = 1;
        foreach (int d in shape) n *= Math.Max(d, 0);
        return checked((int)n);
    }
}
