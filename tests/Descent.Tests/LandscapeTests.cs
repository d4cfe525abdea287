using Descent.Landscapes;
using Xunit;

namespace Descent.Tests;

public class LandscapeTests
{
    public static IEnumerable<object[]> GradientCases => TorchReference.Indices("gradients");

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Values_and_gradients_match_torch_autograd(int index)
    {
        var c = TorchReference.Root.GetProperty("gradients")[index];
        var f = Landscape.Get(c.GetProperty("function").GetString()!.Replace("**", "^"));
        double v = f.Evaluate(c.GetProperty("x").GetDouble(), c.GetProperty("y").GetDouble(), out double dx, out double dy);
        foreach (var (name, actual) in new[] { ("value", v), ("dx", dx), ("dy", dy) })
        {
            double expected = c.GetProperty(name).GetDouble();
            Assert.True(TorchReference.RelativeError(actual, expected) <= 1e-13,
                $"{f.Formula} at ({c.GetProperty("x")}, {c.GetProperty("y")}): {name} = {actual:R}, torch {expected:R}");
        }
    }

    public static IEnumerable<object[]> Formulas =>
        Landscape.Named.Select(l => l.Formula)
            .Concat(["x^y + y^x", "exp(sin(x)*cos(y)) / (1 + x^2)", "sqrt(1 + x^2 + y^4) - log(2 + tanh(x*y))", "|x|^1.5 + sigmoid(3*y - x)", "2^-x^2 + tan(0.3*y)"])
            .Select(f => new object[] { f });

    [Theory]
    [MemberData(nameof(Formulas))]
    public void Gradients_match_central_finite_differences(string formula)
    {
        var f = Landscape.FromExpression(formula);
        const double h = 1e-6;
        foreach (var (x, y) in new[] { (0.7, 0.3), (1.3, 0.4), (0.2, 1.1), (2.1, 0.9) })
        {
            f.Evaluate(x, y, out double dx, out double dy);
            double fdx = (f.Value(x + h, y) - f.Value(x - h, y)) / (2 * h);
            double fdy = (f.Value(x, y + h) - f.Value(x, y - h)) / (2 * h);
            Assert.True(Math.Abs(dx - fdx) <= 1e-5 * Math.Max(1, Math.Abs(fdx)), $"{formula} at ({x}, {y}): dx {dx} vs finite difference {fdx}");
            Assert.True(Math.Abs(dy - fdy) <= 1e-5 * Math.Max(1, Math.Abs(fdy)), $"{formula} at ({x}, {y}): dy {dy} vs finite difference {fdy}");
        }
    }

    [Theory]
    [InlineData("-x^2", 3, -9)]
    [InlineData("2^3^2", 0, 512)]
    [InlineData("2**3**2", 0, 512)]
    [InlineData("2^-1", 0, 0.5)]
    [InlineData("-2^2", 0, -4)]
    [InlineData("(-2)^2", 0, 4)]
    [InlineData("1 - 2 - 3", 0, -4)]
    [InlineData("12 / 3 / 2", 0, 2)]
    [InlineData("2 + 3 * 4", 0, 14)]
    [InlineData("--x", 5, 5)]
    [InlineData("+x", 5, 5)]
    [InlineData("|x - 7|", 5, 2)]
    [InlineData("abs(x - 7)", 5, 2)]
    [InlineData(".5 + 5. + 1e-1 + 2.5E+1 + 1_000 + 1d", 0, 1031.6)]
    [InlineData("pi", 0, Math.PI)]
    [InlineData("e^x", 1, Math.E)]
    [InlineData("sigmoid(0)", 0, 0.5)]
    public void Parses_with_the_usual_precedence_and_csharp_number_notation(string text, double x, double expected)
    {
        Assert.Equal(expected, Expression.Parse(text).Value(x, 0), 12);
    }

    [Theory]
    [InlineData("x + * y", 4, "before '*'")]
    [InlineData("x^2 + 3y", 7, "expected an operator")]
    [InlineData("sin(x", 5, "never closed")]
    [InlineData("sinh(x)", 0, "unknown name 'sinh'")]
    [InlineData("x + (y * 2", 10, "the '(' at character 5 is never closed")]
    [InlineData("x + y)", 5, "unmatched ')'")]
    [InlineData("", 0, "empty")]
    [InlineData("   ", 3, "empty")]
    [InlineData("x $ y", 2, "expected an operator")]
    [InlineData("$x", 0, "unexpected character '$'")]
    [InlineData("1e+", 1, "exponent")]
    [InlineData("x +", 3, "ends too early")]
    [InlineData("sin x", 4, "expected '(' after the function name 'sin'")]
    [InlineData("|x + 1", 6, "never closed")]
    [InlineData("1__0_", 0, "digit separator")]
    [InlineData("z^2", 0, "unknown name 'z'")]
    [InlineData("import(os)", 0, "unknown name 'import'")]
    public void Malformed_expressions_point_at_the_offending_character(string text, int position, string problem)
    {
        var e = Assert.Throws<ExpressionException>(() => Expression.Parse(text));
        Assert.Equal(position, e.Position);
        Assert.Contains(problem, e.Message);
        Assert.Contains(position < text.Length ? $"at character {position + 1}" : "at the end", e.Message);
    }

    [Fact]
    public void Deep_or_long_expressions_are_refused_rather_than_overflowing_the_stack()
    {
        Assert.Contains("nests deeper", Assert.Throws<ExpressionException>(() => Expression.Parse(new string('(', 1000) + "x" + new string(')', 1000))).Message);
        Assert.Contains("limit", Assert.Throws<ExpressionException>(() => Expression.Parse(string.Join("+", Enumerable.Repeat("x", 3000)))).Message);
        Assert.Equal(2000, Expression.Parse(string.Join("+", Enumerable.Repeat("x", 2000))).Value(1, 0));
    }

    [Fact]
    public void Named_landscapes_are_found_by_name_and_have_their_minima_where_stated()
    {
        Assert.Equal(["rosenbrock", "pathological", "beale", "himmelblau", "saddle", "ravine"], Landscape.Named.Select(l => l.Name));
        foreach (var l in Landscape.Named.Where(l => l.Minimum is not null))
        {
            var (x, y) = l.Minimum!.Value;
            Assert.Equal(0, l.Evaluate(x, y, out double dx, out double dy), 12);
            Assert.Equal(0, dx, 12);
            Assert.Equal(0, dy, 12);
        }
        Assert.Same(Landscape.Get("Rosenbrock"), Landscape.Get(" rosenbrock "));
        var e = Assert.Throws<ExpressionException>(() => Landscape.Get("rosenbrok"));
        Assert.Contains("neither a named landscape", e.Message);
    }

    [Fact]
    public void Kinks_follow_torch_conventions()
    {
        Expression.Parse("abs(x) + 0.01*|y|").Evaluate(0, 0, out double dx, out double dy);
        Assert.Equal(0, dx);
        Assert.Equal(0, dy);
        Expression.Parse("x^y").Evaluate(0, 2, out dx, out dy);
        Assert.Equal(0, dy); // d/dy of 0^y is taken as 0 where y >= 0
    }
}
