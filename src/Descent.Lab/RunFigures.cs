using System.Globalization;
using System.Text.Json;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab;

/// <summary>
/// Curves of training runs (directories written by <see cref="Trainer.Run"/>): one panel per metric side
/// by side, in the report's style. Several runs are overlaid, one colour each, and the legend names each
/// run by the settings in which the runs' <c>config.json</c> files differ.
/// </summary>
public static class RunFigures
{
    /// <summary>The metrics that can be drawn: <c>loss</c> (train and test, log scale), <c>accuracy</c> (train and test), <c>lr</c>.</summary>
    public static IReadOnlyList<string> Metrics { get; } = ["loss", "accuracy", "lr"];

    private const int PanelWidth = 520, PanelHeight = 420, LegendRow = 22;

    /// <summary>
    /// Draws <paramref name="metrics"/> of the runs in <paramref name="runDirs"/> into <paramref name="path"/>
    /// (<c>.png</c> or <c>.svg</c>). A run directory without <c>metrics.csv</c> or <c>config.json</c>, or an
    /// unknown metric, is an error naming it.
    /// </summary>
    public static void Save(IReadOnlyList<string> runDirs, string path, IReadOnlyList<string> metrics)
    {
        ArgumentNullException.ThrowIfNull(runDirs);
        if (runDirs.Count == 0) throw new ArgumentException("Give at least one run directory to plot.");
        if (metrics.FirstOrDefault(m => !Metrics.Contains(m)) is { } unknown)
            throw new ArgumentException($"Unknown metric '{unknown}': choose from {string.Join(", ", Metrics)}.");
        string extension = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (extension is not (".png" or ".svg")) throw new ArgumentException($"Cannot write '{path}': the figure is written as .png or .svg.");
        var runs = runDirs.Select(Load).ToList();
        var labels = Labels(runs.Select(r => r.Config).ToList(), runDirs);
        var plots = metrics.Select(m => Panel(m, runs, labels)).ToList();
        Render(plots, path, extension == ".svg", legend: Legend(runs.Count, labels, lineStyles: metrics.Any(m => m != "lr")));
    }

    private sealed record Run(IReadOnlyList<MetricsRow> Rows, Dictionary<string, string> Config);

    private static Run Load(string dir)
    {
        string metrics = System.IO.Path.Combine(dir, "metrics.csv"), config = System.IO.Path.Combine(dir, "config.json");
        if (!File.Exists(metrics) || !File.Exists(config))
            throw new InvalidDataException($"{dir} is not a run directory of descent train (it needs metrics.csv and config.json).");
        var rows = MetricsRow.ReadCsv(metrics);
        if (rows.Count == 0) throw new InvalidDataException($"{metrics} has no rows yet: the run has not reached its first evaluation.");
        using var document = ConfigDocument(dir);
        return new Run(rows, Flatten(document.RootElement));
    }

    /// <summary>The run's <c>config.json</c>, parsed; a damaged one is reported as such.</summary>
    private static JsonDocument ConfigDocument(string dir)
    {
        string path = System.IO.Path.Combine(dir, "config.json");
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON ({e.Message}): the run directory was damaged or edited by hand.");
        }
    }

    /// <summary>
    /// A config as text values by name, the hyperparameters under their own names and completed with the
    /// optimizer's defaults, so a run that left <c>lr</c> at its default still shows it.
    /// </summary>
    private static Dictionary<string, string> Flatten(JsonElement config)
    {
        var flat = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in config.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Object)
                foreach (var inner in p.Value.EnumerateObject()) flat[inner.Name] = inner.Value.ToString();
            else if (p.Value.ValueKind == JsonValueKind.Array)
                flat[p.Name] = string.Join(",", p.Value.EnumerateArray().Select(e => e.ToString()));
            else
                flat[p.Name] = p.Value.ToString();
        }
        if (flat.TryGetValue("optimizer", out var name) && Optim.Optimizers.Names.Contains(name))
        {
            var defaults = Optim.Optimizers.DefaultOptions(name);
            foreach (var h in defaults.Hyperparameters)
                flat.TryAdd(h.Name, h.Get(defaults).ToString(CultureInfo.InvariantCulture));
        }
        return flat;
    }

    /// <summary>The hyperparameters a run set explicitly (the rest are its optimizer's defaults).</summary>
    private static HashSet<string> Explicit(string dir)
    {
        using var config = ConfigDocument(dir);
        return config.RootElement.TryGetProperty("hyperparameters", out var h)
            && h.ValueKind == JsonValueKind.Object ? [.. h.EnumerateObject().Select(p => p.Name)] : [];
    }

    /// <summary>
    /// Each run's legend text: the settings whose values differ between the runs (<c>optimizer adam, lr 0.01</c>).
    /// A setting only some runs have (momentum, for SGD beside Adam) is named where it was set explicitly, so
    /// the defaults of one optimizer do not crowd the legend. Runs that differ in nothing, or a single run, are
    /// named by their directory.
    /// </summary>
    private static string[] Labels(IReadOnlyList<Dictionary<string, string>> configs, IReadOnlyList<string> dirs)
    {
        var keys = configs.SelectMany(c => c.Keys).Distinct().Where(k => k != "checkpoint_every")
            .Where(k => configs.Select(c => c.GetValueOrDefault(k)).Distinct().Count() > 1).ToList();
        return [.. configs.Select((c, i) =>
        {
            var set = Explicit(dirs[i]);
            var shown = keys.Where(k => c.ContainsKey(k) && (configs.All(o => o.ContainsKey(k)) || set.Contains(k))).ToList();
            return shown.Count == 0 || configs.Count == 1
                ? System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(dirs[i]))
                : string.Join(", ", shown.Select(k => $"{k.Replace('_', ' ')} {c[k]}"));
        })];
    }

    private static Plot Panel(string metric, IReadOnlyList<Run> runs, string[] labels)
    {
        bool single = runs.Count == 1;
        // Runs whose learning rates are a decade or more apart share a log axis, or the smaller ones lie flat on zero.
        var peaks = runs.Select(r => r.Rows.Max(x => x.LearningRate)).ToList();
        bool logLr = metric == "lr" && runs.All(r => r.Rows.All(x => x.LearningRate > 0)) && peaks.Max() >= 10 * peaks.Min();
        var plot = metric switch
        {
            "loss" => Figures.New("Loss", "step", "loss (log scale)"),
            "accuracy" => Figures.New("Accuracy", "step", "accuracy"),
            _ => Figures.New("Learning rate", "step", logLr ? "learning rate (log scale)" : "learning rate"),
        };
        for (int r = 0; r < runs.Count; r++)
        {
            var rows = runs[r].Rows;
            double[] steps = [.. rows.Select(x => (double)x.Step)];
            // One run: train and test in two colours; several: one colour per run, test dashed.
            var (trainColor, testColor) = single ? (Figures.Palette[0], Figures.Palette[1]) : (Figures.Palette[r % Figures.Palette.Length], Figures.Palette[r % Figures.Palette.Length]);
            switch (metric)
            {
                case "loss":
                    Curve(plot, steps, [.. rows.Select(x => Math.Log10(Math.Max(x.TrainLoss, 1e-12)))], trainColor, false);
                    Curve(plot, steps, [.. rows.Select(x => Math.Log10(Math.Max(x.TestLoss, 1e-12)))], testColor, true);
                    break;
                case "accuracy":
                    Curve(plot, steps, [.. rows.Select(x => x.TrainAccuracy)], trainColor, false);
                    Curve(plot, steps, [.. rows.Select(x => x.TestAccuracy)], testColor, true);
                    break;
                default:
                    Curve(plot, steps, [.. rows.Select(x => logLr ? Math.Log10(x.LearningRate) : x.LearningRate)], trainColor, false);
                    break;
            }
        }
        if (metric == "loss") LogTicks(plot, runs.SelectMany(r => r.Rows).SelectMany(x => new[] { x.TrainLoss, x.TestLoss }));
        if (metric == "accuracy") plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v.ToString("P0", CultureInfo.InvariantCulture) };
        if (logLr) LogTicks(plot, runs.SelectMany(r => r.Rows).Select(x => x.LearningRate));
        plot.Axes.Margins(0.02, 0.08);
        // A linear learning-rate axis runs from 0 (rates are never negative): a constant rate otherwise sat alone in the
        // middle of an axis from -1 to 1.
        if (metric == "lr" && !logLr) plot.Axes.SetLimitsY(0, peaks.Max() > 0 ? 1.08 * peaks.Max() : 1);
        return plot;
    }

    /// <summary>Left-axis ticks for log10 data, from the report's one log-tick rule (<see cref="Figures.LogTicks"/>).</summary>
    private static void LogTicks(Plot plot, IEnumerable<double> values)
    {
        var finite = values.Where(v => double.IsFinite(v) && v > 0).Select(v => Math.Log10(Math.Max(v, 1e-12))).ToList();
        if (finite.Count == 0) return;
        // Ticks may sit in the axis margin beyond the data (Margins below adds 8% of the span at each end).
        double span = Math.Max(finite.Max() - finite.Min(), 1e-3);
        var (positions, labels) = Figures.LogTicks(finite.Min() - 0.06 * span, finite.Max() + 0.06 * span);
        plot.Axes.Left.SetTicks(positions, labels);
    }

    private static void Curve(Plot plot, double[] xs, double[] ys, Color color, bool dashed)
    {
        var line = plot.Add.ScatterLine(xs, ys);
        line.Color = color;
        line.LineWidth = 2;
        if (dashed) line.LinePattern = LinePattern.Dashed;
        if (xs.Length == 1) line.MarkerSize = 6;   // a run with one evaluation still shows its point
    }

    /// <summary>The legend: the line styles (train solid, test dashed) where a panel has them, then, for several runs, each run's colour and label.</summary>
    private static LegendItem[] Legend(int runCount, string[] labels, bool lineStyles)
    {
        var items = new List<LegendItem>();
        var styleColor = runCount == 1 ? (Figures.Palette[0], Figures.Palette[1]) : (Colors.Gray, Colors.Gray);
        if (lineStyles)
        {
            items.Add(new LegendItem { LabelText = "train", LineColor = styleColor.Item1, LineWidth = 2 });
            items.Add(new LegendItem { LabelText = "test", LineColor = styleColor.Item2, LineWidth = 2, LinePattern = LinePattern.Dashed });
        }
        else if (runCount == 1)
        {
            items.Add(new LegendItem { LabelText = labels[0], LineColor = Figures.Palette[0], LineWidth = 2 });
        }
        if (runCount > 1)
            for (int r = 0; r < runCount; r++)
                items.Add(new LegendItem { LabelText = labels[r], LineColor = Figures.Palette[r % Figures.Palette.Length], LineWidth = 4 });
        return [.. items];
    }

    /// <summary>Renders the panels side by side, with the legend in its own strip below them where it hides no curve.</summary>
    private static void Render(IReadOnlyList<Plot> plots, string path, bool svg, LegendItem[] legend)
    {
        var key = new Plot();
        key.Font.Set("DejaVu Sans");
        key.Layout.Frameless();
        key.Axes.Frameless();
        key.HideGrid();
        // Two items (train, test) fit on one line; run labels get a line each.
        bool oneLine = legend.Length <= 2;
        key.ShowLegend(legend, Alignment.MiddleCenter);
        key.Legend.Orientation = oneLine ? Orientation.Horizontal : Orientation.Vertical;
        int width = Math.Max(2, plots.Count) * PanelWidth, legendHeight = (oneLine ? 1 : legend.Length) * LegendRow + 24;
        Figures.Grid(plots, plots.Count, width / plots.Count, PanelHeight, key, legendHeight, path, svg);
    }
}
