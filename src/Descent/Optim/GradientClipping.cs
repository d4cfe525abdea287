using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Gradient clipping, applied between backpropagation and the optimizer step (PyTorch's <c>torch.nn.utils.clip_grad_*</c>).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Rescales all gradients together so their global norm is at most <paramref name="maxNorm"/>:
    /// with <c>n</c> the norm of all gradients as one vector, each is multiplied by
    /// <c>min(1, maxNorm / (n + 1e-6))</c>. Returns <c>n</c> (before clipping).
    /// </summary>
    /// <param name="parameters">The parameters whose gradients are clipped.</param>
    /// <param name="maxNorm">Largest allowed norm.</param>
    /// <param name="normType">The p of the p-norm; <see cref="double.PositiveInfinity"/> for the maximum norm.</param>
    public static double ClipByGlobalNorm<T>(IReadOnlyList<Parameter<T>> parameters, double maxNorm, double normType = 2)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(maxNorm >= 0) || double.IsNaN(maxNorm))
            throw new ArgumentException($"Invalid max_norm: {maxNorm} (must be >= 0).");
        if (!(normType > 0))
            throw new ArgumentException($"Invalid norm_type: {normType} (must be > 0, or infinity).");
        double total = 0;
        for (int k = 0; k < parameters.Count; k++)
        {
            var g = parameters[k].Grad.Span;
            for (int i = 0; i < g.Length; i++)
            {
                double a = Math.Abs(double.CreateTruncating(g[i]));
                if (double.IsPositiveInfinity(normType)) total = Math.Max(total, a);
                else if (normType == 2) total += a * a;
                else total += Math.Pow(a, normType);
            }
        }
        double norm = double.IsPositiveInfinity(normType) ? total : normType == 2 ? Math.Sqrt(total) : Math.Pow(total, 1 / normType);
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient < 1)
        {
            T c = T.CreateTruncating(coefficient);
            for (int k = 0; k < parameters.Count; k++)
            {
                var g = parameters[k].Grad.Span;
                for (int i = 0; i < g.Length; i++) g[i] *= c;
            }
        }
        return norm;
    }

    /// <summary>Clamps every gradient entry to <c>[-clipValue, clipValue]</c>.</summary>
    public static void ClipByValue<T>(IReadOnlyList<Parameter<T>> parameters, double clipValue)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(clipValue >= 0) || !double.IsFinite(clipValue))
            throw new ArgumentException($"Invalid clip_value: {clipValue} (must be a finite number >= 0).");
        T hi = T.CreateTruncating(clipValue), lo = -hi;
        for (int k = 0; k < parameters.Count; k++)
        {
            var g = parameters[k].Grad.Span;
            for (int i = 0; i < g.Length; i++) g[i] = T.Clamp(g[i], lo, hi);
        }
    }
}
