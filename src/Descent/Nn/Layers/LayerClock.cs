using System.Diagnostics;

namespace Descent.Nn;

/// <summary>
/// The time a <see cref="Sequential{T}"/> spends in each of its own layers' forward and backward passes while this clock is
/// its <see cref="Sequential{T}.Clock"/>, added up over the passes since the clock was made or <see cref="Reset"/>: the
/// passes exactly as training runs them, so a convolution that runs the max pooling after it inside its own passes (an
/// example at a time) counts the pooling's time, and the pooling and the ReLU it applies, which then run no pass of their
/// own, count none (nor does a layer that passes its input through in the backward pass, such as a flattening). Reading
/// the clock costs nothing; keeping it costs two timestamps per layer and pass.
/// </summary>
public sealed class LayerClock
{
    private readonly long[] _forward, _backward;

    /// <summary>A clock for a chain of <paramref name="layers"/> layers, all at zero.</summary>
    public LayerClock(int layers)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        (_forward, _backward) = (new long[layers], new long[layers]);
    }

    /// <summary>The layers it times.</summary>
    public int Layers => _forward.Length;

    /// <summary>Milliseconds in layer <paramref name="layer"/>'s forward passes.</summary>
    public double ForwardMilliseconds(int layer) => _forward[layer] * 1000.0 / Stopwatch.Frequency;

    /// <summary>Milliseconds in layer <paramref name="layer"/>'s backward passes.</summary>
    public double BackwardMilliseconds(int layer) => _backward[layer] * 1000.0 / Stopwatch.Frequency;

    /// <summary>Sets every layer's times back to zero.</summary>
    public void Reset()
    {
        Array.Clear(_forward);
        Array.Clear(_backward);
    }

    /// <summary>Adds the time since timestamp <paramref name="start"/> to layer <paramref name="layer"/>'s forward or backward passes.</summary>
    internal void Add(int layer, bool backward, long start) => (backward ? _backward : _forward)[layer] += Stopwatch.GetTimestamp() - start;
}
