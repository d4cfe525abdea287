using System.Numerics;
using Descent.Nn;
using Descent.State;

namespace Descent.Optim;

/// <summary>
/// L-BFGS (Liu and Nocedal 1989) as PyTorch's <c>torch.optim.LBFGS</c> runs it: each step evaluates the loss through
/// a closure, then iterates quasi-Newton directions from the last <c>history_size</c> curvature pairs, with a fixed
/// step <c>lr</c> or a strong-Wolfe line search, until an iteration, evaluation or tolerance limit.
/// </summary>
/// <remarks>
/// All parameters form one flat vector (one parameter group, as in PyTorch). The arithmetic is done in double
/// precision in PyTorch's order, so float64 runs match <c>torch.optim.LBFGS</c>, to the last bit for at most 4 parameters
/// (every landscape; longer vectors torch sums in lanes that depend on the processor: the first step's <c>|g|_1</c> from 5
/// entries, dot products from 16, see <c>Dot</c>); a float32 model's run keeps that double arithmetic, where
/// torch's would round every vector operation to float32. The curvature history is saved under torch's names by
/// <c>SaveRule</c>.
/// </remarks>
public sealed class Lbfgs<T> : Optimizer<T, LbfgsOptions> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _params;
    private readonly double[] _grad, _x;
    private readonly List<double[]> _dirs = [], _steps = [];
    private readonly List<double> _ro = [];
    private double[]? _d, _prevGrad;
    private double _t, _hDiag = 1, _prevLoss;
    private long _iterations;
    private Func<double> _closure = () => 0;
    private bool _maximize;

    /// <summary>Creates L-BFGS over <paramref name="parameters"/>.</summary>
    public Lbfgs(IEnumerable<Parameter<T>> parameters, LbfgsOptions? options = null) : base(parameters, options ?? new LbfgsOptions())
    {
        _params = [.. AllParameters()];
        int n = _params.Sum(p => p.Length);
        _grad = new double[n];
        _x = new double[n];
    }

    /// <inheritdoc/>
    protected override bool RuleRequiresClosure => true;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> SlotNames => [];

    /// <inheritdoc/>
    protected override string? OneGroupOnly => "L-BFGS supports one parameter group (as torch.optim.LBFGS does).";

    /// <summary>
    /// Saves the curvature history and the search state under torch's names (<c>old_dirs</c>, <c>old_stps</c>,
    /// <c>ro</c>, <c>d</c>, <c>t</c>, <c>H_diag</c>, <c>prev_flat_grad</c>, <c>prev_loss</c>, <c>n_iter</c>), so a
    /// resumed run continues exactly.
    /// </summary>
    protected override void SaveRule(StateDict state, string prefix)
    {
        base.SaveRule(state, prefix);
        string k = prefix + ".lbfgs";
        state.Set($"{k}.history", _dirs.Count);
        for (int i = 0; i < _dirs.Count; i++)
        {
            state.Set($"{k}.old_dirs.{i}", _dirs[i]);
            state.Set($"{k}.old_stps.{i}", _steps[i]);
            state.Set($"{k}.ro.{i}", _ro[i]);
        }
        if (_d is not null) state.Set($"{k}.d", _d);
        if (_prevGrad is not null) state.Set($"{k}.prev_flat_grad", _prevGrad);
        state.Set($"{k}.t", _t);
        state.Set($"{k}.H_diag", _hDiag);
        state.Set($"{k}.prev_loss", _prevLoss);
        state.Set($"{k}.n_iter", _iterations);
    }

    /// <inheritdoc/>
    protected override void LoadRule(StateDict state, string prefix)
    {
        base.LoadRule(state, prefix);
        string k = prefix + ".lbfgs";
        if (!state.Contains($"{k}.history"))
            throw new InvalidDataException("The saved L-BFGS state has no curvature history (it was saved by an older version); start the run again.");
        double[] Vector(string key)
        {
            var v = new double[_grad.Length];
            state.CopyTo<double>(key, v);
            return v;
        }
        _dirs.Clear();
        _steps.Clear();
        _ro.Clear();
        long history = state.GetLong($"{k}.history");
        for (int i = 0; i < history; i++)
        {
            _dirs.Add(Vector($"{k}.old_dirs.{i}"));
            _steps.Add(Vector($"{k}.old_stps.{i}"));
            _ro.Add(state.GetDouble($"{k}.ro.{i}"));
        }
        _d = state.Contains($"{k}.d") ? Vector($"{k}.d") : null;
        _prevGrad = state.Contains($"{k}.prev_flat_grad") ? Vector($"{k}.prev_flat_grad") : null;
        _t = state.GetDouble($"{k}.t");
        _hDiag = state.GetDouble($"{k}.H_diag");
        _prevLoss = state.GetDouble($"{k}.prev_loss");
        _iterations = state.GetLong($"{k}.n_iter");
    }

    /// <inheritdoc/>
    protected override void Update(Span<T> p, ReadOnlySpan<T> grad, ParameterState<T> state, LbfgsOptions o) =>
        throw new InvalidOperationException("L-BFGS updates all parameters together from a closure.");

    /// <inheritdoc/>
    public override double Step(Func<double> closure)
    {
        ArgumentNullException.ThrowIfNull(closure);
        long step = BeginStep();
        var o = OptionsOf();
        _closure = closure;
        _maximize = o.Maximize;
        double loss = Evaluate(_grad);
        double origLoss = _maximize ? -loss : loss;   // what the closure returned: Evaluate negates it to minimize
        long evals = 1;
        if (MaxAbs(_grad) <= o.ToleranceGrad)
        {
            EndStep(step);
            return origLoss;
        }
        int n = _grad.Length;
        for (long iter = 1; iter <= (long)o.MaxIter; iter++)
        {
            _iterations++;
            if (_iterations == 1)
            {
                _d = [.. _grad.Select(g => -g)];
                _dirs.Clear();
                _steps.Clear();
                _ro.Clear();
                _hDiag = 1;
            }
            else
            {
                Direction(o);
            }
            _prevGrad ??= new double[n];
            _grad.CopyTo(_prevGrad, 0);
            _prevLoss = loss;
            // torch: t = min(1., 1. / |g|_1) * lr on the first iteration, a tensor where the reciprocal is the smaller.
            var t = _iterations == 1 ? StepLength.First(1 / SumAbs(_grad), o.LearningRate) : new StepLength(o.LearningRate, false);
            _t = t.Value;
            double gtd = Dot(_grad, _d!);
            if (gtd > -o.ToleranceChange) break;
            long lsEvals = 0;
            bool optimal = false;
            if (o.StrongWolfe)
            {
                Read(_x);
                // torch passes no tolerance_change to its line search, which then keeps its own default of 1e-9.
                (loss, _t, lsEvals) = StrongWolfe.Search(this, t, _d!, loss, _grad, gtd, 1e-9);
                AddScaled(_t, _d!);
                optimal = MaxAbs(_grad) <= o.ToleranceGrad;
            }
            else
            {
                AddScaled(_t, _d!);
                if (iter != (long)o.MaxIter)
                {
                    loss = Evaluate(_grad);
                    optimal = MaxAbs(_grad) <= o.ToleranceGrad;
                    lsEvals = 1;
                }
            }
            evals += lsEvals;
            if (iter == (long)o.MaxIter || evals >= o.EvaluationBudget || optimal) break;
            if (MaxAbsScaled(_d!, _t) <= o.ToleranceChange || Math.Abs(loss - _prevLoss) < o.ToleranceChange) break;
        }
        EndStep(step);
        return origLoss;
    }

    /// <summary>The two-loop recursion: updates the curvature history from the last step, then <c>d = -H g</c>.</summary>
    private void Direction(LbfgsOptions o)
    {
        int n = _grad.Length;
        var y = new double[n];
        var s = new double[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = _grad[i] - _prevGrad![i];
            s[i] = _d![i] * _t;
        }
        double ys = Dot(y, s);
        if (ys > 1e-10)
        {
            if (_dirs.Count == (int)o.HistorySize)
            {
                _dirs.RemoveAt(0);
                _steps.RemoveAt(0);
                _ro.RemoveAt(0);
            }
            _dirs.Add(y);
            _steps.Add(s);
            _ro.Add(1 / ys);
            _hDiag = ys / Dot(y, y);
        }
        int k = _dirs.Count;
        var al = new double[k];
        var q = _grad.Select(g => -g).ToArray();
        for (int i = k - 1; i >= 0; i--)
        {
            al[i] = Dot(_steps[i], q) * _ro[i];
            for (int j = 0; j < n; j++) q[j] = Math.FusedMultiplyAdd(-al[i], _dirs[i][j], q[j]);   // q.add_(y_i, alpha=-al_i)
        }
        var r = q.Select(v => v * _hDiag).ToArray();
        for (int i = 0; i < k; i++)
        {
            double be = Dot(_dirs[i], r) * _ro[i];
            for (int j = 0; j < n; j++) r[j] = Math.FusedMultiplyAdd(al[i] - be, _steps[i][j], r[j]);
        }
        _d = r;
    }

    /// <summary>Calls the closure (the loss at the current parameters, gradients filled) and gathers the flat gradient.</summary>
    private double Evaluate(double[] grad)
    {
        double loss = _closure();
        int k = 0;
        foreach (var p in _params)
            foreach (var g in p.Grad.Span) grad[k++] = double.CreateTruncating(_maximize ? -g : g);
        return _maximize ? -loss : loss;
    }

    /// <summary>The loss and gradient at <c>x + t d</c>; the parameters are back at <c>x</c> afterwards.</summary>
    private double EvaluateAlong(double t, double[] d, double[] grad)
    {
        AddScaled(t, d);
        double loss = Evaluate(grad);
        Write(_x);
        return loss;
    }

    /// <summary><c>p += t d</c>, one fused multiply-add per entry (PyTorch's <c>p.add_(d, alpha=t)</c>).</summary>
    private void AddScaled(double t, double[] d)
    {
        int k = 0;
        foreach (var p in _params)
        {
            var v = p.Value.Span;
            for (int i = 0; i < v.Length; i++, k++) v[i] = T.CreateTruncating(Math.FusedMultiplyAdd(d[k], t, double.CreateTruncating(v[i])));
        }
    }

    private void Read(double[] x)
    {
        int k = 0;
        foreach (var p in _params)
            foreach (var v in p.Value.Span) x[k++] = double.CreateTruncating(v);
    }

    private void Write(double[] x)
    {
        int k = 0;
        foreach (var p in _params)
        {
            var v = p.Value.Span;
            for (int i = 0; i < v.Length; i++) v[i] = T.CreateTruncating(x[k++]);
        }
    }

    /// <summary>
    /// <c>a . b</c> as one running fused multiply-add, as the BLAS <c>ddot</c> under Debian's torch (OpenBLAS) sums vectors
    /// shorter than its 16-entry blocks; longer ones it sums in lanes that depend on the processor, which this does not follow.
    /// </summary>
    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum = Math.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    private static double MaxAbs(double[] a) => a.Max(Math.Abs);

    private static double MaxAbsScaled(double[] a, double t) => a.Max(v => Math.Abs(v * t));

    private static double SumAbs(double[] a)
    {
        double sum = 0;
        foreach (var v in a) sum += Math.Abs(v);
        return sum;
    }

    /// <summary>PyTorch's strong-Wolfe line search (<c>_strong_wolfe</c> with c1 = 1e-4, c2 = 0.9, at most 25 evaluations), bracketing then zooming by cubic interpolation.</summary>
    private static class StrongWolfe
    {
        private const double C1 = 1e-4, C2 = 0.9;
        private const int MaxLs = LbfgsOptions.LineSearchEvaluations;

        /// <summary>Returns the loss at the accepted step, the step, and the evaluations used; the gradient there is left in <c>opt._grad</c>.</summary>
        public static (double Loss, double T, long Evals) Search(Lbfgs<T> opt, StepLength t, double[] d, double f, double[] g, double gtd, double toleranceChange)
        {
            int n = d.Length;
            double dNorm = MaxAbs(d);
            g = (double[])g.Clone();
            var gNew = new double[n];
            double fNew = opt.EvaluateAlong(t.Value, d, gNew);
            long evals = 1;
            double gtdNew = Dot(gNew, d);
            StepLength tPrev = default;
            double fPrev = f, gtdPrev = gtd;
            var gPrev = g;
            bool done = false;
            int lsIter = 0;
            StepLength[] bracket = [];
            double[] bracketF = [], bracketGtd = [];
            double[][] bracketG = [];
            while (lsIter < MaxLs)
            {
                if (fNew > f + C1 * t.Value * gtd || (lsIter > 1 && fNew >= fPrev))
                {
                    (bracket, bracketF, bracketG, bracketGtd) = ([tPrev, t], [fPrev, fNew], [gPrev, (double[])gNew.Clone()], [gtdPrev, gtdNew]);
                    break;
                }
                if (Math.Abs(gtdNew) <= -C2 * gtd)
                {
                    (bracket, bracketF, bracketG) = ([t], [fNew], [gNew]);
                    done = true;
                    break;
                }
                if (gtdNew >= 0)
                {
                    (bracket, bracketF, bracketG, bracketGtd) = ([tPrev, t], [fPrev, fNew], [gPrev, (double[])gNew.Clone()], [gtdPrev, gtdNew]);
                    break;
                }
                StepLength minStep = t + 0.01 * (t - tPrev), maxStep = t * 10, tmp = t;
                t = CubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, minStep, maxStep);
                tPrev = tmp;
                fPrev = fNew;
                gPrev = (double[])gNew.Clone();
                gtdPrev = gtdNew;
                fNew = opt.EvaluateAlong(t.Value, d, gNew);
                evals++;
                gtdNew = Dot(gNew, d);
                lsIter++;
            }
            if (lsIter == MaxLs)
                (bracket, bracketF, bracketG) = ([default, t], [f, fNew], [g, gNew]);

            bool insufficientProgress = false;
            (int low, int high) = bracketF[0] <= bracketF[^1] ? (0, 1) : (1, 0);
            while (!done && lsIter < MaxLs)
            {
                if (Math.Abs(bracket[1].Value - bracket[0].Value) * dNorm < toleranceChange) break;
                t = CubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1], null, null);
                StepLength hi = StepLength.Max(bracket[0], bracket[1]), lo = StepLength.Min(bracket[0], bracket[1]);
                var eps = 0.1 * (hi - lo);
                if (Math.Min(hi.Value - t.Value, t.Value - lo.Value) < eps.Value)
                {
                    if (insufficientProgress || t.Value >= hi.Value || t.Value <= lo.Value)
                    {
                        t = Math.Abs(t.Value - hi.Value) < Math.Abs(t.Value - lo.Value) ? hi - eps : lo + eps;
                        insufficientProgress = false;
                    }
                    else
                    {
                        insufficientProgress = true;
                    }
                }
                else
                {
                    insufficientProgress = false;
                }
                fNew = opt.EvaluateAlong(t.Value, d, gNew);
                evals++;
                gtdNew = Dot(gNew, d);
                lsIter++;
                if (fNew > f + C1 * t.Value * gtd || fNew >= bracketF[low])
                {
                    bracket[high] = t;
                    bracketF[high] = fNew;
                    bracketG[high] = (double[])gNew.Clone();
                    bracketGtd[high] = gtdNew;
                    (low, high) = bracketF[0] <= bracketF[1] ? (0, 1) : (1, 0);
                }
                else
                {
                    if (Math.Abs(gtdNew) <= -C2 * gtd) done = true;
                    else if (gtdNew * (bracket[high].Value - bracket[low].Value) >= 0)
                    {
                        bracket[high] = bracket[low];
                        bracketF[high] = bracketF[low];
                        bracketG[high] = bracketG[low];
                        bracketGtd[high] = bracketGtd[low];
                    }
                    bracket[low] = t;
                    bracketF[low] = fNew;
                    bracketG[low] = (double[])gNew.Clone();
                    bracketGtd[low] = gtdNew;
                }
            }
            bracketG[low].CopyTo(opt._grad, 0);
            return (bracketF[low], bracket[low].Value, evals);
        }

        /// <summary>
        /// The minimizer of the cubic through two points with their slopes, clamped to the bounds (or the points' interval) as
        /// Python's <c>min</c> and <c>max</c> pick; with torch's one rounding that depends on a tensor: a float divided by one
        /// is its reciprocal times the float.
        /// </summary>
        private static StepLength CubicInterpolate(StepLength x1, double f1, double g1, StepLength x2, double f2, double g2, StepLength? minBound, StepLength? maxBound)
        {
            var (lo, hi) = minBound is { } a && maxBound is { } b ? (a, b) : x1.Value <= x2.Value ? (x1, x2) : (x2, x1);
            var gap = x1 - x2;
            double slope = gap.IsTensor ? 1 / gap.Value * (3 * (f1 - f2)) : 3 * (f1 - f2) / gap.Value;
            double d1 = g1 + g2 - slope;
            double d2Square = d1 * d1 - g1 * g2;
            if (!(d2Square >= 0)) return (lo + hi) * 0.5;
            double d2 = Math.Sqrt(d2Square);
            double minPos = x1.Value <= x2.Value
                ? x2.Value - (x2.Value - x1.Value) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                : x1.Value - (x1.Value - x2.Value) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
            return StepLength.Min(StepLength.Max(new StepLength(minPos, true), lo), hi);
        }
    }

    /// <summary>
    /// A step length as torch's line search holds it: a Python float, or a 0-dim tensor once it comes from the gradient's
    /// tensors. Their values are the same; torch rounds one operation differently (see <see cref="StrongWolfe"/>).
    /// </summary>
    private readonly record struct StepLength(double Value, bool IsTensor)
    {
        /// <summary>torch's first step <c>min(1., reciprocal) * lr</c>, with <c>reciprocal = 1. / |g|_1</c> a tensor.</summary>
        public static StepLength First(double reciprocal, double lr) => reciprocal < 1 ? new(reciprocal * lr, true) : new(lr, false);

        /// <summary>Python's <c>max(a, b)</c>: <paramref name="a"/> unless <paramref name="b"/> is larger.</summary>
        public static StepLength Max(StepLength a, StepLength b) => b.Value > a.Value ? b : a;

        /// <summary>Python's <c>min(a, b)</c>: <paramref name="a"/> unless <paramref name="b"/> is smaller.</summary>
        public static StepLength Min(StepLength a, StepLength b) => b.Value < a.Value ? b : a;

        /// <summary>The sum, a tensor if either is.</summary>
        public static StepLength operator +(StepLength a, StepLength b) => new(a.Value + b.Value, a.IsTensor || b.IsTensor);

        /// <summary>The difference, a tensor if either is.</summary>
        public static StepLength operator -(StepLength a, StepLength b) => new(a.Value - b.Value, a.IsTensor || b.IsTensor);

        /// <summary>A float times a step length.</summary>
        public static StepLength operator *(double a, StepLength b) => new(a * b.Value, b.IsTensor);

        /// <summary>A step length times a float.</summary>
        public static StepLength operator *(StepLength a, double b) => new(a.Value * b, a.IsTensor);
    }
}
