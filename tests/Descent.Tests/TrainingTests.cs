using System.Diagnostics;
using System.Text.Json;
using Descent.State;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

public sealed class TrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-train").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Out(string name) => Path.Combine(_dir, name);

    private static (int Code, string Out, string Err) Cli(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void An_empty_test_set_and_a_missing_file_of_starting_weights_are_refused_before_training()
    {
        // MNIST files with 3 training digits and no test digits: the first evaluation could only give NaN.
        string dir = Out("no-test");
        Directory.CreateDirectory(dir);
        Descent.Data.Idx.Write(Path.Combine(dir, "train-images-idx3-ubyte"), [3, 28, 28], new byte[3 * 784]);
        Descent.Data.Idx.Write(Path.Combine(dir, "train-labels-idx1-ubyte"), [3], new byte[] { 1, 2, 3 });
        Descent.Data.Idx.Write(Path.Combine(dir, "t10k-images-idx3-ubyte"), [0, 28, 28], []);
        Descent.Data.Idx.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte"), [0], []);
        var (code, _, err) = Cli("train", "--data", "mnist", "--data-dir", dir, "--batch", "3", "--steps", "2", "--out", Out("empty"));
        Assert.Equal(2, code);
        Assert.Contains("holds no examples: a run needs examples to train on and held-out examples to evaluate on", err);
        Assert.False(Directory.Exists(Out("empty")));
        var e = Assert.Throws<Descent.Training.ConfigException>(() => new Descent.Training.Trainer(new Descent.Training.TrainingConfig { Init = Out("gone.safetensors") }));
        Assert.Contains($"The file of starting weights '{Out("gone.safetensors")}' does not exist (any more)", e.Message);
    }

    private static JsonElement Summary(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;

    [Fact]
    public void Adam_fits_clean_two_moons_to_at_least_99_percent()
    {
        var (code, _, err) = Cli("train", "--data", "moons", "--n", "500", "--noise", "0.1", "--hidden", "64,64", "--activation", "relu",
            "--optimizer", "adam", "--lr", "0.01", "--batch", "32", "--steps", "2000", "--out", Out("clean"));
        Assert.True(code == 0, err);
        Assert.True(Summary(Out("clean")).GetProperty("train_accuracy").GetDouble() >= 0.99);
    }

    [Fact]
    public void Full_batch_training_on_noisy_moons_fits_most_flipped_labels()
    {
        // 10% of labels flipped: a clean boundary scores about 90% on the training set; going well past it means memorizing flips.
        var summary = new Trainer(new TrainingConfig { Flip = 0.1, Batch = 500, Optimizer = "adam", Hyperparameters = new() { ["lr"] = 0.01 }, Steps = 16000, EvalEvery = 16000 })
            .Run(Out("noisy"));
        Assert.True(summary.TrainAccuracy >= 0.95, $"train accuracy {summary.TrainAccuracy}");
        Assert.True(summary.TestAccuracy < summary.TrainAccuracy - 0.05, $"test {summary.TestAccuracy} vs train {summary.TrainAccuracy}");
    }

    [Fact]
    public void A_linear_classifier_reaches_87_percent_on_the_embedded_digits()
    {
        var (code, output, err) = Cli("train", "--data", "mnist", "--hidden=", "--optimizer", "sgd", "--lr", "0.1", "--batch", "64", "--epochs", "5",
            "--out", Out("mnist"), "--format", "json");
        Assert.True(code == 0, err);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.True(summary.GetProperty("test_accuracy").GetDouble() >= 0.87, output);
        Assert.Equal(7850, summary.GetProperty("parameters").GetInt32());
    }

    [Theory]
    [InlineData("--optimizer", "sgd", "--lr", "0.1", "--batch", "100")]
    [InlineData("--optimizer", "adamw", "--lr", "0.01", "--batch", "1000", "--clip-norm", "0.5")]
    [InlineData("--optimizer", "sgd", "--lr", "0.1", "--batch", "70", "--lookahead", "3")]
    [InlineData("--optimizer", "adam", "--lr", "0.01", "--batch", "40", "--accumulate", "3")]
    [InlineData("--optimizer", "sgd", "--lr", "0.1", "--batch", "999", "--threads", "2")]   // shards of 499 and 500 examples
    public void A_softmax_regression_trained_in_slices_ends_at_the_weights_of_whole_batch_passes(params string[] options)
    {
        // flatten-linear takes its steps in slices (Linear.CrossEntropyRows) unless its optimizer needs a closure; an identity
        // layer after it makes the same model go through the passes one after the other. Same weights byte for byte after 30 steps.
        string[] run = ["train", "--data", "mnist", "--steps", "30", "--eval-every", "30", .. options];
        var (code, _, err) = Cli([.. run, "--model", "flatten-linear", "--out", Out("sliced")]);
        Assert.True(code == 0, err);
        (code, _, err) = Cli([.. run, "--model", "flatten-linear-identity", "--out", Out("whole")]);
        Assert.True(code == 0, err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Out("whole"), "model.safetensors")), File.ReadAllBytes(Path.Combine(Out("sliced"), "model.safetensors")));
    }

    [Fact]
    public void Fashion_mnist_trains_from_its_directory()
    {
        var (code, output, err) = Cli("train", "--data", "fashion-mnist", "--data-dir", Descent.Data.Mnist.FashionMnistDirectory, "--hidden=",
            "--optimizer", "adam", "--lr", "0.001", "--batch", "256", "--steps", "300", "--eval-every", "300", "--out", Out("fashion"), "--format", "json");
        Assert.True(code == 0, err);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal(60000, summary.GetProperty("train_examples").GetInt32());
        Assert.True(summary.GetProperty("test_accuracy").GetDouble() > 0.7, output);
    }

    private static readonly string[] Common = ["--data", "moons", "--flip", "0.1", "--hidden", "16,16", "--optimizer", "adam", "--lr", "0.01", "--schedule", "cosine:steps=600",
        "--warmup", "20", "--batch", "16", "--eval-every", "25", "--checkpoint-every", "50", "--seed", "7", "--clip-norm", "5"];

    [Fact]
    public void Same_seed_gives_identical_metrics_and_weights()
    {
        Assert.Equal(0, Cli(["train", .. Common, "--steps", "300", "--out", Out("a")]).Code);
        Assert.Equal(0, Cli(["train", .. Common, "--steps", "300", "--out", Out("b")]).Code);
        foreach (var file in new[] { "metrics.csv", "metrics.jsonl", "model.safetensors", "config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Out("a"), file)), File.ReadAllBytes(Path.Combine(Out("b"), file)));
        Assert.Equal(0, Cli(["train", .. Common.Select(a => a == "7" ? "8" : a), "--steps", "300", "--out", Out("c")]).Code);
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(Out("a"), "metrics.csv")), File.ReadAllBytes(Path.Combine(Out("c"), "metrics.csv")));
    }

    [Fact]
    public void Training_n_then_resuming_to_2n_equals_an_uninterrupted_2n_run()
    {
        Assert.Equal(0, Cli(["train", .. Common, "--steps", "600", "--out", Out("whole")]).Code);
        Assert.Equal(0, Cli(["train", .. Common, "--steps", "300", "--out", Out("parts")]).Code);
        var (code, _, err) = Cli("train", "--resume", Out("parts"), "--steps", "600");
        Assert.True(code == 0, err);
        foreach (var file in new[] { "metrics.csv", "metrics.jsonl", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(Out("whole"), file)), File.ReadAllBytes(Path.Combine(Out("parts"), file)));
    }

    [Fact]
    public void A_run_killed_at_any_moment_resumes_to_the_same_result()
    {
        string[] args = [.. Common.Select(a => a switch { "cosine:steps=600" => "cosine:steps=3000", "50" => "20", _ => a }), "--steps", "3000"];
        Assert.Equal(0, Cli(["train", .. args, "--out", Out("reference")]).Code);
        string cli = Path.Combine(AppContext.BaseDirectory, "Descent.Cli.dll");
        var rng = new Random(3);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string dir = Out($"killed{attempt}");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { cli, "train" }.Concat(args).Concat(["--out", dir])) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            // Wait for the first checkpoint, then kill at a random moment within the run.
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(dir, "checkpoint.state")) && clock.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited) Thread.Sleep(5);
            Thread.Sleep(rng.Next(0, 300));
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
            var (code, _, err) = Cli("train", "--resume", dir);
            Assert.True(code == 0, err);
            foreach (var file in new[] { "metrics.csv", "metrics.jsonl", "model.safetensors" })
                Assert.Equal(File.ReadAllBytes(Path.Combine(Out("reference"), file)), File.ReadAllBytes(Path.Combine(dir, file)));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
    }

    [Fact]
    public void A_diverging_run_stops_with_the_step_and_the_cause_and_keeps_the_last_checkpoint()
    {
        var (code, _, err) = Cli("train", "--data", "moons", "--optimizer", "sgd", "--lr", "1", "--schedule", "exponential:gamma=1.5",
            "--steps", "500", "--checkpoint-every", "5", "--eval-every", "5", "--out", Out("diverge"));
        Assert.Equal(1, code);
        Assert.Single(err.Trim().Split('\n'), l => l.StartsWith("descent: error:"));
        Assert.Matches(@"The loss became (NaN|∞|-?Infinity) at step \d+", err);
        Assert.Contains("learning rate is probably too high", err);
        Assert.Contains("last good checkpoint (step", err);
        var state = StateDict.Load(Path.Combine(Out("diverge"), "checkpoint.state"));
        var weights = new float[state.GetLong("trainer.step") > 0 ? 4482 : 0];
        state.CopyTo<float>("model.values", weights);
        Assert.All(weights, w => Assert.True(float.IsFinite(w)));
    }

    [Fact]
    public void The_model_file_is_safetensors_with_torch_names_and_shapes()
    {
        Assert.Equal(0, Cli(["train", .. Common, "--steps", "50", "--out", Out("st")]).Code);
        byte[] bytes = File.ReadAllBytes(Path.Combine(Out("st"), "model.safetensors"));
        ulong headerLength = BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0UL, headerLength % 8);
        var header = JsonDocument.Parse(System.Text.Encoding.UTF8.GetString(bytes, 8, (int)headerLength)).RootElement;
        Assert.Equal("F32", header.GetProperty("layers.2.weight").GetProperty("dtype").GetString());
        Assert.Equal([16, 16], header.GetProperty("layers.2.weight").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var tensors = SafeTensors.Load(Path.Combine(Out("st"), "model.safetensors"));
        var trained = StateDict.Load(Path.Combine(Out("st"), "checkpoint.state"));
        var flat = new float[2 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2];
        trained.CopyTo<float>("model.values", flat);
        Assert.Equal(flat, new[] { "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias" }.SelectMany(n => tensors[n].Data));
    }

    [Fact]
    public void The_tensorboard_file_is_valid_tfrecord_with_crc32c_checksums()
    {
        // CRC-32C check value of "123456789" is 0xE3069283 (RFC 3720); TFRecord masks it.
        uint crc = 0xE3069283;
        Assert.Equal(((crc >> 15) | (crc << 17)) + 0xA282EAD8, TensorBoardWriter.MaskedCrc("123456789"u8));
        Assert.Equal(0, Cli(["train", .. Common, "--steps", "50", "--out", Out("tb")]).Code);
        byte[] file = File.ReadAllBytes(Directory.GetFiles(Out("tb"), "events.out.tfevents.*").Single());
        int pos = 0, records = 0;
        while (pos < file.Length)
        {
            ulong length = BitConverter.ToUInt64(file, pos);
            Assert.Equal(TensorBoardWriter.MaskedCrc(file.AsSpan(pos, 8)), BitConverter.ToUInt32(file, pos + 8));
            Assert.Equal(TensorBoardWriter.MaskedCrc(file.AsSpan(pos + 12, (int)length)), BitConverter.ToUInt32(file, pos + 12 + (int)length));
            if (records == 0) Assert.Contains("brain.Event:2", System.Text.Encoding.ASCII.GetString(file, pos + 12, (int)length));
            pos += 12 + (int)length + 4;
            records++;
        }
        Assert.Equal(1 + 2 * 6, records); // version + 6 scalars at steps 25 and 50
        Assert.Contains("loss/train", System.Text.Encoding.ASCII.GetString(file));
    }

    [Theory]
    [InlineData("--hidden 64,x", "Invalid --hidden value '64,x'")]
    [InlineData("--batch 0", "Invalid --batch value '0'")]
    [InlineData("--data csv", "--data csv needs --csv FILE")]
    [InlineData("--data mnist --data-dir /nonexistent/mnist", "/nonexistent/mnist: no such directory")]
    [InlineData("--stretch 1", "Invalid --stretch value '1'")]
    [InlineData("--flip 2", "Invalid label-flip probability 2")]
    [InlineData("--loss bce --data mnist", "The bce loss is for two classes")]
    [InlineData("--schedule zigzag", "Unknown schedule 'zigzag': choose one of")]
    [InlineData("--schedule cosine,final=0", "Unknown schedule 'cosine,final=0': a schedule's name and its keys are separated by ':', as in cosine:final=0; choose one of")]
    [InlineData("--schedule final=0", "Unknown schedule 'final=0': a schedule's name and its keys are separated by ':', as in cosine:final=0; choose one of")]
    [InlineData("--schedule cosine:bogus=1", "cosine has no parameter 'bogus'")]
    [InlineData("--optimizer adam --momentum 0.9", "--momentum does not apply to adam")]
    [InlineData("--steps 10 --epochs 2", "Give --steps or --epochs, not both")]
    public void Bad_training_options_give_one_clear_error_line(string options, string message)
    {
        var (code, _, err) = Cli(["train", .. options.Split(' '), "--out", Out("bad")]);
        Assert.NotEqual(0, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(message, err);
    }

    [Fact]
    public void Resume_needs_a_run_directory_and_accepts_only_steps()
    {
        var (code, _, err) = Cli("train", "--resume", Out("nothing"));
        Assert.Equal(1, code);
        Assert.Contains("not a Descent run directory", err);
        Assert.Equal(0, Cli(["train", .. Common, "--steps", "50", "--out", Out("r")]).Code);
        (code, _, err) = Cli("train", "--resume", Out("r"), "--lr", "0.5");
        Assert.Equal(2, code);
        Assert.Contains("only --steps, --epochs, --schedule, --eval-threads, --format and --plot may be given with it (--schedule for the updates after the checkpoint; got --lr).", err);
        (code, _, err) = Cli("train", "--resume", Out("r"), "--out", Out("r2"), "--warmup", "5");
        Assert.Equal(2, code);
        Assert.Contains("got --warmup, --out)", err);
        (code, _, err) = Cli(["train", .. Common, "--steps", "50", "--out", Out("r")]);
        Assert.Equal(2, code);
        Assert.Contains("already holds a run", err);
    }
}
