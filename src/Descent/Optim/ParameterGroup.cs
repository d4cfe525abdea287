using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>
/// Parameters that share one set of hyperparameters. Group 0 holds every parameter no other group
/// claimed and the optimizer's defaults; each further group is selected by a name pattern
/// (<c>*</c> matches any run of characters, <c>?</c> one character) and overrides any hyperparameter.
/// </summary>
public sealed class ParameterGroup<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ParameterGroup(string pattern, OptimizerOptions options)
    {
        Pattern = pattern;
        Options = options;
    }

    /// <summary>The name pattern that selected this group's parameters (<c>*</c> for the default group).</summary>
    public string Pattern { get; }

    /// <summary>This group's hyperparameters; change them between steps like PyTorch's <c>param_group</c> entries.</summary>
    public OptimizerOptions Options { get; }

    /// <summary>The parameters of the group.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => Members;

    internal List<Parameter<T>> Members { get; } = [];

    /// <summary>The optimizer state of each member, at the same index (no lookup by name on the step's path).</summary>
    internal List<ParameterState<T>> States { get; } = [];

    /// <summary>Whether <paramref name="name"/> matches a glob <paramref name="pattern"/> (<c>*</c>, <c>?</c>).</summary>
    public static bool Matches(string pattern, string name) => Matches(pattern.AsSpan(), name.AsSpan());

    private static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        // Iterative glob matching with backtracking to the last '*'.
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n])) { p++; n++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = n; }
            else if (star >= 0) { p = star + 1; n = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
