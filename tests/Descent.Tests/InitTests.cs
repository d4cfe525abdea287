using System.Text;
using Descent.Nn;
using Descent.Numerics;
using Descent.State;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary><c>--init FILE.safetensors</c> and <see cref="StateDicts"/>: training starts from given weights, loaded by state_dict name.</summary>
public sealed class InitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-init").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Out(string name) => Path.Combine(_dir, name);

    private const string Spec = "conv:3,k=3,s=2-batchnorm-relu-flatten-linear";

    /// <summary>A finished short run's directory, whose model.safetensors holds trained weights and batch-norm statistics.</summary>
    private string Trained()
    {
        string dir = Out("first");
        if (!File.Exists(Path.Combine(dir, "model.safetensors")))
        {
            var (code, _, err) = CliRunner.Run("train", "--data", "mnist", "--model", Spec, "--steps", "30", "--batch", "16", "--out", dir);
            Assert.True(code == 0, err);
        }
        return Path.Combine(dir, "model.safetensors");
    }

    [Fact]
    public void A_run_started_from_a_file_starts_from_its_weights_and_buffers()
    {
        string file = Trained();
        var trainer = new Trainer(new TrainingConfig { Data = "mnist", Model = Spec, Init = file, Batch = 16, Steps = 10 });
        var saved = SafeTensors.Load(file);
        foreach (var p in trainer.Model.Parameters) Assert.Equal(saved[p.Name].Data, p.Value.ToArray());
        foreach (var (name, _, value) in trainer.Model.Buffers()) Assert.Equal(saved[name].Data, value.ToArray());
        // Fine-tuning goes on from there: the first run's test loss, not a fresh network's.
        var fresh = new Trainer(new TrainingConfig { Data = "mnist", Model = Spec, Batch = 16, Steps = 10 });
        Assert.True(trainer.Evaluate(trainer.Test).Loss < fresh.Evaluate(fresh.Test).Loss - 0.3);
    }

    [Fact]
    public void The_command_line_takes_a_file_for_init_and_config_json_records_its_full_path()
    {
        string file = Trained();
        string dir = Out("tuned");
        var (code, _, err) = CliRunner.Run("train", "--data", "mnist", "--model", Spec, "--init", Path.GetRelativePath(Environment.CurrentDirectory, file),
            "--optimizer", "sgd", "--lr", "0.01", "--steps", "10", "--batch", "16", "--out", dir);
        Assert.True(code == 0, err);
        Assert.Equal(file, Trainer.LoadConfig(dir).Init);
    }

    [Fact]
    public void Weights_of_another_model_are_refused_naming_the_tensors_and_shapes()
    {
        string file = Trained();
        var e = Assert.Throws<ArgumentException>(() => new Trainer(new TrainingConfig { Data = "mnist", Model = "conv:3,k=3,s=2-relu-flatten-linear", Init = file }));
        Assert.Contains("missing 2 tensors 'layers.3.weight', 'layers.3.bias' that the model has", e.Message);
        var model = ModelSpec.Build<float>(Spec, [1, 28, 28], 10, Initialization.Torch, new Rng(1));
        var extra = SafeTensors.Load(file);
        extra["head.weight"] = ([1], [0f]);
        e = Assert.Throws<ArgumentException>(() => model.LoadStateDict(extra, "tuned.safetensors"));
        Assert.StartsWith("tuned.safetensors: unexpected tensor 'head.weight' that the model does not have", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer(new TrainingConfig { Data = "mnist", Model = Spec + "-relu-linear", Init = file }));
        Assert.Contains("missing 2 tensors 'layers.6.weight', 'layers.6.bias' that the model has", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer(new TrainingConfig { Data = "mnist", Model = "conv:4,k=3,s=2-batchnorm-relu-flatten-linear", Init = file }));
        Assert.Contains("tensor 'layers.0.weight' has shape [3, 1, 3, 3] but the model's is [4, 1, 3, 3]", e.Message);
    }

    [Fact]
    public void Nothing_is_changed_when_a_file_does_not_fit()
    {
        var model = ModelSpec.Build<float>("linear:3", [2], 3, Initialization.Torch, new Rng(1));
        float[] before = model.Values.ToArray();
        var tensors = new Dictionary<string, (int[] Shape, float[] Data)> { ["layers.0.weight"] = ([3, 2], new float[6]), ["layers.0.bias"] = ([4], new float[4]) };
        Assert.Throws<ArgumentException>(() => model.LoadStateDict(tensors));
        Assert.Equal(before, model.Values.ToArray());
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[64.0,2],\"data_offsets\":[0,0]}}")]
    [InlineData("[1, 2]")]
    public void A_header_that_is_not_safetensors_json_is_reported_as_such(string header)
    {
        string path = Out("bad-header.safetensors");
        var bytes = System.Text.Encoding.UTF8.GetBytes(header);
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)bytes.Length));
            f.Write(bytes);
        }
        var e = Assert.Throws<InvalidDataException>(() => Descent.State.SafeTensors.Load(path));
        Assert.Contains("not a safetensors file this version can read", e.Message);
    }

    [Fact]
    public void A_float64_file_is_refused_with_its_dtype_and_the_fix()
    {
        // One F64 tensor, written by hand in the safetensors layout (8-byte header length, JSON header, data).
        string path = Out("double.safetensors");
        string header = "{\"layers.0.weight\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)header.Length));
            f.Write(Encoding.ASCII.GetBytes(header));
            f.Write(BitConverter.GetBytes(1.0));
        }
        var (code, _, err) = CliRunner.Run("train", "--data", "moons", "--init", path, "--steps", "5", "--out", Out("f64"));
        Assert.Equal(1, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("tensor 'layers.0.weight' has dtype F64; Descent reads F32", err);
        Assert.Contains("model.float()", err);
    }

    [Theory]
    [InlineData("--init /nonexistent/w.safetensors", "--init /nonexistent/w.safetensors: neither an initialization (torch, he, xavier) nor an existing file")]
    [InlineData("--init kaiming_normal", "--init kaiming_normal: neither an initialization")]
    [InlineData("--init /tmp", "--init /tmp is a directory; give a file")]
    public void A_name_that_is_neither_a_scheme_nor_a_file_is_refused(string options, string message)
    {
        var (code, _, err) = CliRunner.Run(["train", .. options.Split(' '), "--steps", "5", "--out", Out("bad")]);
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(message, err);
    }
}
