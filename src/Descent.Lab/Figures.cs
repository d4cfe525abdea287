using Descent.Landscapes;
using ScottPlot;
using SkiaSharp;

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
        // One label format on every axis (no thousands separators, no "1E+02"); zero stays "0" despite rounding noise.
        plot.Axes.Bottom.TickGenerator = LinearTicks();
        plot.Axes.Left.TickGenerator = LinearTicks();
        return plot;
    }

    private static ScottPlot.TickGenerators.NumericAutomatic LinearTicks() => new() { LabelFormatter = v => Math.Abs(v) < 1e-12 ? "0" : TickLabel(v) };

    /// <summary>
    /// Labels the left axis for data already given as log10 values: decades when the data span several, else
    /// 1-2-5 steps, else evenly spaced values, each labelled with the value itself in one format ("0.01", "100",
    /// "1e-6"). Call it after the data are added (it reads their range).
    /// </summary>
    public static void LogY(Plot plot)
    {
        plot.Axes.AutoScale();
        var limits = plot.Axes.GetLimits();
        var (positions, labels) = LogTicks(limits.Bottom, limits.Top);
        plot.Axes.Left.SetTicks(positions, labels);
    }

    /// <summary>Puts bottom-axis ticks at <paramref name="values"/> for data plotted at their log10 positions.</summary>
    public static void LogX(Plot plot, IEnumerable<double> values)
    {
        var v = values.ToArray();
        plot.Axes.Bottom.SetTicks([.. v.Select(Math.Log10)], [.. v.Select(TickLabel)]);
    }

    /// <summary>Tick positions (log10) and labels between log10 values <paramref name="lo"/> and <paramref name="hi"/>.</summary>
    public static (double[] Positions, string[] Labels) LogTicks(double lo, double hi)
    {
        if (!(hi > lo)) hi = lo + 1;
        var values = new List<double>();
        double span = hi - lo;
        if (span >= 3.5)
        {
            int step = (int)Math.Ceiling(span / 7);
            for (int k = (int)Math.Ceiling(lo); k <= hi; k++)
                if (k % step == 0) values.Add(Math.Pow(10, k));
        }
        else if (span >= 0.9)
        {
            for (int k = (int)Math.Floor(lo); k <= hi; k++)
                foreach (double m in new[] { 1.0, 2, 5 })
                {
                    double p = k + Math.Log10(m);
                    if (p >= lo && p <= hi) values.Add(m * Math.Pow(10, k));
                }
        }
        else
        {
            // Less than a decade: evenly spaced round values (0.2, 0.3, 0.4 ...), placed at their logarithms.
            double a = Math.Pow(10, lo), b = Math.Pow(10, hi);
            double raw = (b - a) / 8, unit = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double step = raw / unit < 1.5 ? unit : raw / unit < 3.5 ? 2 * unit : raw / unit < 7.5 ? 5 * unit : 10 * unit;
            for (double v = Math.Ceiling(a / step) * step; v <= b * (1 + 1e-12); v += step)
                values.Add(Math.Round(v / step) * step);
        }
        return ([.. values.Select(Math.Log10)], [.. values.Select(TickLabel)]);
    }

    /// <summary>One tick label format for every axis: plain decimals from 0.001 to 10,000 without separators, else "1e-6", "2e5".</summary>
    public static string TickLabel(double value) => Numbers.Format(value, 3);

    /// <summary>
    /// Draws the median of <paramref name="perSeed"/> curves (each over <paramref name="xs"/>) as a line and, when there are
    /// several seeds, their range as a translucent band behind it; <paramref name="transform"/> maps values to plot units
    /// (for example log10 for a log axis). Returns the median's line (to restyle it, e.g. dashed).
    /// </summary>
    public static ScottPlot.Plottables.Scatter SeedCurves(Plot plot, double[] xs, IReadOnlyList<double[]> perSeed, Color color, string label, Func<double, double>? transform = null, bool markers = false)
    {
        transform ??= v => v;
        var median = new double[xs.Length];
        var lo = new double[xs.Length];
        var hi = new double[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            var spread = Spread.Of(perSeed.Select(c => c[i]));
            (median[i], lo[i], hi[i]) = (transform(spread.Median), transform(spread.Min), transform(spread.Max));
        }
        if (perSeed.Count > 1) Band(plot, xs, lo, hi, color);
        return Line(plot, xs, median, color, label, markers);
    }

    /// <summary>A translucent band between <paramref name="lo"/> and <paramref name="hi"/> (a range over seeds, or an oscillation).</summary>
    public static void Band(Plot plot, double[] xs, double[] lo, double[] hi, Color color)
    {
        var band = plot.Add.FillY(xs, lo, hi);
        band.FillColor = color.WithAlpha(0.25);
        band.LineColor = Colors.Transparent;
    }

    /// <summary>Saves <paramref name="plot"/> as <c>NAME.png</c> and <c>NAME.svg</c> in <paramref name="directory"/>; returns the PNG's path.</summary>
    public static string Save(Plot plot, string directory, string name, int width, int height)
    {
        // Each file written whole or not at all: processes sharing the directory (the shards of a reproduction) draw the same figures.
        string png = System.IO.Path.Combine(directory, name + ".png"), svg = System.IO.Path.Combine(directory, name + ".svg");
        // Both rendered before either is written, so a failure leaves the old pair.
        byte[] image = plot.GetImageBytes(width, height, ImageFormat.Png);
        string xml = plot.GetSvgXml(width, height);
        State.Atomic.Write(png, stream => stream.Write(image));
        State.Atomic.WriteText(svg, xml);
        return png;
    }

    /// <summary>
    /// Renders <paramref name="panels"/> in rows of <paramref name="columns"/>, each <paramref name="panelWidth"/> x <paramref name="panelHeight"/>
    /// pixels, with <paramref name="strip"/> (a shared legend, say) <paramref name="stripHeight"/> high across the bottom when given, into one
    /// PNG or SVG (ScottPlot's Multiplot writes PNG only, so the panels are laid out here), written whole or not at all.
    /// </summary>
    public static void Grid(IReadOnlyList<Plot> panels, int columns, int panelWidth, int panelHeight, Plot? strip, int stripHeight, string path, bool svg)
    {
        int rows = (panels.Count + columns - 1) / columns;
        int width = columns * panelWidth, height = rows * panelHeight + (strip is null ? 0 : stripHeight);
        void Draw(SKCanvas canvas)
        {
            canvas.Clear(SKColors.White);
            for (int i = 0; i < panels.Count; i++)
            {
                float left = i % columns * panelWidth, top = i / columns * panelHeight;
                Panel(canvas, panels[i], new SKRect(left, top, left + panelWidth, top + panelHeight));
            }
            if (strip is not null) Panel(canvas, strip, new SKRect(0, rows * panelHeight, width, height));
        }
        static void Panel(SKCanvas canvas, Plot plot, SKRect area)
        {
            // A plot clears the whole canvas before drawing: the clip keeps it to its own area.
            canvas.Save();
            canvas.ClipRect(area);
            plot.Render(canvas, new PixelRect(area.Left, area.Right, area.Bottom, area.Top));
            canvas.Restore();
        }
        State.Atomic.Write(path, stream =>
        {
            if (svg)
            {
                using var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream);
                Draw(canvas);
            }
            else
            {
                using var surface = SKSurface.Create(new SKImageInfo(width, height));
                Draw(surface.Canvas);
                using var image = surface.Snapshot();
                using var data = image.Encode(SKEncodedImageFormat.Png, 100);
                data.SaveTo(stream);
            }
        });
    }

    /// <summary>Puts the legend outside the data area, on the right, so it never hides a curve.</summary>
    public static void LegendOutside(Plot plot) => plot.ShowLegend(Edge.Right);

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

    /// <summary>A labelled curve of width 2, with a marker at each point when <paramref name="markers"/> is set (for a few measured points); returns it.</summary>
    public static ScottPlot.Plottables.Scatter Line(Plot plot, double[] xs, double[] ys, Color color, string label, bool markers = false)
    {
        var line = plot.Add.Scatter(xs, ys);
        line.Color = color;
        line.LineWidth = 2;
        line.MarkerSize = markers ? 8 : 0;
        line.LegendText = label;
        return line;
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
