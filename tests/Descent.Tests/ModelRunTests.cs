using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Descent.State;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// What a run promises for an MLP holds for a CNN and a transformer too: resuming continues bit for bit, a run
/// killed at any moment resumes to the same result, divergence stops with its cause and keeps the last good
/// checkpoint, metrics and TensorBoard scalars are written, and a training step allocates nothing.
/// </summary>
public sealed class ModelRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-model-run").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Out(string name) => Path.Combine(_dir, name);

    /// <summary>A few thousand characters of text, so the transformer's runs stay short (the embedded corpus is 300 KB).</summary>
    private string SmallText()
    {
        string path = Out("small.txt");
        if (!File.Exists(path))
            File.WriteAllText(path, string.Concat(Enumerable.Range(0, 120).Select(i => $"Line {i}: the quick brown fox jumps over {i % 7} lazy dogs. ")));
        return path;
    }

    /// <summary>The command-line settings of each model's runs: a CNN with batch norm and dropout on the digits, a pre-LN and a post-LN transformer on text.</summary>
    private string[] Settings(string model) => model switch
    {
        "cnn" => ["--data", "mnist", "--model", "conv:4,k=3,s=2-batchnorm-relu-maxpool:2-flatten-dropout:0.2-linear:16-relu-linear", "--batch", "16"],
        "transformer-pre" => ["--data", "text", "--text", SmallText(), "--model", "transformer:layers=1,d=16,heads=2,ctx=16,norm=pre", "--batch", "8"],
        _ => ["--data", "text", "--text", SmallText(), "--model", "transformer:layers=1,d=16,heads=2,ctx=16,norm=post", "--batch", "8"],
    };

    public static TheoryData<string> Models => new() { "cnn", "transformer-pre", "transformer-post" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Resuming_equals_an_uninterrupted_run_and_metrics_reach_every_output(string model)
    {
        string[] common = ["train", .. Settings(model), "--optimizer", "adamw", "--lr", "0.003", "--schedule", "cosine:steps=80", "--warmup", "10",
            "--eval-every", "20", "--checkpoint-every", "20", "--clip-norm", "1"];
        string whole = Out("whole"), parts = Out("parts");
        var (code, _, err) = CliRunner.Run([.. common, "--steps", "80", "--out", whole]);
        Assert.True(code == 0, err);
        Assert.Equal(0, CliRunner.Run([.. common, "--steps", "40", "--out", parts]).Code);
        (code, _, err) = CliRunner.Run("train", "--resume", parts, "--steps", "80");
        Assert.True(code == 0, err);
        foreach (var file in new[] { "metrics.csv", "metrics.jsonl", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(whole, file)), File.ReadAllBytes(Path.Combine(parts, file)));
        // Four evaluations, each in the CSV, the JSON lines and TensorBoard with the same test loss.
        var rows = File.ReadAllLines(Path.Combine(whole, "metrics.csv"));
        Assert.Equal(5, rows.Length);
        int column = Array.IndexOf(rows[0].Split(','), "test_loss");
        double[] csv = [.. rows.Skip(1).Select(r => double.Parse(r.Split(',')[column], CultureInfo.InvariantCulture))];
        double[] jsonl = [.. File.ReadAllLines(Path.Combine(whole, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("test_loss").GetDouble())];
        Assert.Equal(csv, jsonl);
        var tensorboard = TrainCommandTests.TensorBoardScalars(whole, "loss/test");
        Assert.Equal([20L, 40, 60, 80], tensorboard.Select(s => s.Step));
        Assert.Equal(csv.Select(v => (float)v), tensorboard.Select(s => s.Value));
        Assert.True(csv[^1] < csv[0], $"test loss {csv[0]} -> {csv[^1]}");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_run_killed_at_any_moment_resumes_to_the_same_result(string model)
    {
        string[] args = [.. Settings(model), "--optimizer", "adam", "--lr", "0.002", "--steps", "600", "--eval-every", "100", "--checkpoint-every", "10"];
        Assert.Equal(0, CliRunner.Run(["train", .. args, "--out", Out("reference")]).Code);
        string cli = Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll");
        string dir = Out("killed");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { cli, "train" }.Concat(args).Concat(["--out", dir])) start.ArgumentList.Add(a);
        using (var process = Process.Start(start)!)
        {
            // Wait for the first checkpoint, then kill within the run.
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(dir, "checkpoint.state")) && clock.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited) Thread.Sleep(5);
            Thread.Sleep(new Random(model.Length).Next(0, 200));
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        var (code, _, err) = CliRunner.Run("train", "--resume", dir);
        Assert.True(code == 0, err);
        foreach (var file in new[] { "metrics.csv", "metrics.jsonl", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Out("reference"), file)), File.ReadAllBytes(Path.Combine(dir, file)));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_diverging_run_stops_with_the_step_and_the_cause_and_keeps_the_last_checkpoint(string model)
    {
        string dir = Out("diverge");
        var (code, _, err) = CliRunner.Run(["train", .. Settings(model), "--optimizer", "sgd", "--lr", "0.5", "--schedule", "exponential:gamma=2",
            "--steps", "400", "--checkpoint-every", "2", "--eval-every", "2", "--out", dir]);
        Assert.Equal(1, code);
        // Caught either by the loss or, when batch norm keeps the loss finite a little longer, by the weights before they are kept.
        Assert.Matches(@"The loss became (NaN|∞|-?Infinity) at step \d+|Some weights stopped being finite in update \d+", err);
        Assert.Contains("learning rate is probably too high", err);
        Assert.Contains("last good checkpoint (step", err);
        var state = StateDict.Load(Path.Combine(dir, "checkpoint.state"));
        var trainer = new Trainer(Trainer.LoadConfig(dir));
        var weights = new float[trainer.Model.Values.Length];
        state.CopyTo<float>("model.values", weights);
        Assert.All(weights, w => Assert.True(float.IsFinite(w)));
    }

    [Theory]
    [InlineData("mnist", "cnn")]
    [InlineData("text", "transformer:layers=2,d=16,heads=2,ctx=16,norm=pre")]
    [InlineData("text", "transformer:layers=2,d=16,heads=2,ctx=16,norm=post")]
    public void A_training_step_allocates_nothing(string data, string model)
    {
        var trainer = new Trainer(new TrainingConfig
        {
            Data = data,
            Text = data == "text" ? SmallText() : null,
            Model = model,
            Optimizer = "adamw",
            Batch = 8,
            Steps = 1000,
            ClipNorm = 1,
        });
        for (int i = 0; i < 5; i++) trainer.TrainStep();
        // The least of three windows: packed-matrix buffers are shared by all threads, so a test running beside this one
        // may hold them for a moment and make this step take a new one, which a step's own allocation would repeat in each.
        Assert.Equal(0, ModelTrainingTests.LeastAllocated(() => trainer.TrainStep()).Caller);
    }

    [Fact]
    public void A_small_transformer_beats_the_unigram_model_on_the_embedded_text()
    {
        var (code, output, err) = CliRunner.Run("train", "--data", "text", "--model", "transformer:layers=1,d=32,heads=4,ctx=32", "--optimizer", "adamw",
            "--lr", "0.003", "--batch", "16", "--steps", "150", "--eval-every", "150", "--out", Out("text"), "--format", "json");
        Assert.True(code == 0, err);
        var summary = JsonDocument.Parse(output).RootElement;
        double unigram = summary.GetProperty("unigram_test_loss").GetDouble(), loss = summary.GetProperty("test_loss").GetDouble();
        Assert.Equal(CharTextUnigram(32), unigram, 12);
        Assert.True(loss < unigram - 0.3, $"test loss {loss}, unigram {unigram}");
    }

    private static double CharTextUnigram(int context)
    {
        var (train, test) = Descent.Data.CharText.Embedded(context);
        return Descent.Data.CharText.UnigramLoss(train, test);
    }

    [Fact]
    public void Torch_made_weights_start_a_run_through_init()
    {
        // The pre-LN transformer's initial state_dict written by PyTorch (tools/reference/generate_torch_steps.py): vocabulary 7, context 5.
        string weights = Path.Combine(AppContext.BaseDirectory, "Reference", "steps", "transformer-pre.init.safetensors");
        string text = Out("seven.txt");
        File.WriteAllText(text, string.Concat(Enumerable.Range(0, 300).Select(i => "abcdefg"[(3 * i + i / 7) % 7])));
        string dir = Out("torch-init");
        var (code, _, err) = CliRunner.Run("train", "--data", "text", "--text", text, "--model", "transformer:layers=2,d=12,heads=3,ctx=5,norm=pre",
            "--init", weights, "--optimizer", "sgd", "--lr", "0", "--steps", "1", "--out", dir);
        Assert.True(code == 0, err);
        // With lr 0 the saved model is torch's, tensor for tensor.
        var saved = SafeTensors.Load(Path.Combine(dir, "model.safetensors"));
        foreach (var (name, (_, data)) in SafeTensors.Load(weights)) Assert.Equal(data, saved[name].Data);
    }
}
