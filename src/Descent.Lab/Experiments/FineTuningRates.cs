using Descent.Data;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>
/// The learning rate for fine-tuning: the CNN pretrained on digits 0-4, then fine-tuned on 5-9 at the pretraining rate,
/// a tenth and a hundredth of it, and with discriminative rates (smaller on the early layers, through parameter groups);
/// what each learns of the new task and keeps of the old one.
/// </summary>
public sealed class FineTuningRates : Experiment<FineTuningRates.Results>
{
    private static readonly int[] Old = [0, 1, 2, 3, 4];
    private static readonly int[] New = [5, 6, 7, 8, 9];

    /// <summary>The pretraining rate of SGD with Nesterov momentum 0.9: the best of the CNN's grid (cnn-lr-sensitivity).</summary>
    private const double PretrainLr = 0.1;

    /// <summary>One way of fine-tuning.</summary>
    /// <param name="Label">Its name in the figures and the summary.</param>
    /// <param name="Lr">The run's learning rate (of every parameter not in a group).</param>
    /// <param name="Groups">Parameter groups with their own rates.</param>
    public sealed record Setting(string Label, double Lr, ParameterGroupConfig[] Groups);

    /// <summary>
    /// The settings compared: the pretraining rate, a tenth and a hundredth of it for every layer, and discriminative
    /// fine-tuning (Howard and Ruder, 2018): the pretraining rate on the fully connected layers, a tenth on the second
    /// convolution and a hundredth on the first, whose features are the most general.
    /// </summary>
    public static IReadOnlyList<Setting> Settings { get; } =
    [
        new("pretraining rate, 0.1", PretrainLr, []),
        new("a tenth, 0.01", PretrainLr / 10, []),
        new("a hundredth, 0.001", PretrainLr / 100, []),
        new("discriminative: 0.1, conv 2 at 0.01, conv 1 at 0.001", PretrainLr,
        [
            new() { Pattern = "layers.0.*", Hyperparameters = new() { ["lr"] = PretrainLr / 100 } },
            new() { Pattern = "layers.3.*", Hyperparameters = new() { ["lr"] = PretrainLr / 10 } },
        ]),
    ];

    /// <summary>Accuracies of one model on both tasks' test digits.</summary>
    /// <param name="New">On digits 5-9, over all ten outputs.</param>
    /// <param name="Old">On digits 0-4, over all ten outputs (the output layer is shared, so predicting a new digit is wrong).</param>
    /// <param name="OldAmongOld">On digits 0-4, over the outputs of 0-4 only (the output layer's rows of the new digits ignored).</param>
    /// <param name="OldHead">
    /// On digits 0-4, over the outputs of 0-4, with the pretrained output layer put back on the fine-tuned layers below it:
    /// what the features still know of the old task, as a model that kept its old head would use them.
    /// </param>
    public sealed record Accuracies(double New, double Old, double OldAmongOld, double OldHead);

    /// <summary>A fine-tuning run: the accuracies at evenly spaced steps, from the pretrained model at step 0.</summary>
    /// <param name="Steps">The fine-tuning steps evaluated, from 0.</param>
    /// <param name="Curve">The accuracies at each of <paramref name="Steps"/>.</param>
    public sealed record FineTuning(double[] Steps, Accuracies[] Curve)
    {
        /// <summary>The accuracies at the end of fine-tuning.</summary>
        public Accuracies Final => Curve[^1];
    }

    /// <summary>Everything measured.</summary>
    /// <param name="Runs">The fine-tuning runs, <c>[seed][setting]</c>.</param>
    /// <param name="PretrainSteps">Steps of pretraining.</param>
    /// <param name="Examples">Training digits of the old and of the new task.</param>
    public sealed record Results(FineTuning[][] Runs, long PretrainSteps, (int Old, int New) Examples);

    /// <inheritdoc/>
    public override string Name => "fine-tuning-rates";

    /// <inheritdoc/>
    public override string Title => "The learning rate for fine-tuning: new task learnt, old task kept";

    /// <inheritdoc/>
    public override string Description =>
        "The cnn preset pretrained on digits 0-4 of the MNIST digits (SGD with Nesterov momentum 0.9 at lr 0.1, batch 64), its weights written as " +
        "model.safetensors and read back as the starting weights (--init) of fine-tuning on digits 5-9, with the same ten-way output layer: at the " +
        "pretraining rate, a tenth and a hundredth of it, and with discriminative rates (0.1 on the fully connected layers, 0.01 on the second " +
        "convolution, 0.001 on the first, through parameter groups). Reported: accuracy on the new digits, on the old ones over all ten outputs, and " +
        "on the old ones over their own five outputs, and with the pretrained output layer put back on the fine-tuned layers below it (what the " +
        "features still know of the old task). Expected: a fine-tuning rate well below the pretraining rate " +
        "keeps more of the old task, and discriminative rates keep the early features while learning the new task.";

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var (_, test) = bench.MnistDir is null ? Mnist.Embedded() : Mnist.Load(bench.MnistDir, "mnist");
        var oldTest = test.OfClasses(Old, "digits 0-4");
        var newTest = test.OfClasses(New, "digits 5-9");
        int seeds = bench.Seeds;
        bench.Say($"{Name}: pretraining {seeds} CNN(s) on digits 0-4, then {seeds * Settings.Count} fine-tuning runs on 5-9");
        // Through a run directory inside the kept pretraining run, as `descent train --out` then `--init DIR/model.safetensors` would:
        // the file is what fine-tuning starts from. Found from the kept run's place, not stored in it, so the output directory can move.
        string Pretrained(int seed) => Path.Combine(bench.Runs.RunDir("fine-tuning-pretrain", bench.Runs.Id("fine-tuning-pretrain", seed)), "pretrain");
        var pretrained = bench.RunKept("fine-tuning-pretrain", Enumerable.Range(0, seeds).ToList(), seed =>
        {
            string dir = Pretrained(seed);
            var trainer = new Trainer(Base(bench, seed, PretrainLr) with
            {
                Classes = Old,
                Steps = bench.Pick(6L, 150L, 0L),
                Epochs = bench.Pick(0L, 0L, 10L),
                EvalEvery = long.MaxValue,
                CheckpointEvery = long.MaxValue,
            });
            // What an interrupted run or another build left there is trained again from the start (a run refuses to overwrite files).
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            trainer.Run(dir);
            return (trainer.TotalSteps, Examples: trainer.Train.Count);
        });
        var work = Enumerable.Range(0, seeds).SelectMany(seed => Settings.Select(s => (Seed: seed, Setting: s))).ToList();
        var runs = bench.RunKept(Name, work, w =>
        {
            string pretrained = Pretrained(w.Seed), weights = Path.Combine(pretrained, "model.safetensors");
            if (!File.Exists(weights))
                throw new FileNotFoundException($"The pretrained weights {weights} are missing, though the kept pretraining run says it wrote them: " +
                    $"delete {Path.GetDirectoryName(pretrained)} and run reproduce again to pretrain.", weights);
            var trainer = new Trainer(Base(bench, w.Seed, w.Setting.Lr) with
            {
                Classes = New,
                Init = weights,
                ParameterGroups = w.Setting.Groups,
                Steps = bench.Pick(6L, 80L, 0L),
                Epochs = bench.Pick(0L, 0L, 5L),
            });
            return (Run: FineTune(trainer, oldTest, newTest, bench.Pick(1, 4, 10)), Examples: trainer.Train.Count);
        });
        return new Results([.. runs.Select(r => r.Run).Chunk(Settings.Count)], pretrained[0].TotalSteps, (pretrained[0].Examples, runs[0].Examples));
    }

    /// <summary>The CNN runs' config (<see cref="CnnRuns.Config"/>: the cnn preset, batch 64, SGD with Nesterov momentum 0.9) at rate <paramref name="lr"/>.</summary>
    private static TrainingConfig Base(Workbench bench, int seed, double lr) => CnnRuns.Config(bench, new CnnRuns.Setting("mnist", "sgd", lr, seed));

    /// <summary>Fine-tunes to the end, evaluating both tasks before the first step and at <paramref name="points"/> evenly spaced steps.</summary>
    private static FineTuning FineTune(Trainer trainer, Dataset oldTest, Dataset newTest, int points)
    {
        long every = Math.Max(1, trainer.TotalSteps / points);
        var steps = new List<double> { 0 };
        // The pretrained output layer (the last two parameters: weight and bias), to put back for OldHead.
        var head = trainer.Model.Parameters.TakeLast(2).ToArray();
        var pretrained = head.Select(p => p.Value.ToArray()).ToArray();
        var curve = new List<Accuracies> { Evaluate(trainer, oldTest, newTest, head, pretrained) };
        var outcome = new TrainingLoop(trainer, new StepObserver((_, _) =>
        {
            if (trainer.Step % every != 0 && trainer.Step != trainer.TotalSteps) return;
            steps.Add(trainer.Step);
            curve.Add(Evaluate(trainer, oldTest, newTest, head, pretrained));
        }))
        { EvalEvery = 0, CheckpointEvery = 0 }.Run();
        if (outcome.Divergence is { } d) throw new TrainingException($"Fine-tuning diverged at step {d.Step} (loss {d.Loss}).");
        return new FineTuning([.. steps], [.. curve]);
    }

    private static Accuracies Evaluate(Trainer trainer, Dataset oldTest, Dataset newTest, Descent.Nn.Parameter<float>[] head, float[][] pretrained)
    {
        var (oldAll, oldAmong) = Accuracy(trainer, oldTest, Old);
        var tuned = head.Select(p => p.Value.ToArray()).ToArray();
        for (int i = 0; i < head.Length; i++) pretrained[i].CopyTo(head[i].Value);
        double oldHead = Accuracy(trainer, oldTest, Old).Among;
        for (int i = 0; i < head.Length; i++) tuned[i].CopyTo(head[i].Value);
        return new Accuracies(Accuracy(trainer, newTest, New).All, oldAll, oldAmong, oldHead);
    }

    /// <summary>
    /// The model's accuracy on <paramref name="data"/> over all its outputs, and over the outputs of <paramref name="classes"/> only
    /// (the prediction is the largest of those), in evaluation mode.
    /// </summary>
    private static (double All, double Among) Accuracy(Trainer trainer, Dataset data, int[] classes)
    {
        var model = trainer.Model;
        bool training = model.Training;
        model.Training = false;
        int all = 0, among = 0, k = model.Outputs;
        for (int start = 0; start < data.Count; start += 100)
        {
            int n = Math.Min(100, data.Count - start);
            var outputs = model.Forward(data.Features.AsSpan(start * data.Dimensions, n * data.Dimensions), n);
            for (int i = 0; i < n; i++)
            {
                var row = outputs.Slice(i * k, k);
                int label = data.Labels[start + i], best = 0, bestAmong = classes[0];
                for (int c = 1; c < k; c++)
                    if (row[c] > row[best]) best = c;
                foreach (int c in classes)
                    if (row[c] > row[bestAmong]) bestAmong = c;
                all += best == label ? 1 : 0;
                among += bestAmong == label ? 1 : 0;
            }
        }
        model.Training = training;
        return ((double)all / data.Count, (double)among / data.Count);
    }

    private static readonly (string Label, Func<Accuracies, double> Value)[] Measures =
        [("new task (5-9)", a => a.New), ("old task (0-4)", a => a.Old), ("old task, its own outputs", a => a.OldAmongOld), ("old task, old output layer put back", a => a.OldHead)];

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        // Bars: per setting, the three final accuracies side by side (median over seeds, whiskers their range).
        var bars = Figures.New("Fine-tuning digits 5-9 after pretraining on 0-4", "", "test accuracy after fine-tuning");
        double width = 0.2;
        for (int m = 0; m < Measures.Length; m++)
        {
            var values = Enumerable.Range(0, Settings.Count).Select(s => Spread.Of(data.Runs.Select(seed => Measures[m].Value(seed[s].Final)))).ToArray();
            var series = new List<Bar>();
            for (int s = 0; s < Settings.Count; s++)
            {
                double x = s + (m - 1.5) * width;
                series.Add(new Bar { Position = x, Value = values[s].Median, Size = width * 0.95, FillColor = Figures.Palette[m] });
                var text = bars.Add.Text(Numbers.Percent(values[s].Median), x, values[s].Median + 0.01);
                text.LabelFontSize = 11;
                text.LabelAlignment = Alignment.LowerCenter;
                if (data.Runs.Length == 1) continue;
                var range = bars.Add.Line(x, values[s].Min, x, values[s].Max);
                range.Color = Colors.Black;
                range.LineWidth = 2;
            }
            var plotted = bars.Add.Bars(series);
            plotted.LegendText = Measures[m].Label;
        }
        bars.Axes.Bottom.SetTicks([.. Enumerable.Range(0, Settings.Count).Select(s => (double)s)], [.. Settings.Select(s => Wrap(s.Label))]);
        bars.Axes.SetLimits(-0.5, Settings.Count - 0.5, 0, 1.08);
        Figures.LegendOutside(bars);
        bench.Add(this, "fine-tuning-rates", $"Test accuracy after {data.Runs[0][0].Steps[^1]:0} fine-tuning steps on digits 5-9 ({data.Examples.New} training digits) of the CNN " +
            $"pretrained for {data.PretrainSteps} steps on digits 0-4 ({data.Examples.Old}): on the new digits, on the old ones over all ten outputs, and on the old ones over " +
            "their own five outputs, and with the pretrained output layer put back" + (data.Runs.Length > 1 ? $"; median over {data.Runs.Length} seeds, whiskers their range." : "."), bars, 1250, 560);

        // Curves: how fast each setting learns the new digits and forgets the old ones.
        var curves = Figures.New("During fine-tuning: new digits (circles) and old digits (light, squares)", "fine-tuning step", "test accuracy");
        double[] xs = data.Runs[0][0].Steps;
        for (int s = 0; s < Settings.Count; s++)
        {
            int k = s;
            var color = Figures.Palette[s + 3];
            Figures.SeedCurves(curves, xs, [.. data.Runs.Select(seed => seed[k].Curve.Select(a => a.New).ToArray())], color, Settings[s].Label + ": new", markers: true);
            int before = curves.GetPlottables().Count();
            Figures.SeedCurves(curves, xs, [.. data.Runs.Select(seed => seed[k].Curve.Select(a => a.Old).ToArray())], color, "old", markers: true);
            // Old digits: the same colour, lighter, with open squares (a dashed SVG line is not supported by the SVG writer).
            foreach (var line in curves.GetPlottables().Skip(before).OfType<ScottPlot.Plottables.Scatter>())
            {
                line.Color = color.WithAlpha(0.5);
                line.MarkerShape = MarkerShape.OpenSquare;
            }
        }
        curves.Axes.SetLimitsY(0, 1);
        Figures.LegendOutside(curves);
        bench.Add(this, "fine-tuning-curves", "Accuracy on the new digits (circles) and on the old ones over all ten outputs (light lines, squares) during fine-tuning, from the pretrained model at step 0" +
            (data.Runs.Length > 1 ? $"; median over {data.Runs.Length} seeds, their range as a band." : "."), curves, 1100, 520);
    }

    /// <summary>A label over two lines at its first comma or colon, to fit under its bars.</summary>
    private static string Wrap(string label)
    {
        int at = label.IndexOfAny([':', ',']);
        return at < 0 ? label : label[..(at + 1)] + "\n" + label[(at + 1)..].Trim();
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        foreach (var (label, value) in Measures)
            bench.Measure(this, $"pretrained model (before fine-tuning): {label}", Spread.Of(data.Runs.Select(seed => value(seed[0].Curve[0]))).Format(Numbers.Percent));
        for (int s = 0; s < Settings.Count; s++)
            bench.Measure(this, $"fine-tuned at {Settings[s].Label}: {string.Join(" / ", Measures.Select(m => m.Label))}",
                string.Join(" / ", Measures.Select(m => Spread.Of(data.Runs.Select(seed => m.Value(seed[s].Final))).Format(Numbers.Percent))));
        var final = data.Runs.Select(seed => seed.Select(r => r.Final).ToArray()).ToArray();
        bench.Claim(this, "A fine-tuning rate well below the pretraining rate keeps more of the old task",
            "accuracy on the old digits (0-4) after fine-tuning, at a tenth of the pretraining rate minus at the pretraining rate",
            [.. final.Select(f => f[1].Old - f[0].Old)], Numbers.Points, "at least 5 points in every seed", v => v >= 0.05,
            $"{Numbers.Percent(final[0][1].Old)} against {Numbers.Percent(final[0][0].Old)} in the first seed");
        bench.Claim(this, "Discriminative fine-tuning (smaller rates on the early layers) keeps the early features while learning the new task",
            "accuracy on the old digits with the pretrained output layer put back (over its five old outputs), discriminative minus the pretraining rate on every layer",
            [.. final.Select(f => f[3].OldHead - f[0].OldHead)], Numbers.Points, "at least 2 points in every seed", v => v >= 0.02,
            $"{Numbers.Percent(final[0][3].OldHead)} against {Numbers.Percent(final[0][0].OldHead)}, new digits {Numbers.Percent(final[0][3].New)} against {Numbers.Percent(final[0][0].New)}, in the first seed");
    }
}
