using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// The hyperparameters of one optimizer (one parameter group's, when there are groups), like a
/// PyTorch <c>param_group</c> dictionary but typed: every optimizer has a learning rate and a maximize
/// switch; the rest are its own, and an options type has a setting only if its rule reads it. Values can
/// also be read and written by their PyTorch names, which is how schedules, parameter-group overrides and
/// the command line reach them; torch's pairs are two numbers here (<c>betas</c> is <c>beta1</c> and <c>beta2</c>,
/// <c>etas</c> <c>etaminus</c> and <c>etaplus</c>, <c>step_sizes</c> <c>step_size_min</c> and <c>step_size_max</c>).
/// </summary>
public abstract class OptimizerOptions
{
    /// <summary>Step size <c>lr</c>.</summary>
    public double LearningRate { get; set; }

    /// <summary>Maximize the objective instead of minimizing it (<c>maximize</c>): the gradient is negated on entry.</summary>
    public bool Maximize { get; set; }

    /// <summary>The named hyperparameters of this optimizer, in the order they are documented.</summary>
    public abstract IReadOnlyList<Hyperparameter> Hyperparameters { get; }

    /// <summary>The name of the optimizer these options belong to (<c>sgd</c>, <c>adam</c>, ...), from its registration.</summary>
    public string OptimizerName => Optimizers.NameOf(this);

    /// <summary>Whether this optimizer has a hyperparameter called <paramref name="name"/>.</summary>
    public bool Has(string name) => TryFind(name) is not null;

    /// <summary>
    /// The hyperparameter called <paramref name="name"/>, or an error listing the valid names (and, for one of torch's pairs
    /// or its line search name, the names it is split into here).
    /// </summary>
    public Hyperparameter Find(string name) => TryFind(name)
        ?? throw new ArgumentException($"Unknown hyperparameter '{name}' for {OptimizerName}: {SplitPair(name)}valid names are {string.Join(", ", Hyperparameters.Select(h => h.Name))}.");

    /// <summary>torch's settings that hold a pair (or a word) and the numbers they are written as here, each a hyperparameter of its own.</summary>
    private static readonly Dictionary<string, string> TorchPairs = new(StringComparer.Ordinal)
    {
        ["betas"] = "beta1 and beta2",
        ["etas"] = "etaminus and etaplus",
        ["step_sizes"] = "step_size_min and step_size_max",
        ["line_search_fn"] = "strong_wolfe (1 for 'strong_wolfe')",
    };

    private string SplitPair(string name) =>
        TorchPairs.TryGetValue(name, out var split) && split.Split(' ')[0] is var first && TryFind(first) is not null
            ? $"torch's {name} is written as {split} here; " : "";

    /// <summary>Reads a hyperparameter by its PyTorch name.</summary>
    public double Get(string name) => Find(name).Get(this);

    /// <summary>Sets a hyperparameter by its PyTorch name, after checking the value.</summary>
    public void Set(string name, double value) => Find(name).Set(this, value);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid hyperparameter and its valid range.</summary>
    public void Validate()
    {
        var table = Hyperparameters;
        for (int i = 0; i < table.Count; i++) table[i].Check(table[i].Get(this));
        CheckCombination();
    }

    /// <summary>An independent copy (parameter groups start from a copy of the defaults).</summary>
    public OptimizerOptions Clone() => (OptimizerOptions)MemberwiseClone();

    /// <summary>Creates the optimizer these options configure, over <paramref name="parameters"/>.</summary>
    internal abstract Optimizer<T> Create<T>(IEnumerable<Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>Checks rules that involve more than one hyperparameter.</summary>
    protected virtual void CheckCombination() { }

    /// <summary>The two hyperparameters every optimizer has: <c>lr</c> and <c>maximize</c>.</summary>
    protected static IEnumerable<Hyperparameter> Common() =>
    [
        Hyperparameter.Real<OptimizerOptions>("lr", Interval.NonNegative, "learning rate",
            o => o.LearningRate, (o, v) => o.LearningRate = v),
        Hyperparameter.Flag<OptimizerOptions>("maximize", "maximize the objective (negate the gradient on entry)",
            o => o.Maximize, (o, v) => o.Maximize = v),
    ];

    private Hyperparameter? TryFind(string name)
    {
        var table = Hyperparameters;
        for (int i = 0; i < table.Count; i++)
            if (table[i].Name == name) return table[i];
        return null;
    }
}
