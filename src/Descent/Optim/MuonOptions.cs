using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Muon{T}"/>, with PyTorch's defaults (<c>torch.optim.Muon</c>, PyTorch 2.9).</summary>
public sealed class MuonOptions : OptimizerOptions
{
    private static readonly Interval AnyReal = new(double.NegativeInfinity, false, double.PositiveInfinity, false);

    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        Hyperparameter.Real<MuonOptions>("weight_decay", Interval.NonNegative, "decoupled weight decay p *= 1 - lr*weight_decay",
            o => o.WeightDecay, (o, v) => o.WeightDecay = v),
        Hyperparameter.Real<MuonOptions>("momentum", Interval.NonNegative, "momentum factor", o => o.Momentum, (o, v) => o.Momentum = v),
        Hyperparameter.Flag<MuonOptions>("nesterov", "Nesterov momentum", o => o.Nesterov, (o, v) => o.Nesterov = v),
        Hyperparameter.Real<MuonOptions>("ns_a", AnyReal, "Newton-Schulz coefficient a (ns_coefficients[0])", o => o.NsA, (o, v) => o.NsA = v),
        Hyperparameter.Real<MuonOptions>("ns_b", AnyReal, "Newton-Schulz coefficient b (ns_coefficients[1])", o => o.NsB, (o, v) => o.NsB = v),
        Hyperparameter.Real<MuonOptions>("ns_c", AnyReal, "Newton-Schulz coefficient c (ns_coefficients[2])", o => o.NsC, (o, v) => o.NsC = v),
        Hyperparameter.Count<MuonOptions>("ns_steps", new Interval(0, true, 100, false), "Newton-Schulz iterations, below 100",
            o => o.NsSteps, (o, v) => o.NsSteps = v),
        Hyperparameter.Real<MuonOptions>("eps", Interval.NonNegative, "floor of the norm the update is divided by before Newton-Schulz",
            o => o.Eps, (o, v) => o.Eps = v),
        Hyperparameter.Flag<MuonOptions>("match_rms_adamw", "adjust_lr_fn='match_rms_adamw': lr * 0.2 sqrt(max(rows, cols)) instead of lr * sqrt(max(1, rows/cols))",
            o => o.MatchRmsAdamW, (o, v) => o.MatchRmsAdamW = v),
    ];

    /// <summary>Creates Muon options with lr = 1e-3, weight_decay = 0.1, momentum = 0.95, Nesterov, coefficients (3.4445, -4.7750, 2.0315), 5 steps, eps = 1e-7.</summary>
    public MuonOptions() => LearningRate = 1e-3;

    /// <summary>Decoupled weight decay <c>weight_decay</c>: <c>p *= 1 - lr * weight_decay</c> before the update.</summary>
    public double WeightDecay { get; set; } = 0.1;

    /// <summary>Momentum <c>momentum</c>: the buffer is the moving average <c>buf = lerp(buf, g, 1 - momentum)</c>.</summary>
    public double Momentum { get; set; } = 0.95;

    /// <summary>Nesterov momentum <c>nesterov</c>: orthogonalize <c>lerp(g, buf, momentum)</c> instead of the buffer.</summary>
    public bool Nesterov { get; set; } = true;

    /// <summary>Coefficient <c>a</c> of the quintic Newton-Schulz iteration <c>X = a X + (b A + c A^2) X</c>, <c>A = X X^T</c>.</summary>
    public double NsA { get; set; } = 3.4445;

    /// <summary>Coefficient <c>b</c> of the Newton-Schulz iteration.</summary>
    public double NsB { get; set; } = -4.7750;

    /// <summary>Coefficient <c>c</c> of the Newton-Schulz iteration.</summary>
    public double NsC { get; set; } = 2.0315;

    /// <summary>Newton-Schulz iterations <c>ns_steps</c> (PyTorch refuses 100 or more).</summary>
    public double NsSteps { get; set; } = 5;

    /// <summary>Floor <c>eps</c> of the Frobenius norm the update is divided by before the iterations.</summary>
    public double Eps { get; set; } = 1e-7;

    /// <summary>
    /// <c>adjust_lr_fn="match_rms_adamw"</c> (Moonshot's, "Muon is Scalable for LLM Training"): the step is
    /// <c>lr * 0.2 * sqrt(max(rows, cols))</c>, so Muon can reuse AdamW's learning rate and weight decay. Off, the
    /// default <c>"original"</c> (Keller Jordan's): <c>lr * sqrt(max(1, rows / cols))</c>.
    /// </summary>
    public bool MatchRmsAdamW { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Muon<T>(parameters, this);

    /// <summary>The learning rate for a <paramref name="rows"/> x <paramref name="cols"/> weight, by <c>adjust_lr_fn</c>.</summary>
    internal double AdjustedLearningRate(int rows, int cols) =>
        LearningRate * (MatchRmsAdamW ? 0.2 * Math.Sqrt(Math.Max(rows, cols)) : Math.Sqrt(Math.Max(1, (double)rows / cols)));

}
