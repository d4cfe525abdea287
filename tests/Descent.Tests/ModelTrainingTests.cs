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
        Assert.Equal(0, LeastAllocated(() => trainer.TrainStep()).Caller);
    }

    /// <summary>
    /// Bytes that 30 calls of <paramref name="step"/> allocate on this thread and, through <paramref name="workers"/>, on others:
    /// the least of three windows, so that something the runtime makes once (seen once in a full run of the suite) is not
    /// taken for a step's allocation, which every window would show.
    /// </summary>
    internal static (long Caller, long Workers) LeastAllocated(Action step, Func<long>? workers = null)
    {
        long caller = long.MaxValue, pool = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread(), elsewhere = workers?.Invoke() ?? 0;
            for (int i = 0; i < 30; i++) step();
            caller = Math.Min(caller, GC.GetAllocatedBytesForCurrentThread() - before);
            pool = Math.Min(pool, (workers?.Invoke() ?? 0) - elsewhere);
        }
        return (caller, pool);
    }

    private static TrainingConfig DataParallelConfig(int threads) => new()
    {
        Data = "mnist",
        Model = "conv:4,k=3,s=2-relu-dropout:0.2-flatten-linear:16-gelu-linear",
        Optimizer = "sgd",
        Hyperparameters = new() { ["lr"] = 0.1, ["momentum"] = 0.9 },
        Batch = 13,   // shards of 6 and 7 examples (5, 4 and 4 on three cores)
        Steps = 40,
        Threads = threads,
    };

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_data_parallel_step_is_the_one_core_step_up_to_float_rounding(int threads)
    {
        // Without dropout the shards see exactly what one core sees: the updates agree but for the order of the sums.
        var config = DataParallelConfig(threads) with { Model = "conv:4,k=3,s=2-relu-flatten-linear:16-gelu-linear" };
        var one = new Trainer(config with { Threads = 1 });
        var many = new Trainer(config);
        Assert.Equal(one.Model.Values.ToArray(), many.Model.Values.ToArray());
        for (int step = 0; step < 5; step++)
        {
            double a = one.TrainStep(), b = many.TrainStep();
            Assert.True(Math.Abs(a - b) <= 1e-6 * Math.Abs(a), $"step {step + 1}: loss {a:R} on one core, {b:R} on {threads}");
        }
        var x = one.Model.Values.ToArray();
        var y = many.Model.Values.ToArray();
        double scale = x.Max(v => Math.Abs(v));
        Assert.All(Enumerable.Range(0, x.Length), i => Assert.True(Math.Abs(x[i] - y[i]) <= 1e-5 * scale, $"weight {i}: {x[i]:R} on one core, {y[i]:R} on {threads}"));
        Assert.NotEqual(x, y);   // the sums really ran in another order, on other threads
        // The replicas see the updated weights: they share them, not a copy.
        Assert.Equal(many.Model.Values.ToArray(), many.Setup.Replicas[0].Values.ToArray());
        // Each core sums and updates ranges of the parameters (SGD is element-wise): the numbers of a sum and an update on
        // the calling thread, which clipping at a norm no gradient reaches brings back, to the last bit.
        var serial = new Trainer(config with { ClipNorm = 1e30 });
        Assert.True(many.Optimizer.CanStepInParts);
        for (int step = 0; step < 5; step++) serial.TrainStep();
        Assert.Equal(y, serial.Model.Values.ToArray());
        // Evaluation spreads the chunks over the cores and gives one core's numbers to the last bit.
        var check = new Trainer(config with { Threads = 1 });
        many.Model.Values.CopyTo(check.Model.Values);
        Assert.Equal(check.Evaluate(check.Test), many.Evaluate(many.Test));
        Assert.Equal(check.Evaluate(check.Train), many.Evaluate(many.Train));
    }

    [Fact]
    public void A_data_parallel_step_whose_loss_is_not_finite_updates_nothing()
    {
        // The cores sum and update pieces of the gradient as their shards finish; a loss that is not finite refuses them all,
        // and the optimizer's count of steps stays where it was, as on one core.
        var trainer = new Trainer(DataParallelConfig(2) with { Model = "conv:4,k=3,s=2-relu-flatten-linear:16-gelu-linear" });
        for (int i = 0; i < 3; i++) trainer.TrainStep();
        var last = trainer.Model.Parameters[^1];
        last.Value.Span[0] = float.PositiveInfinity;
        float[] before = trainer.Model.Values.ToArray();
        long steps = trainer.Optimizer.StateOf(trainer.Model.Parameters[0].Name).Step;
        Assert.False(double.IsFinite(trainer.TrainStep()));
        Assert.Equal(before, trainer.Model.Values.ToArray());
        Assert.Equal(steps, trainer.Optimizer.StateOf(trainer.Model.Parameters[0].Name).Step);
    }

    [Fact]
    public void A_data_parallel_run_does_not_depend_on_which_core_takes_which_piece_of_the_update()
    {
        // The same run twice, interleaved, with pauses that send the cores' threads back to the pool: whichever pieces of the
        // sum and update each core takes at each step, the numbers are the same to the bit.
        var config = DataParallelConfig(3) with { Model = "conv:4,k=3,s=2-relu-flatten-linear:16-gelu-linear" };
        var a = new Trainer(config);
        var b = new Trainer(config);
        for (int i = 0; i < 8; i++)
        {
            a.TrainStep();
            if (i % 2 == 0) Thread.Sleep(5);   // longer than the threads wait for more work
            b.TrainStep();
        }
        Assert.Equal(a.Model.Values.ToArray(), b.Model.Values.ToArray());
    }

    [Fact]
    public void A_data_parallel_run_resumes_bit_identically_dropout_masks_of_every_replica_included()
    {
        var config = DataParallelConfig(2);
        var straight = new Trainer(config);
        for (int i = 0; i < 20; i++) straight.TrainStep();
        var first = new Trainer(config);
        for (int i = 0; i < 10; i++) first.TrainStep();
        var state = new State.StateDict();
        first.SaveState(state);
        var resumed = new Trainer(config);
        resumed.LoadState(state);
        for (int i = 0; i < 10; i++) resumed.TrainStep();
        Assert.Equal(straight.Model.Values.ToArray(), resumed.Model.Values.ToArray());
        // The replica masks from a stream of its own: resuming with it rewound to the start would differ.
        var blank = new State.StateDict();
        new Trainer(config).SaveState(blank);
        var forgetful = new Trainer(config);
        forgetful.LoadState(state);
        foreach (var (name, rng) in forgetful.Setup.Replicas[0].Generators()) rng.LoadState(blank, $"replica1.{name}");
        for (int i = 0; i < 10; i++) forgetful.TrainStep();
        Assert.NotEqual(straight.Model.Values.ToArray(), forgetful.Model.Values.ToArray());
        // Another number of cores is refused, in both directions.
        Assert.Contains("resume on 2", Assert.Throws<InvalidDataException>(() => new Trainer(config with { Threads = 1 }).LoadState(state)).Message);
        var single = new State.StateDict();
        new Trainer(config with { Threads = 1 }).SaveState(single);
        Assert.Contains("resume on 1", Assert.Throws<InvalidDataException>(() => new Trainer(config).LoadState(single)).Message);
    }

    [Fact]
    public void Data_parallel_training_refuses_batch_normalization_and_nonsense_thread_counts()
    {
        var bn = Assert.Throws<ConfigException>(() => new Trainer(DataParallelConfig(2) with { Model = "conv:4,k=3-batchnorm-relu-flatten-linear" }));
        Assert.Contains("batch normalization", bn.Message);
        Assert.Equal(nameof(TrainingConfig.Threads), bn.Setting);
        Assert.Equal(nameof(TrainingConfig.Threads), Assert.Throws<ConfigException>(() => new Trainer(DataParallelConfig(0))).Setting);
    }

    [Fact]
    public void A_data_parallel_step_allocates_nothing_on_any_thread()
    {
        var trainer = new Trainer(DataParallelConfig(2) with { Steps = 1000 });
        for (int i = 0; i < 20; i++) trainer.TrainStep();
        // The calling thread's allocations and those of the shards run on the thread pool (other tests may be allocating at the same time).
        var (caller, workers) = LeastAllocated(() => trainer.TrainStep(), () => trainer.WorkerAllocatedBytes);
        Assert.Equal(0, caller);
        Assert.Equal(0, workers);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Evaluation_on_several_cores_gives_one_cores_numbers_to_the_bit(int threads)
    {
        // Batch norm (its running statistics, then those recomputed at an EMA's weights) and dropout: the evaluation
        // replicas must normalize by the model's statistics of the moment, at the evaluation point, with dropout off.
        var config = new TrainingConfig
        {
            Data = "mnist",
            Model = threads == 1 ? "conv:4,k=3-batchnorm-relu-maxpool:2-flatten-dropout:0.3-linear" : "conv:4,k=3,s=2-relu-dropout:0.2-flatten-linear:16-gelu-linear",
            Optimizer = "adam",
            Batch = 16,
            Steps = 100,
            Ema = 0.9,
            Threads = threads,
        };
        var one = new Trainer(config);
        var many = new Trainer(config);
        // Three cores, then fewer (a subset of the replicas made), then more than the test set's 20 chunks of 100.
        foreach (int cores in new[] { 3, 2, 25 })
        {
            many.EvaluationThreads = cores;
            for (int i = 0; i < 7; i++)
            {
                one.TrainStep();
                many.TrainStep();
            }
            // Every chunk on the run's cores (one, or a data-parallel run's two), against spread over more.
            Assert.Equal(one.Evaluate(one.Test), many.Evaluate(many.Test));
            Assert.Equal(one.Evaluation(one.Train, one.Test), many.Evaluation(many.Train, many.Test));
        }
        Assert.Equal(one.Model.Values.ToArray(), many.Model.Values.ToArray());   // nor did evaluating change the training
        Assert.True(many.Model.Training);
        Assert.Throws<ArgumentOutOfRangeException>(() => many.EvaluationThreads = 0);
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
