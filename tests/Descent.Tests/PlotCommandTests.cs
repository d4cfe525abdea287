using SkiaSharp;
using Xunit;

namespace Descent.Tests;

/// <summary><c>descent plot</c> and <c>train --plot</c>: figures of one's own runs.</summary>
public sealed class PlotCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-plot").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Out(string name) => Path.Combine(_dir, name);

    private static (int Code, string Out, string Err) Cli(params string[] args) => CliRunner.Run(args);

    /// <summary>Share of pixels in the column band [from, to) of the image that are not white: drawn content.</summary>
    private static double Ink(SKBitmap image, double from, double to)
    {
        int x0 = (int)(from * image.Width), x1 = (int)(to * image.Width), ink = 0, all = 0;
        for (int y = 0; y < image.Height; y += 2)
            for (int x = x0; x < x1; x += 2, all++)
                if (image.GetPixel(x, y) is var p && (p.Red < 200 || p.Green < 200 || p.Blue < 200)) ink++;
        return (double)ink / all;
    }

    /// <summary>A figure replaces older files of its name whole, through temporary files that are renamed and not left behind.</summary>
    [Fact]
    public void A_saved_figure_replaces_the_old_png_and_svg()
    {
        File.WriteAllText(Out("fig.png"), "old");
        File.WriteAllText(Out("fig.svg"), "old");
        var plot = new ScottPlot.Plot();
        plot.Add.Scatter(new double[] { 0, 1, 2 }, new double[] { 1, 0, 2 });
        plot.Title("A figure");
        Assert.Equal(Out("fig.png"), Descent.Lab.Figures.Save(plot, _dir, "fig", 400, 300));
        using (var image = SKBitmap.Decode(Out("fig.png")))
        {
            Assert.NotNull(image);
            Assert.Equal((400, 300), (image.Width, image.Height));
        }
        string svg = File.ReadAllText(Out("fig.svg"));
        Assert.Contains("<svg", svg);
        Assert.Contains("A figure", svg);
        Assert.Equal(["fig.png", "fig.svg"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Train_with_plot_draws_loss_accuracy_and_learning_rate_panels()
    {
        var (code, output, err) = Cli("train", "--steps", "200", "--eval-every", "20", "--schedule", "cosine", "--out", Out("run"), "--plot");
        Assert.True(code == 0, err);
        string png = Path.Combine(Out("run"), "curves.png");
        Assert.Contains(png, output);
        using var image = SKBitmap.Decode(png);
        Assert.NotNull(image);
        Assert.True(image.Width >= 1200 && image.Height >= 400, $"{image.Width}x{image.Height}");
        // Each of the three panels carries axes, ticks and curves (not one panel drawn over the others).
        for (int panel = 0; panel < 3; panel++)
            Assert.True(Ink(image, panel / 3.0 + 0.05, (panel + 1) / 3.0 - 0.05) > 0.003, $"panel {panel} is empty");
    }

    [Fact]
    public void Several_runs_are_overlaid_with_a_legend_naming_what_differs()
    {
        Assert.Equal(0, Cli("train", "--steps", "60", "--eval-every", "20", "--out", Out("adam")).Code);
        Assert.Equal(0, Cli("train", "--steps", "60", "--eval-every", "20", "-o", "sgd", "--lr", "0.05", "--momentum", "0.9", "--out", Out("sgd")).Code);
        var (code, output, err) = Cli("plot", Out("adam"), Out("sgd"), "--out", Out("both.svg"));
        Assert.True(code == 0, err);
        Assert.Equal(Out("both.svg"), output.Trim());
        string svg = File.ReadAllText(Out("both.svg"));
        Assert.StartsWith("<?xml", svg);
        // Only the settings that differ: the optimizer and lr (both runs have one), momentum where it was set; not the shared seed or steps.
        Assert.Contains("optimizer adam, lr 0.001", svg);
        Assert.Contains("optimizer sgd, lr 0.05, momentum 0.9", svg);
        Assert.DoesNotContain("seed", svg);
        Assert.DoesNotContain("beta1", svg);
        foreach (var title in new[] { "Loss", "Accuracy", "Learning rate" }) Assert.Contains(title, svg);

        (code, _, err) = Cli("plot", Out("adam"), Out("sgd"), "--metric", "lr", "--out", Out("lr.png"));
        Assert.True(code == 0, err);
        using var image = SKBitmap.Decode(Out("lr.png"));
        Assert.True(image.Width < 1200, "one panel");
    }

    [Theory]
    [InlineData("NOTRUN", "", "is not a run directory of descent train")]
    [InlineData("RUN", "--metric speed", "Unknown --metric 'speed'")]
    [InlineData("RUN", "--out curves.jpg", "written as .png or .svg")]
    [InlineData("MISSING", "", "no such directory")]
    public void Plot_errors_name_the_problem(string run, string options, string message)
    {
        Assert.Equal(0, Cli("train", "--steps", "20", "--eval-every", "10", "--out", Out("run")).Code);
        Directory.CreateDirectory(Out("empty"));
        string dir = run switch { "RUN" => Out("run"), "NOTRUN" => Out("empty"), _ => Out("missing") };
        var (code, _, err) = Cli(["plot", dir, .. options.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        Assert.NotEqual(0, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(message, err);
    }
}
