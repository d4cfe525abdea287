using Descent.Data;
using Descent.Nn;
using Descent.Numerics;

namespace Descent.Analysis;

/// <summary>
/// The geometry of a trained network's minimum: the full-batch training loss as a function of the
/// weights, its exact Hessian-vector products (the R-operator, <see cref="HessianVectorProduct"/>, in double
/// precision), the extreme Hessian eigenvalues by power iteration, the top few by Lanczos, the trace by
/// Hutchinson's estimator, the eigenvalue density by stochastic Lanczos quadrature, and the loss increase
/// under random weight perturbations of a fixed relative size.
/// </summary>
public sealed class Curvature
{
    private readonly Sequential<double> _model;
    private readonly double[] _x;
    private readonly int[] _y;
    private readonly Loss _loss;
    private readonly double[] _gradOut;
    private readonly double[] _origin;
    private readonly HessianVectorProduct _hvp;

    /// <summary>
    /// Copies the weights of <paramref name="model"/>, a network built from layer widths, into a double-precision
    /// twin evaluated on <paramref name="data"/>. For other models build the double-precision model (for example with
    /// <see cref="ModelSpec.Build{T}"/>), copy the weights in, and use the other constructor.
    /// </summary>
    public Curvature(Sequential<float> model, Dataset data, Loss loss) : this(Twin(model), data, loss) { }

    /// <summary>
    /// The curvature of <paramref name="model"/> (any network of the layers <see cref="HessianVectorProduct"/> supports,
    /// in evaluation mode if it has batch normalization or dropout) on <paramref name="data"/>, at its current weights;
    /// the model is used in place and its weights are restored after every evaluation.
    /// </summary>
    public Curvature(Sequential<double> model, Dataset data, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _x = [.. data.Features.Select(v => (double)v)];
        _y = data.Labels;
        _loss = loss;
        _gradOut = new double[data.Count * model.Outputs];
        _origin = _model.Values.ToArray();
        _hvp = new HessianVectorProduct(_model, _x, _y, loss);
    }

    private static Sequential<double> Twin(Sequential<float> model)
    {
        if (model.Sizes.Count == 0)
            throw new ArgumentException("Curvature: only a network built from layer widths has a double-precision twin made here; build the model in double precision and pass that.");
        var twin = new Sequential<double>(model.Sizes, model.Activation, Initialization.Torch, new Rng(0));
        for (int i = 0; i < model.Values.Length; i++) twin.Values[i] = model.Values[i];
        return twin;
    }

    /// <summary>Number of weights.</summary>
    public int Dimension => _origin.Length;

    /// <summary>The full-batch loss at the trained weights plus <paramref name="delta"/> (empty for none); its gradient goes to <paramref name="gradient"/> unless empty.</summary>
    public double Loss(ReadOnlySpan<double> delta, Span<double> gradient)
    {
        for (int i = 0; i < _origin.Length; i++) _model.Values[i] = _origin[i] + (delta.IsEmpty ? 0 : delta[i]);
        _model.ZeroGrad();
        int n = _y.Length;
        var outputs = _model.Forward(_x, n);
        double value = Losses.Evaluate(_loss, outputs, _y, n, gradient.IsEmpty ? [] : _gradOut, out _);
        if (!gradient.IsEmpty)
        {
            _model.Backward(_x, _gradOut, n);
            _model.Gradients.CopyTo(gradient);
        }
        return value;
    }

    /// <summary><c>H v</c> at the trained weights, exactly (forward-over-reverse).</summary>
    public void HessianTimes(ReadOnlySpan<double> v, Span<double> result)
    {
        _origin.CopyTo(_model.Values);
        _hvp.Multiply(v, result);
    }

    /// <summary>The <paramref name="count"/> largest Hessian eigenvalues by <paramref name="steps"/> Lanczos steps.</summary>
    public double[] TopEigenvalues(int count, int steps, Rng rng) => Lanczos.TopEigenvalues(HessianTimes, Dimension, count, steps, rng);

    /// <summary>The Hessian's trace by Hutchinson's estimator over <paramref name="probes"/> random sign vectors.</summary>
    public double Trace(int probes, Rng rng) => Lanczos.Trace(HessianTimes, Dimension, probes, rng);

    /// <summary>The Hessian's eigenvalue density by stochastic Lanczos quadrature (see <see cref="Lanczos.Quadrature"/>).</summary>
    public (double[] Values, double[] Weights)[] SpectralQuadrature(int steps, int probes, Rng rng) => Lanczos.Quadrature(HessianTimes, Dimension, steps, probes, rng);

    /// <summary>
    /// The largest and smallest Hessian eigenvalues: the extreme Ritz values of <paramref name="iterations"/> Lanczos
    /// steps from a random start (Lanczos converges to both ends of the spectrum at once).
    /// </summary>
    public (double Max, double Min) ExtremeEigenvalues(int iterations, Rng rng)
    {
        var start = new double[Dimension];
        for (int i = 0; i < start.Length; i++) start[i] = rng.NextNormal();
        var (values, _) = Lanczos.Run(HessianTimes, start, iterations);
        return (values[0], values[^1]);
    }

    /// <summary>
    /// The mean increase of the loss when each layer's weights and biases are moved by Gaussian noise scaled to
    /// <paramref name="relativeSize"/> times that tensor's norm, over <paramref name="draws"/> draws.
    /// </summary>
    public double PerturbedLossIncrease(double relativeSize, int draws, Rng rng)
    {
        double baseLoss = Loss([], []);
        var delta = new double[Dimension];
        double total = 0;
        for (int d = 0; d < draws; d++)
        {
            int offset = 0;
            foreach (var p in _model.Parameters)
            {
                double wNorm = 0, uNorm = 0;
                for (int i = 0; i < p.Length; i++)
                {
                    delta[offset + i] = rng.NextNormal();
                    uNorm += delta[offset + i] * delta[offset + i];
                    wNorm += _origin[offset + i] * _origin[offset + i];
                }
                double scale = relativeSize * Math.Sqrt(wNorm / Math.Max(uNorm, 1e-300));
                for (int i = 0; i < p.Length; i++) delta[offset + i] *= scale;
                offset += p.Length;
            }
            total += Loss(delta, []) - baseLoss;
        }
        Loss([], []);
        return total / draws;
    }
}
