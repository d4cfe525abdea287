using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Hyperparameters of <see cref="Lbfgs{T}"/>, with PyTorch's defaults.</summary>
public sealed class LbfgsOptions : OptimizerOptions
{
    private static readonly Hyperparameter[] Table =
    [
        .. Common(),
        Hyperparameter.Count<LbfgsOptions>("max_iter", new Interval(1, true, double.PositiveInfinity, false), "most iterations per step", o => o.MaxIter, (o, v) => o.MaxIter = v),
        Hyperparameter.Count<LbfgsOptions>("max_eval", Interval.NonNegative, "most loss evaluations per step, 0 for max_iter * 5 / 4 as torch's None", o => o.MaxEval, (o, v) => o.MaxEval = v),
        Hyperparameter.Real<LbfgsOptions>("tolerance_grad", Interval.NonNegative, "stop when the largest gradient entry is at most this", o => o.ToleranceGrad, (o, v) => o.ToleranceGrad = v),
        Hyperparameter.Real<LbfgsOptions>("tolerance_change", Interval.NonNegative, "stop when the step or the change of the loss is below this", o => o.ToleranceChange, (o, v) => o.ToleranceChange = v),
        Hyperparameter.Count<LbfgsOptions>("history_size", new Interval(1, true, double.PositiveInfinity, false), "number of curvature pairs kept", o => o.HistorySize, (o, v) => o.HistorySize = v),
        Hyperparameter.Flag<LbfgsOptions>("strong_wolfe", "line_search_fn='strong_wolfe': search along the direction for the strong Wolfe conditions", o => o.StrongWolfe, (o, v) => o.StrongWolfe = v),
    ];

    /// <summary>Creates L-BFGS options with lr = 1, max_iter = 20, tolerances 1e-7 (gradient) and 1e-9 (change), history_size = 100, no line search.</summary>
    public LbfgsOptions() => LearningRate = 1;

    /// <summary>Most iterations per step <c>max_iter</c>.</summary>
    public double MaxIter { get; set; } = 20;

    /// <summary>Most loss evaluations per step <c>max_eval</c>; 0 means <c>max_iter * 5 / 4</c> (PyTorch's <c>None</c>).</summary>
    public double MaxEval { get; set; }

    /// <summary>First-order optimality tolerance <c>tolerance_grad</c>.</summary>
    public double ToleranceGrad { get; set; } = 1e-7;

    /// <summary>Tolerance <c>tolerance_change</c> on the step and on the change of the loss.</summary>
    public double ToleranceChange { get; set; } = 1e-9;

    /// <summary>Number of curvature pairs kept, <c>history_size</c>.</summary>
    public double HistorySize { get; set; } = 100;

    /// <summary>Search along each direction for a step that meets the strong Wolfe conditions (<c>line_search_fn="strong_wolfe"</c>).</summary>
    public bool StrongWolfe { get; set; }

    /// <summary>The evaluation budget: <see cref="MaxEval"/>, or <c>max_iter * 5 / 4</c> when it is 0.</summary>
    internal long EvaluationBudget => MaxEval > 0 ? (long)MaxEval : (long)MaxIter * 5 / 4;

    /// <summary>Most evaluations of one strong-Wolfe line search (torch's <c>max_ls</c>).</summary>
    internal const int LineSearchEvaluations = 25;

    /// <summary>
    /// Most loss and gradient evaluations one step can take: the budget, which a step stops at after the iteration
    /// that reaches it, plus that iteration's own (one, or up to 25 in the strong-Wolfe search).
    /// </summary>
    public long MaxEvaluationsPerStep => EvaluationBudget + (StrongWolfe ? LineSearchEvaluations : 1);

    /// <inheritdoc/>
    public override IReadOnlyList<Hyperparameter> Hyperparameters => Table;

    internal override Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) => new Lbfgs<T>(parameters, this);
}
