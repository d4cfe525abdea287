namespace Descent.Landscapes;

/// <summary>A rectangle of the plane: where a landscape is worth looking at.</summary>
public readonly record struct Bounds(double XMin, double XMax, double YMin, double YMax);

/// <summary>
/// A 2-D loss surface <c>f(x, y)</c> with its exact gradient: one of the classic test functions, or any
/// expression a user types. The named ones are expressions too, so each formula is written once and
/// differentiated by the same code.
/// </summary>
public sealed class Landscape
{
    private static readonly Landscape[] Catalog =
    [
        new("rosenbrock", "(1 - x)^2 + 100*(y - x^2)^2", new(-2, 2, -1, 3), (1, 1),
            "Rosenbrock's banana valley: a curved, flat-bottomed ravine; minimum 0 at (1, 1)"),
        new("pathological", "tanh(x)^2 + 0.01*abs(x) + sigmoid(y)", new(-10, 10, -10, 10), null,
            "a plateau with a narrow valley along x = 0 and a slope in y towards y = -inf"),
        new("beale", "(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2", new(-4.5, 4.5, -4.5, 4.5), (3, 0.5),
            "Beale's function: sharp ridges and flat regions; minimum 0 at (3, 0.5)"),
        new("himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", new(-5, 5, -5, 5), (3, 2),
            "Himmelblau's function: four minima of value 0, one at (3, 2)"),
        new("saddle", "x^2 - y^2", new(-2, 2, -2, 2), null,
            "a saddle at the origin: stable along x, unstable along y"),
        new("ravine", "0.5*(x^2 + 100*y^2)", new(-10, 10, -1.5, 1.5), (0, 0),
            "an ill-conditioned quadratic bowl (condition number 100); minimum 0 at (0, 0)"),
    ];

    private Landscape(string name, string formula, Bounds bounds, (double X, double Y)? minimum, string description)
        : this(name, Expression.Parse(formula), bounds, minimum, description) { }

    private Landscape(string name, Expression expression, Bounds bounds, (double X, double Y)? minimum, string description)
    {
        Name = name;
        Expression = expression;
        Bounds = bounds;
        Minimum = minimum;
        Description = description;
    }

    /// <summary>The named landscapes.</summary>
    public static IReadOnlyList<Landscape> Named => Catalog;

    /// <summary>The name (<c>rosenbrock</c>, ...) or, for a typed expression, the expression itself.</summary>
    public string Name { get; }

    /// <summary>The formula.</summary>
    public Expression Expression { get; }

    /// <summary>The formula as text.</summary>
    public string Formula => Expression.Text;

    /// <summary>A region that shows the landscape's features.</summary>
    public Bounds Bounds { get; }

    /// <summary>A global minimizer, where one exists.</summary>
    public (double X, double Y)? Minimum { get; }

    /// <summary>One line about its shape.</summary>
    public string Description { get; }

    /// <summary>
    /// The named landscape called <paramref name="nameOrExpression"/>, or else the expression it spells
    /// (throws <see cref="ExpressionException"/> pointing at the offending character, mentioning the names
    /// when the text looks like a mistyped one).
    /// </summary>
    public static Landscape Get(string nameOrExpression)
    {
        ArgumentNullException.ThrowIfNull(nameOrExpression);
        string key = nameOrExpression.Trim();
        foreach (var l in Catalog)
            if (string.Equals(l.Name, key, StringComparison.OrdinalIgnoreCase)) return l;
        try
        {
            return FromExpression(key);
        }
        catch (ExpressionException e) when (key.Length > 0 && key.All(char.IsAsciiLetter))
        {
            throw new ExpressionException(e.Expression, e.Position,
                $"'{key}' is neither a named landscape ({string.Join(", ", Catalog.Select(c => c.Name))}) nor a formula in x and y");
        }
    }

    /// <summary>A landscape from a formula in x and y.</summary>
    public static Landscape FromExpression(string expression)
    {
        var parsed = Expression.Parse(expression);
        return new Landscape(expression, parsed, new Bounds(-3, 3, -3, 3), null, "a user-defined surface");
    }

    /// <summary>f(x, y).</summary>
    public double Value(double x, double y) => Expression.Value(x, y);

    /// <summary>f(x, y) and its gradient.</summary>
    public double Evaluate(double x, double y, out double dx, out double dy) => Expression.Evaluate(x, y, out dx, out dy);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Formula}";
}
