using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Adadelta (Zeiler 2012; PyTorch's <c>torch.optim.Adadelta</c>): steps scaled by the ratio of two running RMS values, so the units match.</summary>
/// <remarks>
/// <code>
/// g = ±grad + weight_decay * p
/// v = rho * v + (1 - rho) * g * g                       (square_avg)
/// delta = sqrt(u + eps) / sqrt(v + eps) * g
/// u = rho * u + (1 - rho) * delta * delta               (acc_delta)
/// p = p - lr * delta
/// </code>
/// </remarks>
public sealed class Adadelta<T> : Optimizer<T, AdadeltaOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int SquareAvg = 0, AccDelta = 1;

    /// <summary>Creates Adadelta over <paramref name="parameters"/>.</summary>
    public Adadelta(IEnumerable<Parameter<T>> parameters, AdadeltaOptions? options = null) : base(parameters, options ?? new AdadeltaOptions()) { }

    /// <inheritdoc/>
    protected override bool ElementWise => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => ["square_avg", "acc_delta"];

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, AdadeltaOptions o) =>
        UpdateLoop.Run(p, grad, new Rule(o), state.Slot(SquareAvg), state.Slot(AccDelta));

    /// <summary>The update; slots: the average of squared gradients and of squared updates.</summary>
    private readonly struct Rule(AdadeltaOptions o) : IUpdateRule<T>
    {
        private readonly Vector<T> lr = Pointwise.Broadcast<T>(-o.LearningRate), eps = Pointwise.Broadcast<T>(o.Eps);
        private readonly Vector<T> rho = Pointwise.Broadcast<T>(o.Rho), keep = Pointwise.Broadcast<T>(1 - o.Rho);
        private readonly Decay<T> decay = new(o);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public Vector<T> Apply(Vector<T> p, Vector<T> grad, ref Vector<T> v, ref Vector<T> u, ref Vector<T> s2)
        {
            var w = decay.Apply(p, grad, out var g);
            v = Pointwise.EmaOfSquare(v, g, rho, keep);
            var delta = Vector.SquareRoot(u + eps) / Vector.SquareRoot(v + eps) * g;
            u = Pointwise.EmaOfSquare(u, delta, rho, keep);
            return Pointwise.AddScaled(w, lr, delta);
        }
    }
}
