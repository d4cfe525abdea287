using Descent.Numerics;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// <c>descent lr-find</c>: the learning-rate range test (Smith, 2017) as fastai's <c>lr_find</c> runs it, on the
/// model, data and optimizer <c>descent train</c> would build; writes the curve (CSV), a figure with the two
/// suggestions marked, and prints the suggestions.
/// </summary>
internal static class LrFindCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var training = new TrainingArguments();
        var d = new LearningRateFinderOptions();
        var startLr = TrainingArguments.Text("--start-lr", $"learning rate of the first iteration [default: {TrainingArguments.Shown(d.StartLr)}]", "LR");
        var endLr = TrainingArguments.Text("--end-lr", $"learning rate the range rises towards, exponentially [default: {TrainingArguments.Shown(d.EndLr)}]", "LR");
        var iterations = TrainingArguments.Text("--iterations", $"minibatches at most, one per rate [default: {TrainingArguments.Shown(d.Iterations)}]", "N");
        var stopFactor = TrainingArguments.Text("--stop-factor", $"stop once the smoothed loss exceeds this multiple of its minimum; 0 runs every iteration [default: {TrainingArguments.Shown(d.StopFactor)}]", "F");
        var outDir = TrainingArguments.Text("--out", "output directory (created): lr-find.csv, lr-find.png and .svg, lr-find.json", "DIR");
        var format = TrainingArguments.Choice("--format", "what to print at the end on stdout", "text", "text", "json");
        var command = new Command("lr-find", "Find a learning rate by the range test: train with rates rising exponentially from --start-lr to --end-lr, one minibatch each, " +
            "until the smoothed loss explodes; suggest the rate of steepest descent and a tenth of the rate at the minimum (fastai's lr_find). " +
            "The model, data and optimizer options are those of descent train.");
        foreach (var o in training.Model.Concat([startLr, endLr, iterations, stopFactor]).Concat(training.Steps).Concat([outDir, format]).Concat(training.Hyperparameters.Options))
            command.Add(o);
        // The test sets the rate itself: --lr is not offered, and refused with a message that says so (not as an unknown option).
        var lr = training.Hyperparameters.Options.Single(o => o.Name == "--lr");
        lr.Hidden = true;

        command.SetAction(parsed =>
        {
            if (parsed.GetResult(lr) is { Implicit: false })
                throw new UsageException("lr-find sets the learning rate itself, rising from --start-lr to --end-lr; drop --lr.");
            string dir = parsed.GetValue(outDir) ?? throw new UsageException("Say where to write the curve and figure: --out DIR.");
            var options = new LearningRateFinderOptions
            {
                StartLr = parsed.GetValue(startLr) is { } s ? Numbers.Real(s, "--start-lr") : d.StartLr,
                EndLr = parsed.GetValue(endLr) is { } end ? Numbers.Real(end, "--end-lr") : d.EndLr,
                Iterations = parsed.GetValue(iterations) is { } n ? Numbers.Whole(n, "--iterations", 6, 10_000_000) : d.Iterations,
                StopFactor = parsed.GetValue(stopFactor) is { } f ? Numbers.Real(f, "--stop-factor") : d.StopFactor,
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            var config = training.Read(parsed);
            if (File.Exists(Path.Combine(dir, "lr-find.csv")))
                throw new UsageException($"{dir} already holds a range test (lr-find.csv); choose another --out.");
            var trainer = TrainingArguments.CreateTrainer(LearningRateFinder.Configure(config, options));
            var data = trainer.Train;
            if (training.BatchGiven(parsed) && config.Batch > data.Count)
                throw new UsageException($"--batch {config.Batch} is larger than the training set ({data.Count} examples); use --batch {data.Count} or less.");
            Paths.OutputDirectory(dir, "--out");
            stderr.WriteLine($"descent: range test of {config.Optimizer} on {data.Name} ({data.Count} examples), lr from {Lab.Numbers.Format(options.StartLr)} to {Lab.Numbers.Format(options.EndLr)} over at most {options.Iterations} minibatches of {config.Batch} -> {dir}");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var last = TimeSpan.Zero;
            var result = LearningRateFinder.Run(trainer, options, (i, rate, loss) =>
            {
                if (clock.Elapsed - last < TimeSpan.FromSeconds(2)) return;
                last = clock.Elapsed;
                stderr.WriteLine($"descent: iteration {i}/{options.Iterations}  lr {rate:G3}  smoothed loss {loss:G4}");
            });

            string csv = Path.Combine(dir, "lr-find.csv"), json = Path.Combine(dir, "lr-find.json");
            var lines = new StringBuilder("iteration,lr,loss,smoothed_loss\n");
            for (int i = 0; i < result.LearningRates.Length; i++)
                lines.Append(CultureInfo.InvariantCulture, $"{i + 1},{Numbers.Format(result.LearningRates[i])},{Numbers.Format(result.Losses[i])},{Numbers.Format(result.SmoothedLosses[i])}\n");
            State.Atomic.WriteText(csv, lines.ToString());
            string png = Lab.LearningRateFinderFigure.Save(result, $"Learning-rate range test: {config.Optimizer}, {config.Model ?? "mlp:" + string.Join(',', config.Hidden)} on {data.Name}", dir, "lr-find");
            string summary = State.Atomic.JsonText(new Dictionary<string, object>
            {
                ["steepest"] = result.Steepest.LearningRate,
                ["minimum"] = result.Minimum.LearningRate,
                ["minimum_at"] = result.Minimum.PointLr,
                ["iterations"] = result.LearningRates.Length,
                ["stop"] = result.Stop,
                ["csv"] = csv,
                ["figure"] = png,
            }, new JsonSerializerOptions { WriteIndented = true, Converters = { new RoundTrip.JsonConverter() } });
            State.Atomic.WriteText(json, summary);
            if (parsed.GetValue(format) == "json")
            {
                stdout.Write(summary);
            }
            else
            {
                stdout.WriteLine($"steepest        {Lab.Numbers.Format(result.Steepest.LearningRate)}   (the smoothed loss falls fastest against log lr)");
                stdout.WriteLine($"minimum / 10    {Lab.Numbers.Format(result.Minimum.LearningRate)}   (the smoothed loss is lowest at lr {Lab.Numbers.Format(result.Minimum.PointLr)})");
                stdout.WriteLine($"iterations      {result.LearningRates.Length} of {options.Iterations} ({StopText(result.Stop)}) in {clock.Elapsed.TotalSeconds:F1} s");
                stdout.WriteLine($"curve           {csv}");
                stdout.WriteLine($"figure          {png}");
            }
            return 0;
        });
        return command;
    }

    private static string StopText(string stop) => stop switch
    {
        "diverged" => "stopped: the smoothed loss passed the stop factor times its minimum",
        "not finite" => "stopped: a minibatch loss was not finite",
        _ => "ran to the end",
    };
}
