using Descent.Numerics;

namespace Descent.Optim;

/// <summary>Whether a hyperparameter is a real number or an on/off switch.</summary>
public enum HyperparameterKind
{
    /// <summary>A real number, which may follow a schedule.</summary>
    Real,

    /// <summary>An on/off switch, read as 0 or 1.</summary>
    Flag,
}

/// <summary>
/// The set of values a real hyperparameter may take: an interval whose ends are open or closed.
/// Values outside it, and NaN or infinite values, are rejected.
/// </summary>
public readonly record struct Interval(double Min, bool MinClosed, double Max, bool MaxClosed)
{
    /// <summary>[0, +inf).</summary>
    public static Interval NonNegative => new(0, true, double.PositiveInfinity, false);

    /// <summary>(0, +inf).</summary>
    public static Interval Positive => new(0, false, double.PositiveInfinity, false);

    /// <summary>[0, 1).</summary>
    public static Interval UnitHalfOpen => new(0, true, 1, false);

    /// <summary>[0, 1].</summary>
    public static Interval UnitClosed => new(0, true, 1, true);

    /// <summary>Whether <paramref name="value"/> is finite and lies in the interval.</summary>
    public bool Contains(double value) =>
        double.IsFinite(value)
        && (MinClosed ? value >= Min : value > Min)
        && (MaxClosed ? value <= Max : value < Max);

    /// <inheritdoc/>
    public override string ToString() =>
        (MinClosed ? "[" : "(") + RoundTrip.Format(Min) + ", " + (double.IsPositiveInfinity(Max) ? "inf" : RoundTrip.Format(Max)) + (MaxClosed ? "]" : ")");
}

/// <summary>
/// One named hyperparameter of an optimizer: its PyTorch name, what it means, which values are valid,
/// and how to read and write it on an options object. The table of these drives validation, the
/// command line, parameter-group overrides and schedules, so each fact is stated once.
/// </summary>
public sealed class Hyperparameter
{
    private readonly Func<OptimizerOptions, double> _get;
    private readonly Action<OptimizerOptions, double> _set;

    private Hyperparameter(string name, HyperparameterKind kind, Interval valid, string description,
        Func<OptimizerOptions, double> get, Action<OptimizerOptions, double> set, string? flag, bool whole = false)
    {
        Name = name;
        Whole = whole;
        CommandLineFlag = "--" + (flag ?? name.Replace('_', '-'));
        Kind = kind;
        Valid = valid;
        Description = description;
        _get = get;
        _set = set;
    }

    /// <summary>
    /// A real-valued hyperparameter of the options types that are (or implement) <typeparamref name="TOptions"/>;
    /// its command-line flag is its name with dashes (<c>--weight-decay</c>) unless <paramref name="flag"/> says otherwise.
    /// </summary>
    public static Hyperparameter Real<TOptions>(string name, Interval valid, string description,
        Func<TOptions, double> get, Action<TOptions, double> set, string? flag = null) where TOptions : class =>
        new(name, HyperparameterKind.Real, valid, description, o => get((TOptions)(object)o), (o, v) => set((TOptions)(object)o, v), flag);

    /// <summary>
    /// A real hyperparameter that counts something (iterations, steps, a dimension), so only whole numbers in
    /// <paramref name="valid"/> are valid; <paramref name="description"/> need not say so.
    /// </summary>
    public static Hyperparameter Count<TOptions>(string name, Interval valid, string description,
        Func<TOptions, double> get, Action<TOptions, double> set) where TOptions : class =>
        new(name, HyperparameterKind.Real, valid, description + " (a whole number)", o => get((TOptions)(object)o), (o, v) => set((TOptions)(object)o, v), null, whole: true);

    /// <summary>An on/off hyperparameter of the options types that are (or implement) <typeparamref name="TOptions"/>.</summary>
    public static Hyperparameter Flag<TOptions>(string name, string description,
        Func<TOptions, bool> get, Action<TOptions, bool> set) where TOptions : class =>
        new(name, HyperparameterKind.Flag, Interval.UnitClosed, description,
            o => get((TOptions)(object)o) ? 1 : 0, (o, v) => set((TOptions)(object)o, v != 0), null);

    /// <summary>The PyTorch name, e.g. <c>lr</c>, <c>weight_decay</c>, <c>beta1</c>.</summary>
    public string Name { get; }

    /// <summary>The command-line flag that sets it (<c>--lr</c>, <c>--weight-decay</c>, ...).</summary>
    public string CommandLineFlag { get; }

    /// <summary>Real number or switch.</summary>
    public HyperparameterKind Kind { get; }

    /// <summary>Valid values (for reals).</summary>
    public Interval Valid { get; }

    /// <summary>Whether only whole numbers are valid (a count: iterations, steps, a dimension).</summary>
    public bool Whole { get; }

    /// <summary>One line saying what it does.</summary>
    public string Description { get; }

    /// <summary>Reads the value (a switch reads as 0 or 1).</summary>
    public double Get(OptimizerOptions options) => _get(options);

    /// <summary>Checks <paramref name="value"/> and writes it.</summary>
    public void Set(OptimizerOptions options, double value)
    {
        Check(value);
        _set(options, value);
    }

    /// <summary>Throws if <paramref name="value"/> is not valid, with a message naming the hyperparameter and its valid range.</summary>
    public void Check(double value)
    {
        if (Kind == HyperparameterKind.Flag)
        {
            if (value is not (0 or 1))
                throw new ArgumentException($"Invalid {Name}: {RoundTrip.Format(value)} ({Name} is a switch: 0 or 1).");
            return;
        }
        if (!Valid.Contains(value))
            throw new ArgumentException($"Invalid {Name}: {RoundTrip.Format(value)} ({Name} must be a finite number in {Valid}).");
        if (Whole && value != Math.Floor(value))
            throw new ArgumentException($"Invalid {Name}: {RoundTrip.Format(value)} ({Name} must be a whole number).");
    }
}
