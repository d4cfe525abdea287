using Descent.Nn;

namespace Descent.Analysis;

/// <summary>
/// Exact Hessian-vector products <c>H v</c> of a dense network's mean loss over a fixed batch, by Pearlmutter's
/// R-operator (forward-over-reverse): the forward pass carries each value's directional derivative
/// <c>R{.} = d/dt (.)(w + t v)</c> at t = 0 beside it, and the backward pass differentiates the gradient the same
/// way, so <c>R{grad} = H v</c> in one forward and one backward pass with no step size to choose (central
/// differences of gradients straddle ReLU kinks and lose half the digits). Double precision; the parameters are
/// read from the network at every product, in the order of <see cref="Layer{T}.Parameters"/>.
/// </summary>
public sealed class HessianVectorProduct
{
    private readonly Sequential<double> _model;
    private readonly double[] _x;
    private readonly int[] _y;
    private readonly Loss _loss;
    private readonly int _batch;
    private readonly double[][] _z, _rz, _a, _ra;   // per layer: pre-activations, outputs of the activation, and their R{.}
    private readonly double[] _delta, _rdelta, _e, _re;

    /// <summary>Products for <paramref name="model"/> on the examples <paramref name="x"/> (<c>[batch, inputs]</c>) with <paramref name="labels"/>.</summary>
    public HessianVectorProduct(Sequential<double> model, double[] x, int[] labels, Loss loss)
    {
        if (x.Length != labels.Length * model.Inputs)
            throw new ArgumentException($"{labels.Length} examples of {model.Inputs} features need {labels.Length * model.Inputs} inputs, got {x.Length}.");
        _model = model;
        _x = x;
        _y = labels;
        _loss = loss;
        _batch = labels.Length;
        int layers = model.Sizes.Count - 1, widest = model.Sizes.Max();
        _z = [.. Enumerable.Range(0, layers).Select(l => new double[_batch * model.Sizes[l + 1]])];
        _rz = [.. Enumerable.Range(0, layers).Select(l => new double[_batch * model.Sizes[l + 1]])];
        _a = [x, .. Enumerable.Range(1, layers - 1).Select(l => new double[_batch * model.Sizes[l]])];
        _ra = [new double[x.Length], .. Enumerable.Range(1, layers - 1).Select(l => new double[_batch * model.Sizes[l]])];
        _delta = new double[_batch * widest];
        _rdelta = new double[_batch * widest];
        _e = new double[_batch * widest];
        _re = new double[_batch * widest];
    }

    /// <summary>Number of parameters (the length of <c>v</c>).</summary>
    public int Dimension => _model.Values.Length;

    /// <summary>Writes <c>H v</c> into <paramref name="result"/>.</summary>
    public void Multiply(ReadOnlySpan<double> v, Span<double> result)
    {
        if (v.Length != Dimension || result.Length != Dimension)
            throw new ArgumentException($"Hessian-vector product: the vectors must have {Dimension} entries (got {v.Length} and {result.Length}).");
        var sizes = _model.Sizes;
        int layers = sizes.Count - 1, batch = _batch;
        var p = _model.Parameters;

        // Forward: z = a W^T + b and R{z} = a V_W^T + R{a} W^T + V_b; a' = f(z), R{a'} = f'(z) R{z}.
        for (int l = 0, offset = 0; l < layers; l++)
        {
            int n = sizes[l], m = sizes[l + 1];
            var w = p[2 * l].Value.Span;
            var b = p[2 * l + 1].Value.Span;
            var vw = v.Slice(offset, m * n);
            var vb = v.Slice(offset + m * n, m);
            offset += m * n + m;
            double[] a = _a[l], ra = _ra[l], z = _z[l], rz = _rz[l];
            for (int r = 0; r < batch; r++)
                for (int j = 0; j < m; j++)
                {
                    double s = b[j], rs = vb[j];
                    for (int i = 0; i < n; i++)
                    {
                        double ai = a[r * n + i];
                        s += w[j * n + i] * ai;
                        rs += vw[j * n + i] * ai + w[j * n + i] * ra[r * n + i];
                    }
                    z[r * m + j] = s;
                    rz[r * m + j] = rs;
                }
            if (l + 1 < layers)
            {
                Activations.Forward<double>(_model.Activation, z, _a[l + 1]);
                for (int k = 0; k < z.Length; k++) _ra[l + 1][k] = Activations.Derivatives(_model.Activation, z[k]).First * rz[k];
            }
        }

        // The loss: its gradient g with respect to the outputs and R{g} = (d^2 loss / d outputs^2) R{outputs}.
        int outputs = sizes[^1];
        OutputGradient(_z[^1], _rz[^1], outputs);

        // Backward: dW = delta^T a, R{dW} = R{delta}^T a + delta^T R{a}; then through W and the activation.
        int end = Dimension;
        for (int l = layers - 1; l >= 0; l--)
        {
            int n = sizes[l], m = sizes[l + 1];
            var w = p[2 * l].Value.Span;
            end -= m * n + m;
            var vw = v.Slice(end, m * n);
            var hw = result.Slice(end, m * n);
            var hb = result.Slice(end + m * n, m);
            double[] a = _a[l], ra = _ra[l];
            hw.Clear();
            hb.Clear();
            for (int r = 0; r < batch; r++)
                for (int j = 0; j < m; j++)
                {
                    double d = _delta[r * m + j], rd = _rdelta[r * m + j];
                    hb[j] += rd;
                    for (int i = 0; i < n; i++) hw[j * n + i] += rd * a[r * n + i] + d * ra[r * n + i];
                }
            if (l == 0) break;
            for (int r = 0; r < batch; r++)
                for (int i = 0; i < n; i++)
                {
                    double e = 0, re = 0;
                    for (int j = 0; j < m; j++)
                    {
                        e += _delta[r * m + j] * w[j * n + i];
                        re += _rdelta[r * m + j] * w[j * n + i] + _delta[r * m + j] * vw[j * n + i];
                    }
                    _e[r * n + i] = e;
                    _re[r * n + i] = re;
                }
            var zPrev = _z[l - 1];
            var rzPrev = _rz[l - 1];
            for (int k = 0; k < batch * n; k++)
            {
                var (d1, d2) = Activations.Derivatives(_model.Activation, zPrev[k]);
                _delta[k] = d1 * _e[k];
                _rdelta[k] = d2 * rzPrev[k] * _e[k] + d1 * _re[k];
            }
        }
    }

    /// <summary>
    /// <c>delta = d loss / d z</c> and <c>R{delta}</c> for the mean loss over the batch: cross-entropy
    /// <c>(p - y) / B</c> and <c>(p * r - p (p . r)) / B</c>; binary cross-entropy <c>(s - y) / B</c> and
    /// <c>s (1 - s) r / B</c>; squared error <c>2 (z - y) / (B k)</c> and <c>2 r / (B k)</c>.
    /// </summary>
    private void OutputGradient(double[] z, double[] rz, int k)
    {
        int batch = _batch;
        for (int r = 0; r < batch; r++)
        {
            int y = _y[r];
            var row = z.AsSpan(r * k, k);
            var rrow = rz.AsSpan(r * k, k);
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
