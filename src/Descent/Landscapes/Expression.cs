using System.Globalization;

namespace Descent.Landscapes;

/// <summary>
/// A formula in <c>x</c> and <c>y</c> typed by a user, parsed safely (no code is ever executed: the text
/// becomes a small instruction list over a fixed set of operations) and differentiated automatically
/// in reverse mode, so the gradient is exact up to rounding.
/// </summary>
/// <remarks>
/// Grammar, loosest binding first: <c>+ -</c>, then <c>* /</c>, then unary <c>- +</c>, then <c>^</c>
/// (also <c>**</c>; right-associative, so <c>-x^2 = -(x^2)</c> and <c>2^-x</c> works). Atoms: numbers in
/// C# double notation (<c>3</c>, <c>.5</c>, <c>1e-3</c>, <c>2.5E+2</c>, <c>1_000</c>, <c>1d</c>), <c>x</c>, <c>y</c>,
/// <c>pi</c>, <c>e</c>, <c>( ... )</c>, <c>| ... |</c> (absolute value) and the functions
/// <c>exp log sqrt sin cos tan tanh sigmoid abs</c>. Derivatives follow PyTorch's autograd formulas,
/// including its conventions at kinks (<c>abs'(0) = 0</c>).
/// </remarks>
public sealed class Expression
{
    /// <summary>Longest text accepted, to bound the work of parsing.</summary>
    public const int MaxLength = 4096;

    private static readonly Dictionary<string, Op> Functions = new(StringComparer.Ordinal)
    {
        ["exp"] = Op.Exp,
        ["log"] = Op.Log,
        ["sqrt"] = Op.Sqrt,
        ["sin"] = Op.Sin,
        ["cos"] = Op.Cos,
        ["tan"] = Op.Tan,
        ["tanh"] = Op.Tanh,
        ["sigmoid"] = Op.Sigmoid,
        ["abs"] = Op.Abs,
    };

    private readonly Op[] _ops;
    private readonly double[] _constants;
    private readonly int[] _left, _right;
    private readonly bool[] _constant;

    private Expression(string text, List<Instruction> program)
    {
        Text = text;
        int n = program.Count;
        _ops = new Op[n];
        _constants = new double[n];
        _left = new int[n];
        _right = new int[n];
        _constant = new bool[n];
        // Resolve the postfix program into a tape: each entry names the entries it reads.
        var operands = new Stack<int>();
        for (int i = 0; i < n; i++)
        {
            var (op, value) = program[i];
            _ops[i] = op;
            _constants[i] = value;
            _left[i] = _right[i] = -1;
            switch (op)
            {
                case Op.Constant: _constant[i] = true; break;
                case Op.X or Op.Y: break;
                case >= Op.Add and <= Op.Power:
                    _right[i] = operands.Pop();
                    _left[i] = operands.Pop();
                    _constant[i] = _constant[_left[i]] && _constant[_right[i]];
                    break;
                default:
                    _left[i] = operands.Pop();
                    _constant[i] = _constant[_left[i]];
                    break;
            }
            operands.Push(i);
        }
    }

    /// <summary>The text as typed.</summary>
    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="ExpressionException"/> pointing at the first offending character.</summary>
    public static Expression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
            throw new ExpressionException(text[..40] + "...", 40, $"the expression is {text.Length} characters long; the limit is {MaxLength}");
        return new Expression(text, new Parser(text).ParseAll());
    }

    /// <summary>Value of the expression at (x, y).</summary>
    public double Value(double x, double y)
    {
        int n = _ops.Length;
        Span<double> value = n <= 512 ? stackalloc double[n] : new double[n];
        Forward(x, y, value);
        return value[n - 1];
    }

    /// <summary>
    /// Value at (x, y), with the partial derivatives in <paramref name="dx"/> and <paramref name="dy"/>,
    /// computed by reverse-mode differentiation with PyTorch's backward formulas, so gradients agree with
    /// <c>torch.autograd</c> to the last bits wherever the elementary functions do.
    /// </summary>
    public double Evaluate(double x, double y, out double dx, out double dy)
    {
        int n = _ops.Length;
        Span<double> value = n <= 256 ? stackalloc double[n] : new double[n];
        Span<double> adjoint = n <= 256 ? stackalloc double[n] : new double[n];
        Forward(x, y, value);
        adjoint.Clear();
        adjoint[n - 1] = 1;
        dx = dy = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            if (_constant[i]) continue;
            double g = adjoint[i];
            int l = _left[i], r = _right[i];
            double a = l >= 0 ? value[l] : 0, b = r >= 0 ? value[r] : 0;
            switch (_ops[i])
            {
                case Op.X: dx += g; break;
                case Op.Y: dy += g; break;
                case Op.Negate: adjoint[l] += -g; break;
                case Op.Add: adjoint[l] += g; adjoint[r] += g; break;
                case Op.Subtract: adjoint[l] += g; adjoint[r] += -g; break;
                case Op.Multiply: adjoint[l] += g * b; adjoint[r] += g * a; break;
                case Op.Divide:
                    if (_constant[l])
                    {
                        // c / t is evaluated as reciprocal(t) * c; d reciprocal(t) = -1 / t^2.
                        double reciprocal = 1 / b;
                        adjoint[r] += -(g * a) * (reciprocal * reciprocal);
                    }
                    else
                    {
                        adjoint[l] += g / b;
                        adjoint[r] += -g * (a / b / b);
                    }
                    break;
                case Op.Power:
                    // d(a^b)/da = b a^(b-1) (zero where b = 0); d(a^b)/db = a^b log(a) (zero where a = 0 and b >= 0).
                    if (!_constant[l] && b != 0) adjoint[l] += g * (b * Power(a, b - 1, _constant[r]));
                    if (!_constant[r] && !(a == 0 && b >= 0)) adjoint[r] += g * (value[i] * Math.Log(a));
                    break;
                case Op.Exp: adjoint[l] += g * value[i]; break;
                case Op.Log: adjoint[l] += g / a; break;
                case Op.Sqrt: adjoint[l] += g / (2 * value[i]); break;
                case Op.Sin: adjoint[l] += g * Math.Cos(a); break;
                case Op.Cos: adjoint[l] += g * -Math.Sin(a); break;
                case Op.Tan: adjoint[l] += g * (1 + value[i] * value[i]); break;
                case Op.Tanh: adjoint[l] += g * Math.FusedMultiplyAdd(-value[i], value[i], 1); break;
                case Op.Sigmoid: adjoint[l] += g * (1 - value[i]) * value[i]; break;
                case Op.Abs: adjoint[l] += g * (a > 0 ? 1 : a < 0 ? -1 : a); break;
            }
        }
        return value[n - 1];
    }

    private void Forward(double x, double y, Span<double> value)
    {
        for (int i = 0; i < _ops.Length; i++)
        {
            int l = _left[i], r = _right[i];
            value[i] = _ops[i] switch
            {
                Op.Constant => _constants[i],
                Op.X => x,
                Op.Y => y,
                Op.Negate => -value[l],
                Op.Add => value[l] + value[r],
                Op.Subtract => value[l] - value[r],
                Op.Multiply => value[l] * value[r],
                Op.Divide => _constant[l] && !_constant[r] ? 1 / value[r] * value[l] : value[l] / value[r],
                Op.Power => Power(value[l], value[r], _constant[r]),
                Op.Exp => Math.Exp(value[l]),
                Op.Log => Math.Log(value[l]),
                Op.Sqrt => Math.Sqrt(value[l]),
                Op.Sin => Math.Sin(value[l]),
                Op.Cos => Math.Cos(value[l]),
                Op.Tan => Math.Tan(value[l]),
                Op.Tanh => Math.Tanh(value[l]),
                Op.Sigmoid => 1 / (1 + Math.Exp(-value[l])),
                _ => Math.Abs(value[l]),
            };
        }
    }

    /// <summary>
    /// <c>a^b</c>; a constant exponent takes the exact shortcuts PyTorch's pow kernel takes
    /// (0, 1, 2, 3, 1/2, -1/2, -1, -2), so that, for example, <c>x^2</c> is exactly <c>x*x</c>.
    /// </summary>
    private static double Power(double a, double b, bool constantExponent)
    {
        if (constantExponent)
        {
            switch (b)
            {
                case 0: return 1;
                case 1: return a;
                case 2: return a * a;
                case 3: return a * a * a;
                case 0.5: return Math.Sqrt(a);
                case -0.5: return 1 / Math.Sqrt(a);
                case -1: return 1 / a;
                case -2: return 1 / (a * a);
            }
        }
        return Math.Pow(a, b);
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    private enum Op : byte
    {
        Constant, X, Y, Negate,
        Add, Subtract, Multiply, Divide, Power,
        Exp, Log, Sqrt, Sin, Cos, Tan, Tanh, Sigmoid, Abs,
    }

    private readonly record struct Instruction(Op Op, double Value = 0);

    /// <summary>Recursive-descent parser emitting postfix instructions.</summary>
    private sealed class Parser(string text)
    {
        private const int MaxNesting = 200;
        private readonly List<Instruction> _out = [];
        private int _pos, _nesting;

        public List<Instruction> ParseAll()
        {
            SkipSpace();
            if (_pos == text.Length) throw Error("the expression is empty; type a formula in x and y, e.g. x^2 + 10*y^2");
            ParseSum();
            SkipSpace();
            if (_pos < text.Length)
                throw Error(text[_pos] == ')' ? "unmatched ')'" : "expected an operator (+ - * / ^) or the end");
            return _out;
        }

        private void ParseSum()
        {
            ParseProduct();
            while (true)
            {
                SkipSpace();
                if (Accept('+')) { ParseProduct(); Emit(Op.Add); }
                else if (Accept('-')) { ParseProduct(); Emit(Op.Subtract); }
                else return;
            }
        }

        private void ParseProduct()
        {
            ParseUnary();
            while (true)
            {
                SkipSpace();
                if (Peek('*') && !Peek('*', 1)) { _pos++; ParseUnary(); Emit(Op.Multiply); }
                else if (Accept('/')) { ParseUnary(); Emit(Op.Divide); }
                else return;
            }
        }

        private void ParseUnary()
        {
            SkipSpace();
            if (Accept('-')) { Nest(ParseUnary); Emit(Op.Negate); }
            else if (Accept('+')) Nest(ParseUnary);
            else ParsePower();
        }

        private void ParsePower()
        {
            ParseAtom();
            SkipSpace();
            if (Accept('^') || AcceptDoubleStar())
            {
                Nest(ParseUnary);
                Emit(Op.Power);
            }
        }

        private void ParseAtom()
        {
            SkipSpace();
            if (_pos == text.Length) throw Error("the expression ends too early: expected a number, x, y, a function or '('");
            char c = text[_pos];
            if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < text.Length && char.IsAsciiDigit(text[_pos + 1])))
            {
                ParseNumber();
                return;
            }
            if (c == '(')
            {
                int open = _pos++;
                Nest(ParseSum);
                SkipSpace();
                if (!Accept(')')) throw Error(_pos == text.Length ? $"the '(' at character {open + 1} is never closed" : "expected an operator (+ - * / ^) or ')'");
                return;
            }
            if (c == '|')
            {
                int open = _pos++;
                Nest(ParseSum);
                SkipSpace();
                if (!Accept('|')) throw Error(_pos == text.Length ? $"the '|' at character {open + 1} is never closed" : "expected an operator (+ - * / ^) or '|'");
                Emit(Op.Abs);
                return;
            }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = _pos;
                while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] == '_')) _pos++;
                string name = text[start.._pos];
                switch (name)
                {
                    case "x": Emit(Op.X); return;
                    case "y": Emit(Op.Y); return;
                    case "pi": Emit(Op.Constant, Math.PI); return;
                    case "e": Emit(Op.Constant, Math.E); return;
                }
                if (!Functions.TryGetValue(name, out var op))
                {
                    _pos = start;
                    throw Error($"unknown name '{name}': use x, y, pi, e or one of the functions {string.Join(", ", Functions.Keys)}");
                }
                SkipSpace();
                if (!Accept('(')) throw Error($"expected '(' after the function name '{name}'");
                Nest(ParseSum);
                SkipSpace();
                if (!Accept(')')) throw Error(_pos == text.Length ? $"the call to '{name}' is never closed with ')'" : "expected an operator (+ - * / ^) or ')'");
                Emit(op);
                return;
            }
            throw Error(c is ')' ? "expected a number, x, y, a function or '(' before ')'"
                : c is '+' or '*' or '/' or '^' ? $"expected a number, x, y, a function or '(' before '{c}'"
                : $"unexpected character '{c}'");
        }

        private void ParseNumber()
        {
            int start = _pos;
            while (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] == '_')) _pos++;
            if (_pos < text.Length && text[_pos] == '.')
            {
                _pos++;
                while (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] == '_')) _pos++;
            }
            if (_pos < text.Length && text[_pos] is 'e' or 'E')
            {
                int mark = _pos++;
                if (_pos < text.Length && text[_pos] is '+' or '-') _pos++;
                if (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
                {
                    while (_pos < text.Length && (char.IsAsciiDigit(text[_pos]) || text[_pos] == '_')) _pos++;
                }
                else
                {
                    throw Error("the exponent of this number has no digits", mark);
                }
            }
            string literal = text[start.._pos];
            if (_pos < text.Length && text[_pos] is 'd' or 'D' && !(_pos + 1 < text.Length && char.IsAsciiLetterOrDigit(text[_pos + 1]))) _pos++;
            if (literal.EndsWith('_') || literal.Contains("_.") || literal.Contains("._") || literal.Contains("_e", StringComparison.OrdinalIgnoreCase))
                throw Error("a digit separator '_' must stand between digits", start);
            if (!double.TryParse(literal.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                throw Error($"'{literal}' is not a number", start);
            Emit(Op.Constant, value);
        }

        private void Nest(Action parse)
        {
            if (++_nesting > MaxNesting) throw Error($"the expression nests deeper than {MaxNesting} levels");
            parse();
            _nesting--;
        }

        private void Emit(Op op, double value = 0) => _out.Add(new Instruction(op, value));

        private bool Peek(char c, int ahead = 0) => _pos + ahead < text.Length && text[_pos + ahead] == c;

        private bool Accept(char c)
        {
            if (!Peek(c)) return false;
            _pos++;
            return true;
        }

        private bool AcceptDoubleStar()
        {
            if (!Peek('*') || !Peek('*', 1)) return false;
            _pos += 2;
            return true;
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private ExpressionException Error(string problem, int? at = null) => new(text, at ?? _pos, problem);
    }
}
