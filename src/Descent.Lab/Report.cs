using System.Net;
using System.Text;
using Descent.State;

namespace Descent.Lab;

/// <summary>Writes <c>report.html</c> (self-contained: figures embedded as data URIs) and <c>summary.md</c> (every claim in one table).</summary>
public static class Report
{
    /// <summary>Writes both files for the experiments that ran.</summary>
    public static void Write(Lab lab, IReadOnlyList<Experiment> experiments, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        md.AppendLine("# Descent: reproduction summary").AppendLine();
        md.AppendLine($"Scale: {lab.Scale.ToString().ToLowerInvariant()}; {experiments.Count} experiment(s); {elapsed.TotalSeconds:F0} s on {Environment.ProcessorCount} core(s).").AppendLine();
        md.AppendLine("| experiment | measure | value | published claim | held |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var c in lab.Claims.OrderBy(c => Order(experiments, c.Experiment)))
            md.AppendLine($"| {c.Experiment} | {Cell(c.Measure)} | {Cell(c.Value)} | {Cell(c.Published)} | {(c.Held is null ? "" : c.Held.Value ? "yes" : "**no**")} |");
        Atomic.WriteText(Path.Combine(lab.OutDir, "summary.md"), md.ToString());

        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Descent: reproduction report</title><style>");
        html.AppendLine("body{font-family:'DejaVu Sans',sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}img{max-width:100%;border:1px solid #ddd}");
        html.AppendLine("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}.no{color:#b00;font-weight:bold}.yes{color:#070}");
        html.AppendLine("figure{margin:1.5em 0}figcaption{color:#555;font-size:90%}</style></head><body>");
        html.AppendLine($"<h1>Descent: reproduction report</h1><p>Scale: {lab.Scale.ToString().ToLowerInvariant()}; {experiments.Count} experiment(s); {elapsed.TotalSeconds:F0} s on {Environment.ProcessorCount} core(s).</p>");
        foreach (var e in experiments)
        {
            html.AppendLine($"<h2 id=\"{e.Name}\">{E(e.Title)}</h2><p><code>./descent reproduce {e.Name}</code></p><p>{E(e.Description)}</p>");
            var claims = lab.Claims.Where(c => c.Experiment == e.Name).ToList();
            if (claims.Count > 0)
            {
                html.AppendLine("<table><tr><th>measure</th><th>value</th><th>published claim</th><th>held</th></tr>");
                foreach (var c in claims)
                    html.AppendLine($"<tr><td>{E(c.Measure)}</td><td>{E(c.Value)}</td><td>{E(c.Published)}</td><td class=\"{(c.Held == false ? "no" : "yes")}\">{(c.Held is null ? "" : c.Held.Value ? "yes" : "no")}</td></tr>");
                html.AppendLine("</table>");
            }
            foreach (var f in lab.Figures.Where(f => f.Experiment == e.Name))
                html.AppendLine($"<figure><img alt=\"{E(f.Caption)}\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(f.PngPath))}\"><figcaption>{E(f.Caption)} (<code>figures/{f.Name}.png</code>, <code>.svg</code>)</figcaption></figure>");
        }
        html.AppendLine("</body></html>");
        Atomic.WriteText(Path.Combine(lab.OutDir, "report.html"), html.ToString());
    }

    private static int Order(IReadOnlyList<Experiment> experiments, string name)
    {
        for (int i = 0; i < experiments.Count; i++) if (experiments[i].Name == name) return i;
        return experiments.Count;
    }

    private static string Cell(string text) => text.Replace("|", "\\|");

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
