using Descent.State;

namespace Descent.Numerics;

/// <summary>
/// The random number generator behind every random draw in Descent: xoshiro256** (Blackman and Vigna
/// 2018), seeded by expanding a 64-bit seed with SplitMix64. Both algorithms are fixed and documented,
/// so a seed gives the same numbers on every machine, runtime and thread count. Its state can be saved
/// and restored exactly.
/// </summary>
/// <remarks>
/// Derived draws: <see cref="NextDouble"/> takes the top 53 bits (<c>[0, 1)</c>); <see cref="NextInt"/>
/// uses Lemire's unbiased multiply-and-reject; <see cref="NextNormal"/> is the Box-Muller transform
/// <c>sqrt(-2 ln(1 - u1)) cos(2 pi u2)</c>, keeping the sine partner for the next call.
/// </remarks>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spare;
    private bool _hasSpare;

    /// <summary>Creates a generator from a seed.</summary>
    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>A generator for stream <paramref name="stream"/> of <paramref name="seed"/>: independent streams (data, initialization, shuffling) from one user seed.</summary>
    public static Rng ForStream(ulong seed, ulong stream)
    {
        ulong x = seed ^ (0x9E3779B97F4A7C15UL * (stream + 1));
        return new Rng(SplitMix(ref x));
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [0, <paramref name="n"/>), unbiased.</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ulong bound = (ulong)n;
        ulong threshold = (0UL - bound) % bound;
        while (true)
        {
            UInt128 product = (UInt128)NextUInt64() * bound;
            if ((ulong)product >= threshold) return (int)(product >> 64);
        }
    }

    /// <summary>Standard normal draw (Box-Muller).</summary>
    public double NextNormal()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }
        double radius = Math.Sqrt(-2 * Math.Log(1 - NextDouble()));
        double angle = 2 * Math.PI * NextDouble();
        _spare = radius * Math.Sin(angle);
        _hasSpare = true;
        return radius * Math.Cos(angle);
    }

    /// <summary>Shuffles in place (Fisher-Yates, from the end).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Writes the generator's exact state.</summary>
    public void SaveState(StateDict state, string prefix)
    {
        state.Set(prefix + ".s", [BitConverter.UInt64BitsToDouble(_s0), BitConverter.UInt64BitsToDouble(_s1), BitConverter.UInt64BitsToDouble(_s2), BitConverter.UInt64BitsToDouble(_s3), _spare, _hasSpare ? 1 : 0]);
    }

    /// <summary>Restores the state written by <see cref="SaveState"/>.</summary>
    public void LoadState(StateDict state, string prefix)
    {
        Span<double> s = stackalloc double[6];
        state.CopyTo(prefix + ".s", s);
        _s0 = BitConverter.DoubleToUInt64Bits(s[0]);
        _s1 = BitConverter.DoubleToUInt64Bits(s[1]);
        _s2 = BitConverter.DoubleToUInt64Bits(s[2]);
        _s3 = BitConverter.DoubleToUInt64Bits(s[3]);
        _spare = s[4];
        _hasSpare = s[5] != 0;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
