using Descent.Numerics;
using System.Globalization;
using Descent.Optim;

namespace Descent.Training;

/// <summary>
/// The learning-rate range test (Smith, 2017, "Cyclical Learning Rates for Training Neural Networks"), as fastai's
/// <c>lr_find</c> runs it: a short training run whose learning rate rises exponentially from a tiny to a large value,
/// one minibatch per rate, recording the smoothed loss until it explodes. Two suggestions are read from the curve:
/// the steepest descent and a tenth of the minimum. Both are read after dropping the first tenth of the planned
/// iterations and the last five recorded (fastai's window), where the curve is still flat or already exploding.
/// </summary>
public static class LearningRateFinder
{
    /// <summary>
    /// Runs the test on a fresh model, data and optimizer built from <paramref name="config"/> (see <see cref="Configure"/>);
    /// nothing is written. <paramref name="progress"/> gets each iteration (from 1), its learning rate and its smoothed loss.
    /// </summary>
    public static LearningRateFinderResult Run(TrainingConfig config, LearningRateFinderOptions? options = null, Action<int, double, double>? progress = null)
    {
        options ??= new LearningRateFinderOptions();
        return Run(new Trainer(Configure(config, options)), options, progress);
    }

    /// <summary>
    /// The config of the test's training run: <paramref name="config"/> with its learning rate, schedule, warmup and
    /// length replaced by the test's (for Muon, the AdamW part's rate keeps its ratio to Muon's). The exponential schedule <c>lr gamma^(t-1)</c> with
    /// <c>gamma = (end / start)^(1 / iterations)</c> gives update <c>t = i + 1</c> the rate <c>start (end / start)^(i / iterations)</c>.
    /// A parameter group's rate keeps its ratio to the run's (discriminative rates are tested as one range).
    /// </summary>
    public static TrainingConfig Configure(TrainingConfig config, LearningRateFinderOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        double lr = config.Hyperparameters.TryGetValue("lr", out double given) ? given : Optimizers.DefaultOptions(config.Optimizer).LearningRate;
        if (lr == 0 && (config.ParameterGroups.Any(g => g.Hyperparameters.ContainsKey("lr")) || config.Optimizer == "muon"))
            throw new ArgumentException("The range test keeps each parameter group's lr (and Muon's AdamW part's) in proportion to the run's, which is 0: give the run an lr above 0.");
        // Muon's AdamW part sweeps in proportion, at the ratio the run would train with.
        double? adamWLr = config.Optimizer == "muon" ? options.StartLr * (config.AdamWLr ?? Optimizers.DefaultOptions("adamw").LearningRate) / lr : config.AdamWLr;
        return config with
        {
            Hyperparameters = new Dictionary<string, double>(config.Hyperparameters) { ["lr"] = options.StartLr },
            AdamWLr = adamWLr,
            ParameterGroups = [.. config.ParameterGroups.Select(g => g.Hyperparameters.TryGetValue("lr", out double own)
                ? g with { Hyperparameters = new Dictionary<string, double>(g.Hyperparameters) { ["lr"] = own / lr * options.StartLr } } : g)],
            Schedule = "exponential:gamma=" + RoundTrip.Format(Gamma(options)),
            Warmup = 0,
            Steps = options.Iterations,
            Epochs = 0,
        };
    }

    /// <summary>Runs the test on <paramref name="trainer"/>, built from <see cref="Configure"/>'s config and not yet stepped.</summary>
    public static LearningRateFinderResult Run(Trainer trainer, LearningRateFinderOptions options, Action<int, double, double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            options.Validate();
            if (trainer.Step != 0 || trainer.TotalSteps != options.Iterations || trainer.Config.Schedule != Schedules.ScheduleSpec.Resolve(Configure(trainer.Config, options).Schedule, options.Iterations, 0))
                throw new ArgumentException("The trainer must be new and built from LearningRateFinder.Configure's config with the same options.");
        }
        catch
        {
            trainer.EndSetup();   // refused before its first step: other runs need not wait for it
            throw;
        }
        var rates = new List<double>();
        var losses = new List<double>();
        var smoothed = new List<double>();
        double average = 0, best = double.PositiveInfinity;
        string stop = "end";
        for (int i = 0; i < options.Iterations; i++)
        {
            double lr = trainer.Setup.Schedule.At(i + 1);   // the rate the update uses, to the last bit
            double loss = trainer.TrainStep();
            if (!double.IsFinite(loss))
            {
                stop = "not finite";
                break;
            }
            average = options.Beta * average + (1 - options.Beta) * loss;
            double smooth = average / (1 - Math.Pow(options.Beta, i + 1));
            rates.Add(lr);
            losses.Add(loss);
            smoothed.Add(smooth);
            progress?.Invoke(i + 1, lr, smooth);
            best = Math.Min(best, smooth);
            if (options.StopFactor > 0 && smooth > options.StopFactor * best)
            {
                stop = "diverged";
                break;
            }
        }
        var (windowRates, windowLosses) = Window(rates, smoothed, options.Iterations);
        return new LearningRateFinderResult([.. rates], [.. losses], [.. smoothed], stop, Steepest(windowRates, windowLosses), Minimum(windowRates, windowLosses));
    }

    private static double Gamma(LearningRateFinderOptions options) => Math.Pow(options.EndLr / options.StartLr, 1.0 / options.Iterations);

    /// <summary>
    /// The part of the curve the suggestions read: from iteration <c>iterations / 10</c> to five before the last
    /// recorded. Fewer than two points left is an error saying how to get more.
    /// </summary>
    public static (double[] Rates, double[] Losses) Window(IReadOnlyList<double> rates, IReadOnlyList<double> losses, int iterations)
    {
        int from = iterations / 10, to = losses.Count - 5;
        if (to - from < 2)
            throw new TrainingException($"The range test stopped after {losses.Count} of {iterations} iterations, too few to suggest a learning rate " +
                $"(the suggestions skip the first {from} and the last 5): the loss exploded early; lower the start learning rate or raise the number of iterations.");
        return ([.. rates.Skip(from).Take(to - from)], [.. losses.Skip(from).Take(to - from)]);
    }

    /// <summary>
    /// The steepest descent: the rate at the left end of the interval where the loss falls fastest against the
    /// logarithm of the rate, <c>argmin (loss[i+1] - loss[i]) / (ln lr[i+1] - ln lr[i])</c>.
    /// </summary>
    public static LearningRateSuggestion Steepest(IReadOnlyList<double> rates, IReadOnlyList<double> losses)
    {
        Require(rates, losses);
        int best = 0;
        double steepest = double.PositiveInfinity;
        for (int i = 0; i + 1 < losses.Count; i++)
        {
            double slope = (losses[i + 1] - losses[i]) / (Math.Log(rates[i + 1]) - Math.Log(rates[i]));
            if (slope < steepest) (best, steepest) = (i, slope);
        }
        return new LearningRateSuggestion(rates[best], rates[best], losses[best]);
    }

    /// <summary>A tenth of the rate at the loss's minimum (the first, if it is reached more than once).</summary>
    public static LearningRateSuggestion Minimum(IReadOnlyList<double> rates, IReadOnlyList<double> losses)
    {
        Require(rates, losses);
        int best = 0;
        for (int i = 1; i < losses.Count; i++)
            if (losses[i] < losses[best]) best = i;
        return new LearningRateSuggestion(rates[best] / 10, rates[best], losses[best]);
    }

    private static void Require(IReadOnlyList<double> rates, IReadOnlyList<double> losses)
    {
        if (rates.Count != losses.Count) throw new ArgumentException($"{rates.Count} learning rates but {losses.Count} losses: give one loss per rate.");
        if (rates.Count < 2) throw new ArgumentException("A suggestion needs at least two points of the curve.");
    }
}
