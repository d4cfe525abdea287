using System.Globalization;
using System.Text.Json;
using Descent.Schedules;
using Xunit;

namespace Descent.Tests;

/// <summary>The SWA learning-rate schedule against torch.optim.swa_utils.SWALR itself (tools/reference/generate_swa.py).</summary>
public sealed class SwaTests : IDisposable
{
    private static readonly Lazy<JsonElement> Reference = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "swa_reference.json"))).RootElement);

    private readonly string _dir = Directory.CreateTempSubdirectory("descent-swa").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    public static IEnumerable<object[]> SwalrCases() =>
        Enumerable.Range(0, Reference.Value.GetProperty("swalr").GetArrayLength()).Select(i => new object[] { i });

    private static JsonElement Case(int index) => Reference.Value.GetProperty("swalr")[index];

    private static double[] Rates(JsonElement c) => [.. c.GetProperty("rates").EnumerateArray().Select(v => v.GetDouble())];

    private static SwaLR Schedule(JsonElement c)
    {
        double lr = c.GetProperty("lr").GetDouble();
        long steps = c.GetProperty("steps").GetInt64();
        Schedule regular = c.GetProperty("regular").GetString() == "cosine" ? new CosineDecay(lr, steps) : new Constant(lr);
        return new SwaLR(regular, c.GetProperty("start").GetInt64(), c.GetProperty("swa_lr").GetDouble(), c.GetProperty("anneal_epochs").GetInt64(),
            c.GetProperty("anneal_strategy").GetString() == "linear" ? Anneal.Linear : Anneal.Cosine);
    }

    [Theory]
    [MemberData(nameof(SwalrCases))]
    public void SwaLR_matches_torch_SWALR_to_the_last_bit(int index)
    {
        var c = Case(index);
        var expected = Rates(c);
        var forward = Schedule(c);
        for (int k = 0; k < expected.Length; k++)
            Assert.True(forward.At(k + 1) == expected[k], $"{c}: update {k + 1}: {forward.At(k + 1):R}, torch {expected[k]:R}");
        // Asked out of order (a resumed run, a plot), the values are the same.
        var backward = Schedule(c);
        for (int k = expected.Length - 1; k >= 0; k--) Assert.Equal(expected[k], backward.At(k + 1));
    }

    [Fact]
    public void SwaLR_keeps_torchs_recursion_which_rounds_differently_from_the_closed_form()
    {
        // PyTorch recovers the starting rate from the current one at every step; interpolating from the remembered
        // starting rate, swa_lr alpha + lr0 (1 - alpha), misses some of its values in the last bits.
        int differ = 0;
        foreach (var row in SwalrCases())
        {
            var c = Case((int)row[0]);
            var s = Schedule(c);
            var rates = Rates(c);
            double from = rates[Math.Max(0, (int)s.Start - 1)];
            for (long j = 1; s.Start + j <= rates.Length && j < s.AnnealSteps; j++)
            {
                double x = (double)j / s.AnnealSteps;
                double alpha = s.Strategy == Anneal.Cosine ? (1 - Math.Cos(Math.PI * x)) / 2 : x;
                if (s.SwaLr * alpha + from * (1 - alpha) != rates[s.Start + j - 1]) differ++;
            }
        }
        Assert.True(differ > 0);
    }

    [Theory]
    [InlineData(1)]    // cosine to step 40, SWALR from update 21 over 7 updates
    [InlineData(11)]   // linear, SWALR from update 7 reaching swa_lr at once
    public void Descent_train_swa_lr_follows_torch_SWALR(int index)
    {
        var c = Case(index);
        string Text(string name) => c.GetProperty(name).GetRawText().Trim('"');
        string dir = Path.Combine(_dir, "run");
        var (code, _, err) = CliRunner.Run("train", "--hidden", "8", "-o", "sgd", "--lr", Text("lr"), "--schedule", Text("regular"), "--steps", Text("steps"),
            "--eval-every", "1", "--swa-start", Text("start"), "--swa-lr", Text("swa_lr"), "--swa-anneal-steps", Text("anneal_epochs"),
            "--swa-anneal", Text("anneal_strategy"), "--out", dir);
        Assert.True(code == 0, err);
        var lrs = File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Skip(1)
            .Select(line => double.Parse(line.Split(',')[2], CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(Rates(c), lrs);
    }

    [Theory]
    [InlineData("give --swa-start N too", "--swa-lr", "0.01")]
    [InlineData("give --swa-lr LR too", "--swa-start", "5", "--swa-anneal-steps", "3")]
    [InlineData("Invalid swa_lr", "--swa-start", "5", "--swa-lr=-0.01")]
    [InlineData("Invalid --swa-anneal-steps", "--swa-start", "5", "--swa-lr", "0.01", "--swa-anneal-steps=-1")]
    [InlineData("'cosine' not recognized", "--swa-start", "5", "--swa-lr", "0.01", "--swa-anneal", "cosine")]
    public void Bad_swalr_options_are_refused_before_anything_is_written(string message, params string[] args)
    {
        string dir = Path.Combine(_dir, "bad");
        var (code, _, err) = CliRunner.Run(["train", "--steps", "5", "--out", dir, .. args]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, err);
        Assert.False(File.Exists(Path.Combine(dir, "config.json")));
    }
}
