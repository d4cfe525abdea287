using Descent.Landscapes;
using ScottPlot;

namespace Descent.Lab;

/// <summary>Plot helpers shared by the experiments.</summary>
public static class Figures
{
    /// <summary>The palette for optimizers and runs.</summary>
    public static readonly Color[] Palette =
    [
        Colors.C0, Colors.C1, Colors.C2, Colors.C3, Colors.C4, Colors.C5, Colors.C6, Colors.C7, Colors.C8, Colors.C9,
    ];

    /// <summary>A new plot with the report's font and titles.</summary>
    public static Plot New(string title, string x, string y)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    /// <summary>Labels the left axis as powers of ten for data already given as log10 values.</summary>
    public static void LogY(Plot plot)
    {
        plot.Axes.Left.TickGenerator = LogTicks();
    }

    /// <summary>Puts bottom-axis ticks at <paramref name="values"/> for data plotted at their log10 positions.</summary>
    public static void LogX(Plot plot, IEnumerable<double> values)
    {
        var v = values.ToArray();
        plot.Axes.Bottom.SetTicks([.. v.Select(Math.Log10)], [.. v.Select(x => x.ToString("G3", System.Globalization.CultureInfo.InvariantCulture))]);
    }

    /// <summary>Ticks for log10 data labelled with the values themselves (1e-3, 0.02, 10, ...), whatever the span.</summary>
    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        LabelFormatter = v => Math.Abs(v - Math.Round(v)) < 1e-9 && Math.Abs(v) >= 3 ? $"1e{v:0}" : $"{Math.Pow(10, v):G2}",
    };

    /// <summary>A heat map of <paramref name="f"/> over <paramref name="bounds"/> (optionally log-scaled), with contour lines.</summary>
    public static void Surface(Plot plot, Func<double, double, double> f, Bounds bounds, bool logScale, int resolution = 160, int contours = 14)
    {
        var grid = new double[resolution, resolution];
        var points = new Coordinates3d[resolution, resolution];
        for (int row = 0; row < resolution; row++)
        {
            double y = bounds.YMax - (bounds.YMax - bounds.YMin) * row / (resolution - 1);
            for (int col = 0; col < resolution; col++)
            {
                double x = bounds.XMin + (bounds.XMax - bounds.XMin) * col / (resolution - 1);
                double v = f(x, y);
                v = logScale ? Math.Log10(Math.Max(v, 0) + 1e-3) : v;
                grid[row, col] = v;
                points[resolution - 1 - row, col] = new Coordinates3d(x, y, v);
            }
        }
        var heat = plot.Add.Heatmap(grid);
        heat.Extent = new CoordinateRect(bounds.XMin, bounds.XMax, bounds.YMin, bounds.YMax);
        heat.Colormap = new ScottPlot.Colormaps.Viridis();
        var lines = plot.Add.ContourLines(points, contours);
        lines.LineColor = Colors.White.WithAlpha(0.35);
        lines.LabelStyle.IsVisible = false;
        plot.Axes.SetLimits(bounds.XMin, bounds.XMax, bounds.YMin, bounds.YMax);
    }

    /// <summary>A labelled curve of width 2.</summary>
    public static void Line(Plot plot, double[] xs, double[] ys, Color color, string label)
    {
        var line = plot.Add.ScatterLine(xs, ys);
        line.Color = color;
        line.LineWidth = 2;
        line.LegendText = label;
    }

    /// <summary>Draws a path with a marker at its start and end.</summary>
    public static void Path(Plot plot, IReadOnlyList<PathPoint> path, Color color, string label, int every = 1)
    {
        var xs = path.Where((_, i) => i % every == 0 || i == path.Count - 1).Select(p => p.X).ToArray();
        var ys = path.Where((_, i) => i % every == 0 || i == path.Count - 1).Select(p => p.Y).ToArray();
        var line = plot.Add.Scatter(xs, ys);
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = xs.Length <= 80 ? 4 : 0;
        line.LegendText = label;
        var end = plot.Add.Marker(xs[^1], ys[^1]);
        end.Color = color;
        end.Size = 10;
        end.Shape = MarkerShape.FilledDiamond;
    }
}
