using System.Numerics;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// Sharpness-aware minimization (Foret et al. 2021, "Sharpness-Aware Minimization for Efficiently Improving
/// Generalization") and its adaptive form (Kwon et al. 2021, ASAM), as the reference implementation
/// davda54/sam writes them: the wrapped optimizer steps with the gradient taken at the worst nearby point.
/// </summary>
/// <remarks>
/// <code>
/// n = || a * g ||  over all parameters            (a = |p| adaptive, else 1)
/// e = rho * a^2 * g / (n + 1e-12);   p = p + e;   g = closure() at p + e;   p = p - e (restored exactly);   step with g
/// </code>
/// Two gradient evaluations per update, so the optimizer needs <see cref="Optimizer{T}.Step(Func{double})"/>;
/// the loss it returns is the one at the unperturbed point.
/// </remarks>
public sealed class Sam<T> : OptimizerWrapper<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[][] _original = [];

    /// <summary>The neighbourhood radius <paramref name="rho"/> (0.05 in the paper; ASAM uses larger, e.g. 0.5), adaptive or not.</summary>
    public Sam(double rho = 0.05, bool adaptive = false)
    {
        if (!(rho > 0) || !double.IsFinite(rho)) throw new ArgumentException($"Invalid SAM rho {rho}: must be a finite number above 0, e.g. 0.05.");
        (Rho, Adaptive) = (rho, adaptive);
    }

    /// <inheritdoc/>
    public override string Name => Adaptive ? "asam" : "sam";

    /// <summary>The neighbourhood radius <c>rho</c>.</summary>
    public double Rho { get; }

    /// <summary>Whether the perturbation is scaled by the parameters (ASAM).</summary>
    public bool Adaptive { get; }

    /// <inheritdoc/>
    public override bool NeedsClosure => true;

    /// <inheritdoc/>
    protected override void Attached() => _original = NewBuffers();

    /// <inheritdoc/>
    protected internal override bool BeforeUpdate(Func<double>? closure)
    {
        if (closure is null) throw new InvalidOperationException($"{Name} takes a second gradient per update: call Step(closure).");
        double squares = 0;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var w = Parameters[i].Value.Span;
            var g = Parameters[i].Grad.Span;
            for (int j = 0; j < w.Length; j++)
            {
                double v = double.CreateTruncating(Adaptive ? T.Abs(w[j]) * g[j] : g[j]);
                squares += v * v;
            }
        }
        T scale = T.CreateTruncating(Rho / (Math.Sqrt(squares) + 1e-12));
        CopyParametersTo(_original);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var w = Parameters[i].Value.Span;
            var g = Parameters[i].Grad.Span;
            for (int j = 0; j < w.Length; j++) w[j] += (Adaptive ? w[j] * w[j] : T.One) * g[j] * scale;
        }
        closure();
        for (int i = 0; i < Parameters.Count; i++) _original[i].CopyTo(Parameters[i].Value.Span);
        return true;
    }

    /// <inheritdoc/>
    protected internal override void SaveState(StateDict state, string prefix)
    {
        SaveSetting(state, prefix, "rho", Rho);
        SaveSetting(state, prefix, "adaptive", Adaptive ? 1 : 0);
    }

    /// <inheritdoc/>
    protected internal override void LoadState(StateDict state, string prefix)
    {
        RequireSetting(state, prefix, "rho", Rho);
        RequireSetting(state, prefix, "adaptive", Adaptive ? 1 : 0);
    }
}
