using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Averaged SGD (Polyak and Juditsky 1992; PyTorch's <c>torch.optim.ASGD</c>): SGD with a decaying step size
/// that also keeps the running average <c>ax</c> of the iterates, the estimate to use after training.
/// </summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p
/// p = p * (1 - lambd * eta_t);   p = p - eta_t * g
/// ax = ax + mu_t * (p - ax)                  (ax = p while mu_t = 1)
/// eta_{t+1} = lr / (1 + lambd * lr * t)^alpha;   mu_{t+1} = 1 / max(1, t - t0)      (eta_1 = lr, mu_1 = 1)
/// </code>
/// </remarks>
public sealed class Asgd<T> : Optimizer<T, AsgdOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Ax = 0, Eta = 0, Mu = 1;

    /// <summary>Creates ASGD over <paramref name="parameters"/>.</summary>
    public Asgd(IEnumerable<Parameter<T>> parameters, AsgdOptions? options = null) : base(parameters, options ?? new AsgdOptions()) { }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["ax"];

    /// <inheritdoc/>
    protected override IReadOnlyList<string> ScalarNames => ["eta", "mu"];

    /// <inheritdoc/>
    protected override double[] InitialScalars => [double.NaN, 1.0];

    /// <summary>The running average of the iterates of the parameter called <paramref name="name"/> (PyTorch's <c>state['ax']</c>).</summary>
    public ReadOnlySpan<T> Averaged(string name) => StateOf(name).Peek(Ax);

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AsgdOptions o)
    {
        var s = state.Scalars;
        if (double.IsNaN(s[Eta])) s[Eta] = Pointwise.Stored<T>(o.LearningRate);   // torch starts eta at the group's lr on the first step
        UpdateLoop.Run(p, grad, new Rule(o, s[Eta], s[Mu]), state.Slot(Ax));
        long t = state.Step;
        s[Eta] = Pointwise.Stored<T>(o.LearningRate / Math.Pow(1 + o.Lambd * o.LearningRate * t, o.Alpha));
        s[Mu] = Pointwise.Stored<T>(1.0 / Math.Max(1, t - o.T0));
    }

    /// <summary>The update with this step's eta and mu; slot: the average of the iterates.</summary>
    private readonly struct Rule(AsgdOptions o, double eta, double mu) : IUpdateRule<T>
    {
        private readonly Vector<T> step = Pointwise.Broadcast<T>(-eta), shrink = Pointwise.Broadcast<T>(1 - o.Lambd * eta), mu = Pointwise.Broadcast<T>(mu);
        private readonly Decay<T> decay = new(o);
        private readonly bool average = mu != 1;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> ax, ref Vector<T> s1, ref Vector<T> s2)
        {
            var w = decay.Apply(p, grad, out var g);
            w = Pointwise.AddScaled(w * shrink, step, g);
            ax = average ? ax + (w - ax) * mu : w;
            return w;
        }
    }
}
