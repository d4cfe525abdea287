using Descent.Numerics;
using System.Globalization;
using System.Net;
using System.Text;
using Descent.State;
using Descent.Sweeps;
using ScottPlot;

namespace Descent.Lab;

/// <summary>The files <see cref="SweepReport.Write"/> wrote.</summary>
public sealed record SweepReportFiles(string Csv, string Markdown, string Html, string FiguresDir, int Rows, int Ended, int Figures);

/// <summary>
/// Turns a sweep's directory into <c>results.csv</c> (one row per trial: id, state, axes, final metrics, reason),
/// <c>report.md</c> and a self-contained <c>report.html</c>: the best setting per optimizer, every setting's median and range
/// over seeds, learning-rate sensitivity curves with seed bands, and heat maps for two-axis grids. A setting is the trial's
/// axes without the seed. Diverged trials stay in every table and figure, marked as diverged; a setting with a diverged seed
/// ranks below every setting without one.
/// </summary>
public static class SweepReport
{
    private sealed record Setting(string Key, IReadOnlyList<KeyValuePair<string, string>> Axes, IReadOnlyList<TrialState> Trials, Spread? Metric, Spread? TestAccuracy, int Diverged, int Failed)
    {
        public string Label => Describe(Axes);

        public string Optimizer(string fallback) => Axes.FirstOrDefault(a => a.Key == "optimizer").Value ?? fallback;

        public string Value(string axis) => Axes.First(a => a.Key == axis).Value;
    }

    /// <summary>Writes the results table, the report and its figures into the sweep's directory.</summary>
    public static SweepReportFiles Write(SweepDirectory sweep)
    {
        var states = sweep.States();
        string metric = sweep.Sweep.Metric;
        bool higherBetter = Sweeps.Sweep.Metrics[metric];
        var axisNames = sweep.Sweep.AxisNames;
        string csvPath = Path.Combine(sweep.Path, "results.csv");
        Atomic.WriteText(csvPath, Csv(states, axisNames));

        var settings = states.GroupBy(s => string.Join(", ", s.Trial.Axes.Where(a => a.Key != "seed").Select(a => $"{a.Key}={a.Value}")))
            .Select(g =>
            {
                var done = g.Where(s => s.Result?.Status == TrialStatus.Done).Select(s => s.Result!).ToList();
                return new Setting(g.Key, [.. g.First().Trial.Axes.Where(a => a.Key != "seed")], [.. g],
                    done.Count > 0 ? Spread.Of(done.Select(r => r.Metric(metric)!.Value)) : null,
                    done.Count > 0 ? Spread.Of(done.Select(r => r.TestAccuracy!.Value)) : null,
                    g.Count(s => s.State == TrialStatus.Diverged), g.Count(s => s.State == TrialStatus.Failed));
            }).ToList();
        // Better first: settings with a result and no diverged seed, by median metric; then those with diverged seeds; then the rest.
        double Rank(Setting s) => s.Metric is { } m ? (higherBetter ? -m.Median : m.Median) : double.PositiveInfinity;
        var ranked = settings.OrderBy(s => s.Metric is null ? 2 : s.Diverged > 0 ? 1 : 0).ThenBy(Rank).ToList();
        string baseOptimizer = sweep.Sweep.BaseConfig.Optimizer;

        string figuresDir = Path.Combine(sweep.Path, "figures");
        Directory.CreateDirectory(figuresDir);
        // An earlier report's figures (a heat map this grid no longer has) must not linger beside the new ones.
        foreach (var old in Directory.GetFiles(figuresDir).Where(f => Path.GetFileName(f).StartsWith("lr-sensitivity.", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("heatmap-", StringComparison.Ordinal)))
            File.Delete(old);
        var figures = new List<(string Name, string Caption)>();
        void Save(Plot plot, string name, string caption, int width = 900, int height = 560)
        {
            Figures.Save(plot, figuresDir, name, width, height);
            figures.Add((name, caption));
        }
        string metricLabel = metric.Replace('_', ' ');
        if (LearningRateCurves(settings, metric, higherBetter) is { } curves)
            Save(curves, "lr-sensitivity", $"Final {metricLabel} against the learning rate: the median over seeds, the range over seeds as a band; x marks a learning rate where a seed diverged.");
        foreach (var (plot, name, caption) in HeatMaps(settings, metric))
            Save(plot, name, caption);

        int ended = states.Count(s => s.Result is not null);
        string header = $"{states.Count} trial(s): " + string.Join(", ", new[] { "done", "diverged", "failed", "running", "interrupted", "pending" }
            .Select(o => $"{states.Count(s => s.State == o)} {o}")) + $"; ranked by the final {metricLabel} ({(higherBetter ? "higher" : "lower")} is better), median [min, max] over seeds.";

        var best = ranked.Where(s => s.Metric is not null).GroupBy(s => s.Optimizer(baseOptimizer)).Select(g => g.First()).ToList();
        var md = new StringBuilder();
        md.AppendLine("# Sweep report").AppendLine().AppendLine(header).AppendLine();
        md.AppendLine("## Best setting per optimizer").AppendLine();
        Table(md, ["optimizer", "setting", metricLabel, "test accuracy", "seeds", "diverged"],
            best.Select(s => new[] { s.Optimizer(baseOptimizer), s.Label, Format(s.Metric, metric), Format(s.TestAccuracy, "test_accuracy"), s.Trials.Count.ToString(CultureInfo.InvariantCulture), s.Diverged.ToString(CultureInfo.InvariantCulture) }));
        md.AppendLine("## Every setting").AppendLine();
        Table(md, ["setting", metricLabel, "test accuracy", "seeds done", "diverged", "failed"],
            ranked.Select(s => new[] { s.Label, Format(s.Metric, metric), Format(s.TestAccuracy, "test_accuracy"), s.Trials.Count(t => t.State == TrialStatus.Done).ToString(CultureInfo.InvariantCulture), s.Diverged.ToString(CultureInfo.InvariantCulture), s.Failed.ToString(CultureInfo.InvariantCulture) }));
        var trouble = states.Where(s => s.State is TrialStatus.Diverged or TrialStatus.Failed).ToList();
        if (trouble.Count > 0)
        {
            md.AppendLine("## Diverged and failed trials").AppendLine();
            Table(md, ["trial", "axes", "state", "reason"], trouble.Select(s => new[] { s.Trial.Id, Describe(s.Trial.Axes), s.State, s.Detail ?? "" }));
        }
        if (figures.Count > 0)
        {
            md.AppendLine("## Figures").AppendLine();
            foreach (var (name, caption) in figures) md.AppendLine($"![{caption}](figures/{name}.png)").AppendLine().AppendLine(caption).AppendLine();
        }
        string mdPath = Path.Combine(sweep.Path, "report.md");
        Atomic.WriteText(mdPath, md.ToString());

        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Descent: sweep report</title><style>");
        html.AppendLine("body{font-family:'DejaVu Sans',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}img{max-width:100%;border:1px solid #ddd}");
        html.AppendLine("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}figure{margin:1.5em 0}figcaption{color:#555;font-size:90%}</style></head><body>");
        html.AppendLine($"<h1>Sweep report</h1><p>{E(header)}</p>");
        // The Markdown sections and tables, rendered: one source for both formats.
        bool inTable = false, firstRow = false;
        foreach (var line in md.ToString().Split('\n').Skip(3))
        {
            bool row = line.StartsWith('|');
            if (inTable && !row) html.AppendLine("</table>");
            if (row && !inTable) firstRow = true;
            inTable = row;
            if (line.StartsWith("## ", StringComparison.Ordinal)) html.AppendLine($"<h2>{E(line[3..])}</h2>");
            else if (line.StartsWith("|---", StringComparison.Ordinal)) continue;
            else if (row)
            {
                string cell = firstRow ? "th" : "td";
                html.AppendLine((firstRow ? "<table>" : "") + "<tr>" + string.Concat(Cells(line).Select(c => $"<{cell}>{E(c)}</{cell}>")) + "</tr>");
                firstRow = false;
            }
        }
        if (inTable) html.AppendLine("</table>");
        foreach (var (name, caption) in figures)
            html.AppendLine($"<figure><img alt=\"{E(caption)}\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(Path.Combine(figuresDir, name + ".png")))}\"><figcaption>{E(caption)} (<code>figures/{name}.png</code>, <code>.svg</code>)</figcaption></figure>");
        html.AppendLine("</body></html>");
        string htmlPath = Path.Combine(sweep.Path, "report.html");
        Atomic.WriteText(htmlPath, html.ToString());
        return new SweepReportFiles(csvPath, mdPath, htmlPath, figuresDir, states.Count, ended, figures.Count);
    }

    /// <summary>One row per planned trial: id, state, the axes, the final metrics (empty when it has none) and the reason.</summary>
    private static string Csv(IReadOnlyList<TrialState> states, IReadOnlyList<string> axes)
    {
        var csv = new StringBuilder();
        csv.AppendLine(string.Join(',', new[] { "id", "state" }.Concat(axes).Concat(["steps", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds", "reason"])));
        foreach (var s in states)
        {
            var r = s.Result;
            string N(double? v) => v is { } x ? RoundTrip.Format(x) : "";
            var fields = new[] { s.Trial.Id, s.State }
                .Concat(axes.Select(a => s.Trial.Axes.FirstOrDefault(x => x.Key == a).Value ?? ""))
                .Concat([r?.Steps?.ToString(CultureInfo.InvariantCulture) ?? "", N(r?.TrainLoss), N(r?.TrainAccuracy), N(r?.TestLoss), N(r?.TestAccuracy), N(r?.Seconds), s.Detail ?? ""]);
            csv.AppendLine(string.Join(',', fields.Select(Quote)));
        }
        return csv.ToString();
    }

    /// <summary>Axis values as the report shows them: numbers with three significant digits (results.csv keeps them exact).</summary>
    private static string Describe(IEnumerable<KeyValuePair<string, string>> axes) => string.Join(", ", axes.Select(a => $"{a.Key}={Show(a.Value)}"));

    private static string Show(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? Numbers.Format(v) : value;

    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;

    private static bool IsLoss(string metric) => metric.EndsWith("loss", StringComparison.Ordinal);

    private static string Format(Spread? spread, string metric) => spread is { } s
        ? s.Format(metric.EndsWith("accuracy", StringComparison.Ordinal) ? Numbers.Percent : v => Numbers.Format(v))
        : "-";

    /// <summary>
    /// The metric against the learning rate (log axis), one curve per combination of the other axes (at most ten: the best),
    /// median over seeds with the range as a band; a learning rate where a seed diverged gets an x at the top.
    /// </summary>
    private static Plot? LearningRateCurves(IReadOnlyList<Setting> settings, string metric, bool higherBetter)
    {
        if (!settings.All(s => s.Axes.Any(a => a.Key == "lr"))) return null;
        var lrs = settings.Select(s => double.Parse(s.Value("lr"), CultureInfo.InvariantCulture)).Distinct().Order().ToArray();
        if (lrs.Length < 2) return null;
        bool loss = IsLoss(metric);
        Func<double, double> y = loss ? v => Math.Log10(Math.Max(v, 1e-12)) : v => v;
        var curves = settings.GroupBy(s => string.Join(", ", s.Axes.Where(a => a.Key != "lr").Select(a => $"{a.Key}={a.Value}")))
            .Select(g => (Label: g.Key.Length == 0 ? "lr" : Describe(g.First().Axes.Where(a => a.Key != "lr")), Points: g.OrderBy(s => double.Parse(s.Value("lr"), CultureInfo.InvariantCulture)).ToList()))
            .Where(c => c.Points.Any(p => p.Metric is not null))
            .OrderBy(c => c.Points.Where(p => p.Metric is not null).Min(p => higherBetter ? -p.Metric!.Value.Median : p.Metric!.Value.Median))
            .Take(Figures.Palette.Length).ToList();
        if (curves.Count == 0) return null;
        var plot = Figures.New($"Learning-rate sensitivity: final {metric.Replace('_', ' ')}", "learning rate", metric.Replace('_', ' '));
        var diverged = new List<(double X, Color Color)>();
        for (int c = 0; c < curves.Count; c++)
        {
            var color = Figures.Palette[c];
            var withResult = curves[c].Points.Where(p => p.Metric is not null).ToList();
            double[] xs = [.. withResult.Select(p => Math.Log10(double.Parse(p.Value("lr"), CultureInfo.InvariantCulture)))];
            double[] mid = [.. withResult.Select(p => y(p.Metric!.Value.Median))];
            if (withResult.Any(p => p.Metric!.Value.Count > 1))
                Figures.Band(plot, xs, [.. withResult.Select(p => y(p.Metric!.Value.Min))], [.. withResult.Select(p => y(p.Metric!.Value.Max))], color);
            Figures.Line(plot, xs, mid, color, curves[c].Label, markers: true);
            diverged.AddRange(curves[c].Points.Where(p => p.Diverged > 0).Select(p => (Math.Log10(double.Parse(p.Value("lr"), CultureInfo.InvariantCulture)), color)));
        }
        if (loss) Figures.LogY(plot);
        else plot.Axes.AutoScale();
        if (diverged.Count > 0)
        {
            double top = plot.Axes.GetLimits().Top;
            bool first = true;
            foreach (var (x, color) in diverged)
            {
                var m = plot.Add.Marker(x, top, MarkerShape.Cross, 12, color);
                m.LegendText = first ? "a seed diverged" : "";
                first = false;
            }
        }
        Figures.LogX(plot, lrs);
        Figures.LegendOutside(plot);
        return plot;
    }

    /// <summary>
    /// For two axes with several values each (numeric axes preferred), a heat map of the median metric over their grid, one per
    /// combination of the remaining axes (at most six); a cell where every seed diverged is grey and says so.
    /// </summary>
    private static IEnumerable<(Plot Plot, string Name, string Caption)> HeatMaps(IReadOnlyList<Setting> settings, string metric)
    {
        if (!settings.Any(s => s.Metric is not null)) yield break;
        var varying = settings[0].Axes.Select(a => a.Key).Where(k => settings.Select(s => s.Value(k)).Distinct().Count() > 1).ToList();
        if (varying.Count < 2) yield break;
        bool Numeric(string axis) => settings.All(s => double.TryParse(s.Value(axis), NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        var pair = varying.OrderBy(a => Numeric(a) ? 0 : 1).Take(2).OrderBy(varying.IndexOf).ToArray();
        string xAxis = pair[1], yAxis = pair[0];
        string[] Values(string axis) => Numeric(axis)
            ? [.. settings.Select(s => s.Value(axis)).Distinct().OrderBy(v => double.Parse(v, CultureInfo.InvariantCulture))]
            : [.. settings.Select(s => s.Value(axis)).Distinct()];
        var xs = Values(xAxis);
        var ys = Values(yAxis);
        var groups = settings.GroupBy(s => string.Join(", ", s.Axes.Where(a => a.Key != xAxis && a.Key != yAxis).Select(a => $"{a.Key}={a.Value}"))).Take(6).ToList();
        int index = 0;
        foreach (var group in groups)
        {
            string rest = Describe(group.First().Axes.Where(a => a.Key != xAxis && a.Key != yAxis));
            var grid = new double[ys.Length, xs.Length];
            var plot = Figures.New($"Median final {metric.Replace('_', ' ')}" + (rest.Length > 0 ? $" ({rest})" : ""), xAxis, yAxis);
            for (int j = 0; j < ys.Length; j++)
                for (int i = 0; i < xs.Length; i++)
                {
                    var cell = group.FirstOrDefault(s => s.Value(xAxis) == xs[i] && s.Value(yAxis) == ys[j]);
                    double v = cell?.Metric?.Median ?? double.NaN;
                    grid[ys.Length - 1 - j, i] = v;   // the heat map's first row is drawn at the top
                    string label = cell is null ? "" : cell.Metric is { } m ? (metric.EndsWith("accuracy", StringComparison.Ordinal) ? Numbers.Percent(m.Median) : Numbers.Format(m.Median)) + (cell.Diverged > 0 ? "*" : "")
                        : cell.Diverged > 0 ? "diverged" : "no result";
                    var text = plot.Add.Text(label, i, j);
                    text.LabelAlignment = Alignment.MiddleCenter;
                    text.LabelFontColor = Colors.Black;
                    text.LabelBackgroundColor = Colors.White.WithAlpha(0.6);
                }
            var heat = plot.Add.Heatmap(grid);
            heat.Colormap = new ScottPlot.Colormaps.Viridis();
            heat.NaNCellColor = Colors.LightGray;
            heat.Rectangle = new CoordinateRect(-0.5, xs.Length - 0.5, -0.5, ys.Length - 0.5);   // cell edges, one unit per cell centred on its tick
            plot.MoveToBack(heat);
            plot.Add.ColorBar(heat);
            plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, xs.Length).Select(i => (double)i)], [.. xs.Select(Show)]);
            plot.Axes.Left.SetTicks([.. Enumerable.Range(0, ys.Length).Select(i => (double)i)], [.. ys.Select(Show)]);
            plot.Axes.SetLimits(-0.5, xs.Length - 0.5, -0.5, ys.Length - 0.5);
            plot.HideGrid();
            yield return (plot, $"heatmap-{index++}", $"Median final {metric.Replace('_', ' ')} over seeds on the {yAxis} x {xAxis} grid{(rest.Length > 0 ? $" at {rest}" : "")}; * marks a cell where a seed diverged, grey where every seed diverged or none ended.");
        }
    }

    private static void Table(StringBuilder md, string[] header, IEnumerable<string[]> rows)
    {
        md.AppendLine("| " + string.Join(" | ", header) + " |");
        md.AppendLine("|" + string.Concat(header.Select(_ => "---|")));
        foreach (var r in rows) md.AppendLine("| " + string.Join(" | ", r.Select(c => c.Replace("|", "\\|"))) + " |");
        md.AppendLine();
    }

    private static IEnumerable<string> Cells(string line) => line.Trim().Trim('|').Split(" | ").Select(c => c.Trim().Replace("\\|", "|"));

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
