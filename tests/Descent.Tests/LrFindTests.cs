using System.Globalization;
using System.Text.Json;
using Descent.Optim;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

public sealed class LrFindTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-lr-find").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>
    /// A falling logistic in x = log10(lr) centred at -2.96 (between grid points -3.0 and -2.92), then a quadratic rise
    /// from x = -0.6: the steepest interval starts at x = -3 and the minimum is at x = -0.6.
    /// </summary>
    private static (double[] Rates, double[] Losses) SyntheticCurve()
    {
        double[] x = [.. Enumerable.Range(0, 100).Select(i => -7 + 0.08 * i)];
        double[] losses = [.. x.Select(v => 2 - 1.5 / (1 + Math.Exp(-3 * (v + 2.96))) + (v > -0.6 ? 0.3 * (v + 0.6) * (v + 0.6) : 0))];
        return ([.. x.Select(v => Math.Pow(10, v))], losses);
    }

    [Fact]
    public void For_muon_the_adamw_part_sweeps_at_the_ratio_the_run_trains_with()
    {
        var options = new LearningRateFinderOptions();
        var given = new TrainingConfig { Optimizer = "muon", Hyperparameters = new() { ["lr"] = 0.02 }, AdamWLr = 1e-3 };
        Assert.Equal(options.StartLr * 0.05, LearningRateFinder.Configure(given, options).AdamWLr!.Value, 15);
        var defaults = LearningRateFinder.Configure(new TrainingConfig { Optimizer = "muon" }, options);
        Assert.Equal(options.StartLr * 1e-3 / Optimizers.DefaultOptions("muon").LearningRate, defaults.AdamWLr!.Value, 15);
        Assert.Null(LearningRateFinder.Configure(new TrainingConfig { Optimizer = "adam" }, options).AdamWLr);
    }

    [Fact]
    public void Steepest_descent_is_read_at_the_left_end_of_the_steepest_interval_against_log_lr()
    {
        var (rates, losses) = SyntheticCurve();
        var s = LearningRateFinder.Steepest(rates, losses);
        Assert.Equal(rates[50], s.LearningRate);   // x = -3.0
        Assert.Equal(rates[50], s.PointLr);
        Assert.Equal(losses[50], s.PointLoss);
    }

    [Fact]
    public void Minimum_suggests_a_tenth_of_the_rate_at_the_lowest_loss()
    {
        var (rates, losses) = SyntheticCurve();
        var m = LearningRateFinder.Minimum(rates, losses);
        Assert.Equal(rates[80] / 10, m.LearningRate);   // x = -0.6
        Assert.Equal(rates[80], m.PointLr);
        Assert.Equal(losses[80], m.PointLoss);
    }

    [Fact]
    public void Suggestions_skip_the_first_tenth_of_the_planned_iterations_and_the_last_five_recorded()
    {
        var (rates, losses) = SyntheticCurve();
        var (r, l) = LearningRateFinder.Window(rates, losses, 100);
        Assert.Equal(rates[10..95], r);
        Assert.Equal(losses[10..95], l);
        // A test that stopped after 60 of 200 planned iterations keeps 20..54.
        (r, _) = LearningRateFinder.Window(rates[..60], losses[..60], 200);
        Assert.Equal(rates[20..55], r);
        var e = Assert.Throws<TrainingException>(() => LearningRateFinder.Window(rates[..16], losses[..16], 100));
        Assert.Contains("stopped after 16 of 100 iterations", e.Message);
    }

    [Fact]
    public void Lr_find_on_moons_writes_the_curve_the_figure_and_the_suggestions_of_that_curve()
    {
        string dir = Path.Combine(_dir, "moons");
        var (code, output, err) = CliRunner.Run("lr-find", "--data", "moons", "--optimizer", "sgd", "--momentum", "0.9", "--out", dir, "--format", "json");
        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(output);
        var rows = File.ReadAllLines(Path.Combine(dir, "lr-find.csv")).Skip(1).Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        Assert.True(rows.Length is > 20 and <= 100, $"{rows.Length} rows");
        Assert.Equal(rows.Length, json.RootElement.GetProperty("iterations").GetInt32());
        double average = 0, best = double.PositiveInfinity;
        for (int i = 0; i < rows.Length; i++)
        {
            // lr_i = 1e-7 (10 / 1e-7)^(i / 100); smoothed = debiased EMA with beta 0.98.
            Assert.Equal(1e-7 * Math.Pow(1e8, i / 100.0), rows[i][1], 1e-12 * rows[i][1]);
            average = 0.98 * average + 0.02 * rows[i][2];
            Assert.Equal(average / (1 - Math.Pow(0.98, i + 1)), rows[i][3], 1e-12);
            best = Math.Min(best, rows[i][3]);
            bool exploded = rows[i][3] > 4 * best;
            Assert.Equal(i == rows.Length - 1 && json.RootElement.GetProperty("stop").GetString() == "diverged", exploded);
        }
        // The suggestions, recomputed here from the written curve over fastai's window [100 / 10, n - 5).
        var window = rows[10..^5];
        int steep = Enumerable.Range(0, window.Length - 1).MinBy(i => (window[i + 1][3] - window[i][3]) / (Math.Log(window[i + 1][1]) - Math.Log(window[i][1])));
        int minimum = Enumerable.Range(0, window.Length).MinBy(i => window[i][3]);
        Assert.Equal(window[steep][1], json.RootElement.GetProperty("steepest").GetDouble());
        Assert.Equal(window[minimum][1] / 10, json.RootElement.GetProperty("minimum").GetDouble());
        Assert.True(new FileInfo(Path.Combine(dir, "lr-find.png")).Length > 5_000);
        Assert.True(File.Exists(Path.Combine(dir, "lr-find.svg")));
        Assert.Equal(output, File.ReadAllText(Path.Combine(dir, "lr-find.json")));

        (code, output, err) = CliRunner.Run("lr-find", "--data", "moons", "--optimizer", "sgd", "--momentum", "0.9", "--out", Path.Combine(_dir, "text"));
        Assert.True(code == 0, err);
        Assert.Contains("steepest        ", output);
        Assert.Contains("minimum / 10    ", output);
    }

    [Theory]
    [InlineData("drop --lr", "--lr", "0.1")]
    [InlineData("must be finite and above the start learning rate", "--end-lr", "1e-8")]
    [InlineData("Invalid --iterations value '3': expected a whole number from 6", "--iterations", "3")]
    [InlineData("Invalid stop factor 0.5", "--stop-factor", "0.5")]
    [InlineData("--momentum does not apply to adam", "--momentum", "0.9")]
    [InlineData("--batch 5000 is larger than the training set (500 examples)", "--batch", "5000")]
    [InlineData("Unknown optimizer 'adma' (did you mean 'adam'?)", "--optimizer", "adma")]
    public void Bad_input_is_refused_with_the_option_named_and_nothing_written(string message, string option, string value)
    {
        string dir = Path.Combine(_dir, "bad");
        var (code, output, err) = CliRunner.Run("lr-find", "--data", "moons", option, value, "--out", dir);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.Equal("", output);
        Assert.False(File.Exists(Path.Combine(dir, "lr-find.csv")));
    }

    [Fact]
    public void The_help_does_not_offer_lr_which_the_test_sets_itself()
    {
        var (code, output, _) = CliRunner.Run("lr-find", "--help");
        Assert.Equal(0, code);
        Assert.DoesNotContain("--lr <", output);
        Assert.Contains("--start-lr <", output);
        Assert.Contains("--lr <", CliRunner.Run("train", "--help").Out);
    }

    [Fact]
    public void A_missing_out_or_an_earlier_test_in_it_is_refused()
    {
        var (code, _, err) = CliRunner.Run("lr-find", "--data", "moons");
        Assert.Equal(2, code);
        Assert.Contains("--out DIR", err);
        string dir = Directory.CreateDirectory(Path.Combine(_dir, "taken")).FullName;
        File.WriteAllText(Path.Combine(dir, "lr-find.csv"), "kept");
        (code, _, err) = CliRunner.Run("lr-find", "--data", "moons", "--out", dir);
        Assert.Equal(2, code);
        Assert.Contains("already holds a range test", err);
        Assert.Equal("kept", File.ReadAllText(Path.Combine(dir, "lr-find.csv")));
    }

    [Fact]
    public void A_test_whose_loss_explodes_at_once_says_how_to_get_a_curve()
    {
        var (code, _, err) = CliRunner.Run("lr-find", "--data", "moons", "--optimizer", "sgd", "--start-lr", "1000", "--end-lr", "1e12", "--out", Path.Combine(_dir, "boom"));
        Assert.Equal(1, code);
        Assert.Contains("too few to suggest a learning rate", err);
        Assert.Contains("lower the start learning rate", err);
    }
}
