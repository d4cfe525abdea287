using Descent.Nn;

namespace Descent.Analysis;

/// <summary>
/// Exact Hessian-vector products <c>H v</c> of a network's mean loss over a fixed batch, by Pearlmutter's
/// R-operator (forward-over-reverse): the forward pass carries each value's directional derivative
/// <c>R{.} = d/dt (.)(w + t v)</c> at t = 0 beside it (<see cref="Layer{T}.RForward"/>), and the backward pass
/// differentiates the gradient the same way (<see cref="Layer{T}.RBackward"/>), so <c>R{grad} = H v</c> in one
/// forward and one backward pass with no step size to choose (central differences of gradients straddle ReLU kinks
/// and lose half the digits). Any model of dense, convolutional, pooling, flatten and activation layers, residual
/// connections, and batch normalization and dropout in evaluation mode; double precision. The parameters are read
/// from the model at every product, in the order of <see cref="Layer{T}.Parameters"/>; a product overwrites the
/// model's gradients.
/// </summary>
public sealed class HessianVectorProduct
{
    private readonly Layer<double> _model;
    private readonly double[] _x, _rx;
    private readonly int[] _y;
    private readonly Loss _loss;
    private readonly int _batch;
    private readonly double[] _delta, _rdelta;

    /// <summary>Products for <paramref name="model"/> on the examples <paramref name="x"/> (<c>batch</c> examples of its input shape) with <paramref name="labels"/>.</summary>
    public HessianVectorProduct(Layer<double> model, double[] x, int[] labels, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (x.Length != labels.Length * model.InputSize)
            throw new ArgumentException($"{labels.Length} examples of {model.InputSize} features need {labels.Length * model.InputSize} inputs, got {x.Length}.");
        _model = model;
        _x = x;
        _rx = new double[x.Length];
        _y = labels;
        _loss = loss;
        _batch = labels.Length;
        _delta = new double[_batch * model.OutputSize];
        _rdelta = new double[_batch * model.OutputSize];
    }

    /// <summary>Number of parameters (the length of <c>v</c>).</summary>
    public int Dimension => _model.Values.Length;

    /// <summary>Writes <c>H v</c> into <paramref name="result"/>.</summary>
    public void Multiply(ReadOnlySpan<double> v, Span<double> result)
    {
        if (v.Length != Dimension || result.Length != Dimension)
            throw new ArgumentException($"Hessian-vector product: the vectors must have {Dimension} entries (got {v.Length} and {result.Length}).");
        var outputs = _model.Forward(_x, _batch);
        // The inputs do not move with the weights: R{x} = 0.
        var rOutputs = _model.RForward(_x, _rx, v, _batch);
        OutputGradient(outputs, rOutputs, _model.OutputSize);
        result.Clear();
        _model.RBackward(_x, _rx, _delta, _rdelta, v, [], result, _batch);
    }

    /// <summary>
    /// <c>delta = d loss / d z</c> and <c>R{delta}</c> for the mean loss over the batch: cross-entropy
    /// <c>(p - y) / B</c> and <c>(p * r - p (p . r)) / B</c>; binary cross-entropy <c>(s - y) / B</c> and
    /// <c>s (1 - s) r / B</c>; squared error <c>2 (z - y) / (B k)</c> and <c>2 r / (B k)</c>.
    /// </summary>
    private void OutputGradient(ReadOnlySpan<double> z, ReadOnlySpan<double> rz, int k)
    {
        int batch = _batch;
        for (int r = 0; r < batch; r++)
        {
            int y = _y[r];
            var row = z.Slice(r * k, k);
            var rrow = rz.Slice(r * k, k);
            var d = _delta.AsSpan(r * k, k);
            var rd = _rdelta.AsSpan(r * k, k);
            switch (_loss)
            {
                case Loss.CrossEntropy:
                    {
                        double max = double.NegativeInfinity, sum = 0, dot = 0;
                        foreach (double v in row) max = Math.Max(max, v);
                        for (int j = 0; j < k; j++) sum += d[j] = Math.Exp(row[j] - max);
                        for (int j = 0; j < k; j++) dot += (d[j] /= sum) * rrow[j];
                        for (int j = 0; j < k; j++)
                        {
                            rd[j] = d[j] * (rrow[j] - dot) / batch;
                            d[j] = (d[j] - (j == y ? 1 : 0)) / batch;
                        }
                        break;
                    }
                case Loss.BinaryCrossEntropy:
                    {
                        double s = 1 / (1 + Math.Exp(-row[0]));
                        d[0] = (s - y) / batch;
                        rd[0] = s * (1 - s) * rrow[0] / batch;
                        break;
                    }
                default:
                    for (int j = 0; j < k; j++)
                    {
                        d[j] = 2 * (row[j] - (j == y ? 1 : 0)) / ((double)batch * k);
                        rd[j] = 2 * rrow[j] / ((double)batch * k);
                    }
                    break;
            }
        }
    }
}
