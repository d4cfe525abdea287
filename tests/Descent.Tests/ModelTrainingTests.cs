using Descent.State;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary><c>descent train --model SPEC</c>: models from specs through the trainer and the command line.</summary>
public sealed class ModelTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-model").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void The_exercise_cnn_learns_the_embedded_digits()
    {
        // The exercise's settings (SGD lr 0.05, momentum 0.9, batch 64); 100 steps are under one epoch.
        var trainer = new Trainer(new TrainingConfig
        {
            Data = "mnist",
            Model = "cnn",
            Optimizer = "sgd",
            Hyperparameters = new() { ["lr"] = 0.05, ["momentum"] = 0.9 },
            Batch = 64,
            Steps = 100,
            EvalEvery = 100,
        });
        Assert.Equal([1, 28, 28], trainer.Train.Shape);
        var summary = trainer.Fit();
        Assert.True(summary.TestAccuracy >= 0.85, $"test accuracy {summary.TestAccuracy}");
    }

    [Fact]
    public void A_training_step_of_a_cnn_with_batch_norm_and_dropout_allocates_nothing()
    {
        var trainer = new Trainer(new TrainingConfig
        {
            Data = "mnist",
            Model = "conv:4,k=3-batchnorm-relu-maxpool:2-flatten-dropout:0.3-linear",
            Optimizer = "adam",
            Batch = 16,
            Steps = 1000,
        });
        for (int i = 0; i < 20; i++) trainer.TrainStep();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 30; i++) trainer.TrainStep();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Evaluation_runs_in_eval_mode_and_leaves_training_mode_on()
    {
        var trainer = new Trainer(new TrainingConfig { Data = "mnist", Model = "conv:2,k=5,s=3-batchnorm-flatten-dropout:0.5-linear", Batch = 8, Steps = 10 });
        for (int i = 0; i < 5; i++) trainer.TrainStep();
        var bn = (Nn.BatchNorm<float>)trainer.Model.Layers[1];
        long tracked = bn.BatchesTracked;
        var first = trainer.Evaluate(trainer.Test);
        // Neither the statistics nor the result move: no batch statistics, no dropout masks.
        Assert.Equal(tracked, bn.BatchesTracked);
        Assert.Equal(first, trainer.Evaluate(trainer.Test));
        Assert.True(trainer.Model.Training);
        Assert.Equal(5, tracked);
    }

    [Fact]
    public void The_model_file_holds_parameters_and_batch_norm_buffers_under_torch_names()
    {
        string dir = Path.Combine(_dir, "bn");
        var (code, _, err) = CliRunner.Run("train", "--data", "mnist", "--model", "conv:3,k=3-batchnorm-relu-maxpool:2-flatten-linear", "--steps", "5", "--batch", "8", "--out", dir);
        Assert.True(code == 0, err);
        Assert.Contains("model conv:3,k=3-batchnorm-relu-maxpool:2-flatten-linear", err);
        var tensors = SafeTensors.Load(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.num_batches_tracked", "layers.1.running_mean", "layers.1.running_var", "layers.1.weight", "layers.5.bias", "layers.5.weight"],
            tensors.Keys.Order());
        Assert.Equal([3, 1, 3, 3], tensors["layers.0.weight"].Shape);
        Assert.Equal([10, 507], tensors["layers.5.weight"].Shape);
        Assert.Equal([5f], tensors["layers.1.num_batches_tracked"].Data);
        Assert.NotEqual(new float[3], tensors["layers.1.running_mean"].Data);
    }

    [Fact]
    public void Resuming_a_run_with_batch_norm_and_dropout_equals_an_uninterrupted_run()
    {
        // The running statistics and the dropout generator are in the checkpoint, so the halves join up exactly.
        string[] common = ["train", "--data", "mnist", "--model", "conv:3,k=3,s=2-batchnorm-relu-flatten-dropout:0.5-linear", "--batch", "16", "--eval-every", "20", "--checkpoint-every", "20"];
        string whole = Path.Combine(_dir, "whole"), parts = Path.Combine(_dir, "parts");
        Assert.Equal(0, CliRunner.Run([.. common, "--steps", "80", "--out", whole]).Code);
        Assert.Equal(0, CliRunner.Run([.. common, "--steps", "40", "--out", parts]).Code);
        var (code, _, err) = CliRunner.Run("train", "--resume", parts, "--steps", "80");
        Assert.True(code == 0, err);
        foreach (var file in new[] { "metrics.csv", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(whole, file)), File.ReadAllBytes(Path.Combine(parts, file)));
    }

    [Theory]
    [InlineData("--model cnn --hidden 32", "give it without --hidden and --activation")]
    [InlineData("--data mnist --model conv:8", "needs k=")]
    [InlineData("--model cnn --data moons", "needs images [C, H, W] but its input is [2]")]
    [InlineData("--data text --model mlp:16", "a model for text ends with a linear layer at every position")]
    [InlineData("--data mnist --context 8", "--context is read only with --data text, not --data mnist")]
    [InlineData("--data text --model transformer:layers=1,d=8,heads=2,ctx=8 --context 16", "a transformer reads sequences of ctx=8 tokens, but the examples are [16]")]
    public void Bad_models_give_one_clear_error_line(string options, string message)
    {
        var (code, _, err) = CliRunner.Run(["train", .. options.Split(' '), "--out", Path.Combine(_dir, "bad")]);
        Assert.NotEqual(0, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(message, err);
    }
}
