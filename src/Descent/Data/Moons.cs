using Descent.Numerics;

namespace Descent.Data;

/// <summary>
/// The two-moons classification problem: two interleaving half circles (as scikit-learn's
/// <c>make_moons</c>), with Gaussian noise on the points, labels flipped at random, and optional
/// per-axis stretching.
/// </summary>
/// <remarks>
/// Class 0 lies on <c>(cos s, sin s)</c>, class 1 on <c>(1 - cos s, 1/2 - sin s)</c> for <c>s</c> evenly
/// spaced in <c>[0, pi]</c> (<c>n/2</c> points on the first, the rest on the second); the points are
/// shuffled, each coordinate gets <c>N(0, noise^2)</c>, each label is flipped with probability
/// <c>flip</c>, and finally x is multiplied by <c>stretchX</c> and y by <c>stretchY</c>. Every draw
/// comes from the given generator, in that order.
/// </remarks>
public static class Moons
{
    /// <summary>Draws a two-moons dataset.</summary>
    public static Dataset Generate(int n, double noise, double flip, double stretchX, double stretchY, Rng rng, string name = "moons")
    {
        if (n < 2) throw new ArgumentException($"Invalid moons size n = {n}: at least 2 points.");
        if (!(noise >= 0) || !double.IsFinite(noise)) throw new ArgumentException($"Invalid moons noise {noise}: must be a finite number >= 0.");
        if (!(flip >= 0 && flip <= 1)) throw new ArgumentException($"Invalid label-flip probability {flip}: must be in [0, 1].");
        if (!double.IsFinite(stretchX) || !double.IsFinite(stretchY) || stretchX == 0 || stretchY == 0)
            throw new ArgumentException($"Invalid stretch {stretchX},{stretchY}: both factors must be finite and non-zero.");
        int outer = n / 2, inner = n - outer;
        var points = new (double X, double Y, int Label)[n];
        for (int i = 0; i < outer; i++)
        {
            double s = outer == 1 ? 0 : Math.PI * i / (outer - 1);
            points[i] = (Math.Cos(s), Math.Sin(s), 0);
        }
        for (int i = 0; i < inner; i++)
        {
            double s = inner == 1 ? 0 : Math.PI * i / (inner - 1);
            points[outer + i] = (1 - Math.Cos(s), 0.5 - Math.Sin(s), 1);
        }
        rng.Shuffle(points.AsSpan());
        var features = new float[2 * n];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            var (x, y, label) = points[i];
            x += noise * rng.NextNormal();
            y += noise * rng.NextNormal();
            if (flip > 0 && rng.NextDouble() < flip) label = 1 - label;
            features[2 * i] = (float)(x * stretchX);
            features[2 * i + 1] = (float)(y * stretchY);
            labels[i] = label;
        }
        return new Dataset(name, features, labels, 2, 2);
    }
}
