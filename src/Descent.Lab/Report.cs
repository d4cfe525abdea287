using System.Net;
using System.Text;
using Descent.State;

namespace Descent.Lab;

/// <summary>
/// Writes <c>report.html</c> (self-contained: figures embedded as data URIs) and <c>summary.md</c>: the claims
/// with their thresholds, the other measured numbers, and any experiment that failed. An experiment that failed
/// shows its reason instead of its (partial) results.
/// </summary>
public static class Report
{
    /// <summary>Writes both files for the experiments that ran.</summary>
    public static void Write(Workbench bench, IReadOnlyList<Experiment> experiments, TimeSpan elapsed)
    {
        var failed = bench.Failures.ToDictionary(f => f.Experiment, f => f.Reason);
        var pending = bench.Pending.ToDictionary(f => f.Experiment, f => f.Reason);
        foreach (var (name, reason) in pending) failed.TryAdd(name, reason);
        var claims = bench.Claims.Where(c => !failed.ContainsKey(c.Experiment)).OrderBy(c => Order(experiments, c.Experiment)).ToList();
        var measurements = bench.Measurements.Where(m => !failed.ContainsKey(m.Experiment)).OrderBy(m => Order(experiments, m.Experiment)).ToList();
        string header = $"Scale: {bench.Scale.ToString().ToLowerInvariant()}; {experiments.Count} experiment(s); {bench.Seeds} seed(s); " +
            $"{elapsed.TotalSeconds:F0} s on {Environment.ProcessorCount} core(s), {Machine.Describe()}.";
        string spread = bench.Seeds > 1
            ? $"Values are medians over {bench.Seeds} seeds with the range [min, max]; a claim holds only if its criterion holds in every seed."
            : "One seed (`--seeds N` repeats the stochastic experiments and judges each claim on every seed).";

        var md = new StringBuilder();
        md.AppendLine("# Descent: reproduction summary").AppendLine();
        md.AppendLine(header).AppendLine();
        md.AppendLine(spread).AppendLine();
        if (bench.Failures.Count > 0)
        {
            md.AppendLine("## Failed").AppendLine();
            foreach (var f in bench.Failures) md.AppendLine($"- **{f.Experiment}**: {f.Reason}");
            md.AppendLine();
        }
        if (pending.Count > 0)
        {
            md.AppendLine("## Waiting for runs of other shards").AppendLine();
            foreach (var f in bench.Pending) md.AppendLine($"- **{f.Experiment}**: {f.Reason}");
            md.AppendLine();
        }
        md.AppendLine($"## Claims: {claims.Count(c => c.Held)} of {claims.Count} held").AppendLine();
        md.AppendLine("| experiment | published claim | measure | value | criterion | held |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var c in claims)
            md.AppendLine($"| {c.Experiment} | {Cell(c.Published)} | {Cell(c.Measure)} | {Cell(c.Value)} | {Cell(c.Criterion)} | {(c.Held ? "yes" : "**no**")} |");
        md.AppendLine().AppendLine("## Measurements").AppendLine();
        md.AppendLine("| experiment | measure | value |");
        md.AppendLine("|---|---|---|");
        foreach (var m in measurements) md.AppendLine($"| {m.Experiment} | {Cell(m.Measure)} | {Cell(m.Value)} |");
        Atomic.WriteText(Path.Combine(bench.OutDir, "summary.md"), md.ToString());

        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Descent: reproduction report</title><style>");
        html.AppendLine("body{font-family:'DejaVu Sans',sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}img{max-width:100%;border:1px solid #ddd}");
        html.AppendLine("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}.no{color:#b00;font-weight:bold}.yes{color:#070}");
        html.AppendLine(".failed{border-left:4px solid #b00;padding:0.5em 1em;background:#fdf0f0}figure{margin:1.5em 0}figcaption{color:#555;font-size:90%}</style></head><body>");
        html.AppendLine($"<h1>Descent: reproduction report</h1><p>{E(header)}</p><p>{E(spread.Replace("`", ""))}</p>");
        if (bench.Failures.Count > 0)
            html.AppendLine($"<div class=\"failed\"><p>{bench.Failures.Count} experiment(s) failed: {E(string.Join(", ", bench.Failures.Select(f => f.Experiment)))}. Their sections say why.</p></div>");
        if (pending.Count > 0)
            html.AppendLine($"<div class=\"failed\"><p>{pending.Count} experiment(s) wait for runs of other shards: {E(string.Join(", ", pending.Keys))}.</p></div>");
        foreach (var e in experiments)
        {
            html.AppendLine($"<h2 id=\"{e.Name}\">{E(e.Title)}</h2><p><code>./descent reproduce {e.Name}</code></p><p>{E(e.Description)}</p>");
            if (failed.TryGetValue(e.Name, out var reason))
            {
                html.AppendLine($"<div class=\"failed\"><p><strong>{(pending.ContainsKey(e.Name) ? "Waiting" : "Failed")}:</strong> {E(reason)}</p></div>");
                continue;
            }
            var own = claims.Where(c => c.Experiment == e.Name).ToList();
            if (own.Count > 0)
            {
                html.AppendLine("<table><tr><th>published claim</th><th>measure</th><th>value</th><th>criterion</th><th>held</th></tr>");
                foreach (var c in own)
                    html.AppendLine($"<tr><td>{E(c.Published)}</td><td>{E(c.Measure)}</td><td>{E(c.Value)}</td><td>{E(c.Criterion)}</td><td class=\"{(c.Held ? "yes" : "no")}\">{(c.Held ? "yes" : "no")}</td></tr>");
                html.AppendLine("</table>");
            }
            var numbers = measurements.Where(m => m.Experiment == e.Name).ToList();
            if (numbers.Count > 0)
            {
                html.AppendLine("<table><tr><th>measure</th><th>value</th></tr>");
                foreach (var m in numbers) html.AppendLine($"<tr><td>{E(m.Measure)}</td><td>{E(m.Value)}</td></tr>");
                html.AppendLine("</table>");
            }
            foreach (var f in bench.Figures.Where(f => f.Experiment == e.Name))
                html.AppendLine($"<figure><img alt=\"{E(f.Caption)}\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(f.PngPath))}\"><figcaption>{E(f.Caption)} (<code>figures/{f.Name}.png</code>, <code>.svg</code>)</figcaption></figure>");
        }
        html.AppendLine("</body></html>");
        Atomic.WriteText(Path.Combine(bench.OutDir, "report.html"), html.ToString());
    }

    private static int Order(IReadOnlyList<Experiment> experiments, string name)
    {
        for (int i = 0; i < experiments.Count; i++) if (experiments[i].Name == name) return i;
        return experiments.Count;
    }

    private static string Cell(string text) => text.Replace("|", "\\|");

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
