namespace Descent.Landscapes;

/// <summary>An expression that does not parse, with the position of the offending character.</summary>
public sealed class ExpressionException : FormatException
{
    /// <summary>Creates the error.</summary>
    public ExpressionException(string expression, int position, string problem)
        : base(Describe(expression, position, problem))
    {
        Expression = expression;
        Position = position;
        Problem = problem;
    }

    /// <summary>The text that failed to parse.</summary>
    public string Expression { get; }

    /// <summary>Zero-based index of the offending character (the text's length when input ended too early).</summary>
    public int Position { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    /// <summary>The expression with a caret under the offending character, on two lines.</summary>
    public string Pointer => Expression + Environment.NewLine + new string(' ', Position) + "^";

    private static string Describe(string expression, int position, string problem)
    {
        string at = position < expression.Length ? $"character {position + 1} ('{expression[position]}')" : "the end";
        return $"Invalid expression \"{expression}\" at {at}: {problem}.";
    }
}
