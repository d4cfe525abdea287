using System.Globalization;
using System.Text.Json;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.Schedules;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// The SWA learning-rate schedule and the batch-norm statistics of averaged weights against torch.optim.swa_utils's
/// SWALR and update_bn themselves (tools/reference/generate_swa.py).
/// </summary>
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
    [InlineData("expected all or a whole number of minibatches", "--swa-start", "5", "--update-bn", "half")]
    [InlineData("expected all or a whole number of minibatches", "--swa-start", "5", "--update-bn=-2")]
    public void Bad_swalr_options_are_refused_before_anything_is_written(string message, params string[] args)
    {
        string dir = Path.Combine(_dir, "bad");
        var (code, _, err) = CliRunner.Run(["train", "--steps", "10", "--out", dir, .. args]);
        Assert.NotEqual(0, code);
        Assert.Contains(message, err);
        Assert.False(File.Exists(Path.Combine(dir, "config.json")));
    }

    public static IEnumerable<object[]> UpdateBnCases() =>
        Enumerable.Range(0, Reference.Value.GetProperty("update_bn").GetArrayLength()).Select(i => new object[] { i });

    private static double[] Doubles(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    [Theory]
    [MemberData(nameof(UpdateBnCases))]
    public void Update_bn_matches_torch_update_bn(int index)
    {
        var c = Reference.Value.GetProperty("update_bn")[index];
        int[] shape = [.. c.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32())];
        var model = ModelSpec.Build<double>(c.GetProperty("spec").GetString()!, shape, c.GetProperty("outputs").GetInt32(), Initialization.Torch, new Rng(0));
        model.Training = false;
        var state = c.GetProperty("state");
        foreach (var p in model.Parameters) Doubles(state.GetProperty(p.Name)).CopyTo(p.Value.Span);
        foreach (var (name, _, value) in model.Buffers()) Doubles(state.GetProperty(name)).CopyTo(value.Span);
        int maxBatches = c.GetProperty("max_batches").ValueKind == JsonValueKind.Null ? int.MaxValue : c.GetProperty("max_batches").GetInt32();

        int used = BatchNormStatistics.Update<double>(model, Doubles(c.GetProperty("inputs")), c.GetProperty("examples").GetInt32(), c.GetProperty("batch").GetInt32(), maxBatches);

        var expected = c.GetProperty("statistics");
        foreach (var (name, _, value) in model.Buffers())
        {
            var torch = Doubles(expected.GetProperty(name));
            var ours = value.Span;
            for (int i = 0; i < torch.Length; i++)
                Assert.True(Math.Abs(ours[i] - torch[i]) <= 1e-12 * Math.Max(1, Math.Abs(torch[i])), $"{name}[{i}] = {ours[i]:R}, torch {torch[i]:R}");
        }
        Assert.Equal(used, (int)BatchNormStatistics.Layers<double>(model)[0].BatchesTracked);
        Assert.False(model.Training);
        Assert.All(BatchNormStatistics.Layers<double>(model), l => Assert.Equal(0.1, l.Momentum));
    }

    [Fact]
    public void Update_bn_masks_dropout_from_a_copy_of_its_generator()
    {
        var model = ModelSpec.Build<double>("linear:8-batchnorm-relu-dropout:0.5-linear:6-batchnorm-linear", [3], 2, Initialization.Torch, new Rng(4));
        var rng = new Rng(9);
        var x = new double[40 * 3];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextNormal();
        var dropout = model.Modules().OfType<Dropout<double>>().Single();
        var before = new State.StateDict();
        dropout.Generator.SaveState(before, "g");

        Assert.Equal(4, BatchNormStatistics.Update<double>(model, x, 40, 10));

        var expected = new Rng(0);
        expected.LoadState(before, "g");
        Assert.Equal(expected.NextUInt64(), dropout.Generator.NextUInt64());
        Assert.True(model.Training);
        // The masks were drawn: the second layer's statistics differ from those of the same weights without dropout.
        var second = BatchNormStatistics.Layers<double>(model)[1].RunningMean.ToArray();
        var plain = ModelSpec.Build<double>("linear:8-batchnorm-relu-linear:6-batchnorm-linear", [3], 2, Initialization.Torch, new Rng(4));
        model.Values.CopyTo(plain.Values);
        BatchNormStatistics.Update<double>(plain, x, 40, 10);
        Assert.NotEqual(second, BatchNormStatistics.Layers<double>(plain)[1].RunningMean.ToArray());
    }

    [Fact]
    public void A_swa_run_evaluates_its_average_with_batch_norm_statistics_recomputed_there_and_trains_on_undisturbed()
    {
        var config = new TrainingConfig { Model = "linear:16-batchnorm-relu-linear", Optimizer = "sgd", Steps = 30, SwaStart = 10, Batch = 50 };
        var recomputing = new Trainer(config);
        var keeping = new Trainer(config with { UpdateBn = 0 });
        var summary = recomputing.Fit();
        keeping.Fit();
        // Evaluating did not touch training: both runs hold the same weights and training statistics.
        Assert.Equal(keeping.Model.Values.ToArray(), recomputing.Model.Values.ToArray());
        float[] Buffers(Trainer t) => [.. t.Model.Buffers().SelectMany(b => b.Value.ToArray())];
        var training = Buffers(recomputing);
        Assert.Equal(Buffers(keeping), training);

        float[] average = [], evaluated = [];
        recomputing.AtEvaluationPoint(() => (average, evaluated) = (recomputing.Model.Values.ToArray(), Buffers(recomputing)));
        Assert.Equal(training, Buffers(recomputing));
        keeping.AtEvaluationPoint(() => Assert.Equal(training, Buffers(keeping)));

        // What the trainer evaluated with is update_bn over the training set at the average, in training batches.
        var check = ModelSpec.Build<float>(config.Model!, [2], 2, Initialization.Torch, new Rng(0));
        average.CopyTo(check.Values);
        Assert.Equal(500 / 50, BatchNormStatistics.Update<float>(check, recomputing.Train.Features, recomputing.Train.Count, config.Batch));
        Assert.Equal([.. check.Buffers().SelectMany(b => b.Value.ToArray())], evaluated);
        Assert.NotEqual(training, evaluated);
        Assert.Equal(recomputing.Evaluate(recomputing.Test), (summary.TestLoss, summary.TestAccuracy));
    }
}
