using Descent.Analysis;
using Descent.Data;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>
/// Full-batch gradient descent trains at the edge of stability (Cohen et al., 2021), and full-batch Adam at its
/// adaptive edge (Cohen et al., 2022): the sharpness, measured by Lanczos on exact Hessian-vector products, rises
/// to the step size's stability threshold and stays there.
/// </summary>
public sealed class EdgeOfStability : Experiment<EdgeOfStability.Results>
{
    /// <inheritdoc/>
    public override string Name => "edge-of-stability";

    /// <inheritdoc/>
    public override string Title => "Gradient descent at the edge of stability";

    /// <inheritdoc/>
    public override string Description =>
        "Full-batch gradient descent on a few thousand MNIST digits (downsampled, centred) with a tanh network and the mean squared error against " +
        "one-hot labels, at three step sizes eta, with the sharpness (the largest Hessian eigenvalue, by Lanczos on exact Hessian-vector products) " +
        "measured along the way. Cohen et al. (2021) found that the sharpness rises (progressive sharpening) until it reaches 2/eta, the largest " +
        "curvature gradient descent is stable on, and then hovers there while the loss keeps falling, though not monotonically. For full-batch " +
        "Adam, Cohen et al. (2022) found the same of the preconditioned sharpness, the largest eigenvalue of P^-1 H with Adam's preconditioner " +
        "P = (1 - beta1^t) diag(sqrt(v_hat) + eps): it settles near the threshold of momentum with beta1, (2 + 2 beta1) / ((1 - beta1) eta) = 38/eta.";

    /// <summary>One training run and its curvature along the way.</summary>
    /// <param name="Optimizer">"gd" or "adam".</param>
    /// <param name="LearningRate">The step size eta.</param>
    /// <param name="Threshold">The stability threshold: 2/eta for gradient descent, (2 + 2 beta1) / ((1 - beta1) eta) for Adam.</param>
    /// <param name="Loss">The full-batch training loss before each step.</param>
    /// <param name="MeasuredAt">The steps at which the sharpness was measured.</param>
    /// <param name="Sharpness">The (preconditioned, for Adam) sharpness at those steps.</param>
    public sealed record Trajectory(string Optimizer, double LearningRate, double Threshold, double[] Loss, int[] MeasuredAt, double[] Sharpness);

    /// <summary>The runs and the setting they share.</summary>
    /// <param name="Examples">Training examples.</param>
    /// <param name="Side">Image side after downsampling.</param>
    /// <param name="Width">Width of each of the two hidden layers.</param>
    /// <param name="LanczosSteps">Lanczos steps per sharpness measurement.</param>
    /// <param name="GradientDescent">The gradient-descent runs, smallest step size first.</param>
    /// <param name="Adam">The Adam runs.</param>
    public sealed record Results(int Examples, int Side, int Width, int LanczosSteps, Trajectory[] GradientDescent, Trajectory[] Adam);

    private const double Beta1 = 0.9;

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        int examples = bench.Pick(200, 2000, 5000), side = bench.Pick(7, 14, 14), width = bench.Pick(32, 64, 200);
        int steps = bench.Pick(120, 1000, 4000), every = bench.Pick(10, 25, 20), lanczos = bench.Pick(10, 12, 20);
        // Step sizes whose thresholds 2/eta (1.33, 1, 0.8) lie above the initial sharpness (about 0.4 here) and within reach of
        // progressive sharpening in the default budget; with eta = 0.67 (2/eta = 3) the sharpness had only reached 0.73 by step 1,000.
        double[] rates = [1.5, 2, 2.5];
        double[] adamRates = bench.Pick<double[]>([1e-3], [1e-3], [1e-3, 3e-4]);
        var (x, y, inputs) = Digits(examples, side);
        bench.Say($"{Name}: {rates.Length} gradient-descent and {adamRates.Length} Adam runs on {examples} digits ({side}x{side}), {inputs}-{width}-{width}-10 tanh network");
        var runs = rates.Select(r => ("gd", r, steps)).Concat(adamRates.Select(r => ("adam", r, steps))).ToArray();
        var done = bench.RunKept(Name, runs, r => Train(r.Item1, r.Item2, r.Item3, every, lanczos, x, y, inputs, width));
        return new Results(examples, side, width, lanczos, [.. done.Where(r => r.Optimizer == "gd")], [.. done.Where(r => r.Optimizer == "adam")]);
    }

    /// <summary>
    /// The first <paramref name="count"/> embedded training digits, averaged down to <paramref name="side"/> x <paramref name="side"/>
    /// pixels and centred (the mean image subtracted), in double precision.
    /// </summary>
    private static (double[] X, int[] Y, int Inputs) Digits(int count, int side)
    {
        var (train, _) = Mnist.Embedded();
        int pool = 28 / side, inputs = side * side;
        var x = new double[count * inputs];
        for (int i = 0; i < count; i++)
        {
            var row = train.Row(i);
            for (int r = 0; r < side; r++)
                for (int c = 0; c < side; c++)
                {
                    double sum = 0;
                    for (int a = 0; a < pool; a++)
                        for (int b = 0; b < pool; b++) sum += row[(r * pool + a) * 28 + c * pool + b];
                    x[i * inputs + r * side + c] = sum / (pool * pool);
                }
        }
        for (int j = 0; j < inputs; j++)
        {
            double mean = 0;
            for (int i = 0; i < count; i++) mean += x[i * inputs + j];
            mean /= count;
            for (int i = 0; i < count; i++) x[i * inputs + j] -= mean;
        }
        return (x, train.Labels[..count], inputs);
    }

    /// <summary>
    /// Full-batch training by <paramref name="optimizer"/> at step size <paramref name="eta"/>, measuring the sharpness every
    /// <paramref name="every"/> steps before the step; stops early if the loss stops being finite.
    /// </summary>
    private static Trajectory Train(string optimizer, double eta, int steps, int every, int lanczos, double[] x, int[] y, int inputs, int width)
    {
        int n = y.Length;
        var model = new Sequential<double>([inputs, width, width, 10], Activation.Tanh, Initialization.Torch, new Rng(1));
        Optimizer<double> opt = optimizer == "gd"
            ? new Sgd<double>(model.Parameters, new SgdOptions { LearningRate = eta })
            : new Adam<double>(model.Parameters, new AdamOptions { LearningRate = eta, Beta1 = Beta1 });
        double threshold = optimizer == "gd" ? 2 / eta : (2 + 2 * Beta1) / ((1 - Beta1) * eta);
        var hvp = new HessianVectorProduct(model, x, y, Nn.Loss.MeanSquaredError);
        var rng = new Rng(7);
        var gradient = new double[n * 10];
        var losses = new List<double>();
        var measuredAt = new List<int>();
        var sharpness = new List<double>();
        for (int t = 0; t < steps; t++)
        {
            if (t % every == 0 || t == steps - 1)
            {
                measuredAt.Add(t);
                sharpness.Add(optimizer == "gd" ? Lanczos.TopEigenvalues(hvp.Multiply, hvp.Dimension, 1, lanczos, rng)[0] : PreconditionedSharpness((Adam<double>)opt, model, hvp, lanczos, rng));
            }
            var outputs = model.Forward(x, n);
            double loss = Losses.Evaluate(Nn.Loss.MeanSquaredError, outputs, y, n, gradient, out _);
            losses.Add(loss);
            if (!double.IsFinite(loss)) break;
            model.Backward(x, gradient, n, accumulate: false);
            opt.Step();
        }
        return new Trajectory(optimizer, eta, threshold, [.. losses], [.. measuredAt], [.. sharpness]);
    }

    /// <summary>
    /// The largest eigenvalue of <c>P^-1 H</c> for Adam's preconditioner <c>P = (1 - beta1^t) diag(sqrt(v_hat) + eps)</c>, the matrix
    /// that writes Adam's step as <c>w -= eta P^-1 m</c> (Cohen et al., 2022): Lanczos on the symmetric <c>P^-1/2 H P^-1/2</c>, which has
    /// the same eigenvalues. Before the first step (no second moment yet) it is the plain sharpness.
    /// </summary>
    private static double PreconditionedSharpness(Adam<double> adam, Sequential<double> model, HessianVectorProduct hvp, int lanczos, Rng rng)
    {
        long t = adam.StepCount;
        if (t == 0) return Lanczos.TopEigenvalues(hvp.Multiply, hvp.Dimension, 1, lanczos, rng)[0];
        var o = adam.OptionsOf();
        double bc1 = 1 - Math.Pow(o.Beta1, t), bc2 = 1 - Math.Pow(o.Beta2, t);
        var scale = new double[hvp.Dimension];
        int offset = 0;
        foreach (var p in model.Parameters)
        {
            var v = adam.StateOf(p.Name).Peek(1)!;
            for (int i = 0; i < p.Length; i++) scale[offset + i] = 1 / Math.Sqrt(bc1 * (Math.Sqrt(v[i] / bc2) + o.Eps));
            offset += p.Length;
        }
        var scaled = new double[hvp.Dimension];
        void Operator(ReadOnlySpan<double> u, Span<double> result)
        {
            for (int i = 0; i < u.Length; i++) scaled[i] = scale[i] * u[i];
            hvp.Multiply(scaled, result);
            for (int i = 0; i < u.Length; i++) result[i] *= scale[i];
        }
        return Lanczos.TopEigenvalues(Operator, hvp.Dimension, 1, lanczos, rng)[0];
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        // One column per step size: the sharpness with its threshold above, the loss below.
        var gd = data.GradientDescent;
        var sharpness = new List<Plot>();
        var losses = new List<Plot>();
        for (int i = 0; i < gd.Length; i++)
        {
            var run = gd[i];
            var color = Figures.Palette[i];
            var sharp = Figures.New($"eta = {Numbers.Format(run.LearningRate)}: sharpness", "step", "largest Hessian eigenvalue");
            Figures.Line(sharp, [.. run.MeasuredAt.Select(s => (double)s)], run.Sharpness, color, "sharpness");
            Threshold(sharp, run.Threshold, Colors.Black, $"2/eta = {Numbers.Format(run.Threshold)}");
            sharp.ShowLegend(Alignment.UpperLeft);
            sharpness.Add(sharp);
            var loss = Figures.New($"eta = {Numbers.Format(run.LearningRate)}: training loss", "step", "MSE (log scale)");
            var finite = run.Loss.Select((l, s) => (l, s)).Where(p => double.IsFinite(p.l) && p.l > 0).ToArray();
            Figures.Line(loss, [.. finite.Select(p => (double)p.s)], [.. finite.Select(p => Math.Log10(p.l))], color, "");
            Figures.LogY(loss);
            losses.Add(loss);
        }
        string setting = $"{data.Examples} digits at {data.Side}x{data.Side}, two tanh layers of {data.Width}, full batch; sharpness every few steps by {data.LanczosSteps} Lanczos steps on exact Hessian-vector products";
        bench.Add(this, "edge-of-stability", $"Gradient descent at three step sizes: the sharpness (top) with its threshold 2/eta dashed, and the training loss (bottom), which keeps falling at the edge of stability, though not monotonically ({setting}).",
            [.. sharpness, .. losses], gd.Length);

        var adam = Figures.New("Adam: preconditioned sharpness and 38/eta", "step", "largest eigenvalue of P^-1 H");
        for (int i = 0; i < data.Adam.Length; i++)
        {
            var run = data.Adam[i];
            var color = Figures.Palette[i + 3];
            Figures.Line(adam, [.. run.MeasuredAt.Skip(1).Select(s => (double)s)], run.Sharpness[1..], color, $"Adam, eta = {Numbers.Format(run.LearningRate)}");
            Threshold(adam, run.Threshold, color, $"38/eta = {Numbers.Format(run.Threshold)}");
        }
        Figures.LegendOutside(adam);
        bench.Add(this, "edge-of-stability-adam", $"Full-batch Adam (beta1 = {Beta1}, beta2 = 0.999): the largest eigenvalue of P^-1 H with P = (1 - beta1^t) diag(sqrt(v_hat) + eps), with the threshold 38/eta dashed ({setting}).", adam, 900);
    }

    private static void Threshold(Plot plot, double value, Color color, string label)
    {
        var line = plot.Add.HorizontalLine(value);
        line.Color = color;
        line.LineWidth = 1.5f;
        line.LinePattern = LinePattern.Dashed;
        line.LegendText = label;
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        foreach (var run in data.GradientDescent.Concat(data.Adam))
        {
            string who = $"{(run.Optimizer == "gd" ? "GD" : "Adam")}, eta = {Numbers.Format(run.LearningRate)}";
            var (first, hover) = Hover(run);
            // Adam's first measurement precedes its first step, when there is no preconditioner yet.
            double start = run.Sharpness[run.Optimizer == "gd" ? 0 : Math.Min(1, run.Sharpness.Length - 1)];
            bench.Measure(this, $"{who}: sharpness at the start and at its largest; threshold; first step at 90% of it; median sharpness / threshold from then on",
                $"{Numbers.Format(start)}, {Numbers.Format(run.Sharpness.Max())}; {Numbers.Format(run.Threshold)}; " +
                (first < 0 ? $"not reached in {run.Loss.Length} steps" : $"step {first} of {run.Loss.Length}; {Ratio(hover)}"));
        }
        var gd = data.GradientDescent;
        bench.Claim(this, "gradient descent: the sharpness rises to 2/eta and hovers there (Cohen et al., 2021)",
            "median sharpness / (2/eta) from the step it first reached 90% of 2/eta on, for each step size", [.. gd.Select(r => Hover(r).Median)], Ratio,
            "between 0.8x and 1.2x at every step size, the threshold reached in the first three quarters of the run", v => v >= 0.8 && v <= 1.2,
            string.Join(", ", gd.Select(r => $"eta {Numbers.Format(r.LearningRate)}: {Ratio(Hover(r).Median)}")));
        bench.Claim(this, "gradient descent: at the edge of stability the loss keeps falling, though not monotonically",
            "final loss / loss when the sharpness first reached 90% of 2/eta, for each step size", [.. gd.Select(r => LossAfterEdge(r).Ratio)],
            v => double.IsNaN(v) ? "no edge reached, or a monotone loss" : Numbers.Format(v),
            "below 1, with the loss rising on at least 1% of the later steps, at every step size", v => v < 1,
            string.Join(", ", gd.Select(r => { var (ratio, rising) = LossAfterEdge(r); return $"eta {Numbers.Format(r.LearningRate)}: {(double.IsNaN(ratio) ? "-" : Numbers.Format(ratio))}, rose on {Numbers.Percent(rising)} of the steps"; })));
        bench.Claim(this, "Adam: the preconditioned sharpness settles near (2 + 2 beta1) / ((1 - beta1) eta) = 38/eta (Cohen et al., 2022)",
            "median preconditioned sharpness / (38/eta) from the step it first reached 90% of 38/eta on", [.. data.Adam.Select(r => Hover(r).Median)], Ratio,
            "between 0.8x and 1.2x, the threshold reached in the first three quarters of the run", v => v >= 0.8 && v <= 1.2);
    }

    private static string Ratio(double v) => double.IsNaN(v) ? "threshold not reached in the first 3/4 of the run" : Numbers.Times(v);

    /// <summary>
    /// The first measured step at 90% of the threshold (-1 if none), and the median sharpness / threshold from then on; NaN when the
    /// threshold was first reached in the last quarter of the run or never, which leaves no time to see it hover.
    /// </summary>
    private static (int First, double Median) Hover(Trajectory run)
    {
        int k = Array.FindIndex(run.Sharpness, s => s >= 0.9 * run.Threshold);
        if (k < 0) return (-1, double.NaN);
        var after = run.Sharpness[k..].Select(s => s / run.Threshold).ToArray();
        return (run.MeasuredAt[k], run.MeasuredAt[k] > 0.75 * run.Loss.Length ? double.NaN : Spread.Of(after).Median);
    }

    /// <summary>
    /// The final loss over the loss when the sharpness first reached 90% of the threshold, and the share of the steps after that on which
    /// the loss rose; NaN and a rising share of zero when the threshold was never reached (the claim then fails: there was no edge).
    /// The ratio must be below 1 and the share at least 1% for the claim; a share below 1% makes the ratio count as NaN.
    /// </summary>
    private static (double Ratio, double Rising) LossAfterEdge(Trajectory run)
    {
        int first = Hover(run).First;
        if (first < 0 || first >= run.Loss.Length - 1) return (double.NaN, 0);
        int rose = 0;
        for (int t = first + 1; t < run.Loss.Length; t++)
            if (run.Loss[t] > run.Loss[t - 1]) rose++;
        double rising = (double)rose / (run.Loss.Length - first - 1);
        double ratio = run.Loss[^1] / run.Loss[first];
        return (rising >= 0.01 ? ratio : double.NaN, rising);
    }
}
