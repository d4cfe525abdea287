using System.Text.Json;
using Descent.Nn;

namespace Descent.Tests;

/// <summary>
/// The least-squares problem of a reference case (tools/reference/generate.py "matrices", generate_beyond.py "least_squares"):
/// <c>loss = mean((x W^T + b - y)^2)</c>, batched over W's leading dimensions, with an optional bias b.
/// </summary>
internal sealed class LeastSquares(JsonElement c)
{
    private readonly int[] _shape = [.. c.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32())];
    private readonly double[] _x = Doubles(c, "inputs"), _y = Doubles(c, "targets");

    /// <summary>Reads a case's array of numbers.</summary>
    public static double[] Doubles(JsonElement c, string name) => [.. c.GetProperty(name).EnumerateArray().Select(v => v.GetDouble())];

    /// <summary>Whether the case has a bias.</summary>
    public bool HasBias { get; } = c.TryGetProperty("bias_init", out _);

    /// <summary>The weight (and bias) at the case's start.</summary>
    public Parameter<double>[] Parameters()
    {
        var w = new Parameter<double>("weight", _shape);
        Doubles(c, "init").CopyTo(w.Value.Span);
        if (!HasBias) return [w];
        var b = new Parameter<double>("bias", _shape[^2]);
        Doubles(c, "bias_init").CopyTo(b.Value.Span);
        return [w, b];
    }

    /// <summary>The loss, with the gradients written into the parameters.</summary>
    public double Evaluate(Parameter<double>[] parameters)
    {
        var w = parameters[0];
        int rows = _shape[^2], cols = _shape[^1], matrices = w.Length / (rows * cols), n = _x.Length / (matrices * cols);
        var value = w.Value.Span;
        var grad = w.Grad.Span;
        grad.Clear();
        if (HasBias) parameters[1].Grad.Span.Clear();
        double sum = 0, count = matrices * n * rows;
        for (int m = 0; m < matrices; m++)
            for (int i = 0; i < n; i++)
                for (int r = 0; r < rows; r++)
                {
                    double pred = 0;
                    for (int k = 0; k < cols; k++) pred += _x[(m * n + i) * cols + k] * value[(m * rows + r) * cols + k];
                    if (HasBias) pred += parameters[1].Value.Span[r];
                    double diff = pred - _y[(m * n + i) * rows + r];
                    sum += diff * diff;
                    for (int k = 0; k < cols; k++) grad[(m * rows + r) * cols + k] += 2 * diff / count * _x[(m * n + i) * cols + k];
                    if (HasBias) parameters[1].Grad.Span[r] += 2 * diff / count;
                }
        return sum / count;
    }
}
