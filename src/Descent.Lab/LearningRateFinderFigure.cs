using Descent.Training;
using ScottPlot;

namespace Descent.Lab;

/// <summary>The learning-rate range test's curve with its two suggestions marked, in the report's style.</summary>
public static class LearningRateFinderFigure
{
    /// <summary>
    /// The smoothed loss against the learning rate (log axis) without the last five points, as fastai plots it (they are
    /// where the loss explodes and would squash the rest), the raw minibatch losses faint behind it, and the two
    /// suggestions: each a marker on the curve where it was read and a thin vertical line at the rate suggested.
    /// </summary>
    public static Plot Draw(LearningRateFinderResult result, string title)
    {
        ArgumentNullException.ThrowIfNull(result);
        int shown = Math.Max(2, result.LearningRates.Length - 5);
        double[] xs = [.. result.LearningRates.Take(shown).Select(Math.Log10)];
        var plot = Figures.New(title, "learning rate", "training loss");
        var raw = plot.Add.ScatterPoints(xs, [.. result.Losses.Take(shown)]);
        raw.Color = Figures.Palette[0].WithAlpha(0.45);
        raw.MarkerSize = 3;
        raw.LegendText = "minibatch loss";
        Figures.Line(plot, xs, [.. result.SmoothedLosses.Take(shown)], Figures.Palette[0], "smoothed loss (beta 0.98, debiased)");
        // The y range follows the smoothed curve: a single raw loss far above it should not flatten the figure.
        double lo = result.SmoothedLosses.Take(shown).Min(), hi = result.SmoothedLosses.Take(shown).Max();
        foreach (var (s, label, color) in new[] { (result.Steepest, "steepest", Figures.Palette[1]), (result.Minimum, "minimum / 10", Figures.Palette[2]) })
        {
            var at = plot.Add.Marker(Math.Log10(s.PointLr), s.PointLoss);
            at.Color = color;
            at.Size = 12;
            at.Shape = MarkerShape.FilledCircle;
            at.LegendText = $"{label}: lr {Numbers.Format(s.LearningRate)}";
            var line = plot.Add.VerticalLine(Math.Log10(s.LearningRate));
            line.Color = color.WithAlpha(0.6);
            line.LineWidth = 1.5f;
        }
        double margin = 0.08 * Math.Max(hi - lo, 1e-6);
        plot.Axes.SetLimits(xs[0] - 0.1, xs[^1] + 0.1, lo - margin, hi + margin);
        // A curve that falls by a few percent (2.31 to 2.24) needs a fourth digit, or neighbouring ticks read the same.
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => Numbers.Format(v, 4) };
        var (positions, labels) = Figures.LogTicks(xs[0], xs[^1]);
        plot.Axes.Bottom.SetTicks(positions, labels);
        plot.ShowLegend(Alignment.LowerLeft);
        return plot;
    }

    /// <summary>Saves <see cref="Draw"/>'s figure as <c>NAME.png</c> and <c>NAME.svg</c> in <paramref name="directory"/>; returns the PNG's path.</summary>
    public static string Save(LearningRateFinderResult result, string title, string directory, string name) =>
        Figures.Save(Draw(result, title), directory, name, 800, 520);
}
