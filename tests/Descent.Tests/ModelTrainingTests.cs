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
    [InlineData(2, 16)]
    [InlineData(3, 16)]
    [InlineData(2, 400)]   // 676 x 400 weights, a parameter the step writes with streaming stores
    public void A_data_parallel_step_is_the_one_core_step_up_to_float_rounding(int threads, int hidden)
    {
        // Without dropout the shards see exactly what one core sees: the updates agree but for the order of the sums.
        var config = DataParallelConfig(threads) with { Model = $"conv:4,k=3,s=2-relu-flatten-linear:{hidden}-gelu-linear" };
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
        // The cores sum and update pieces of the parameters as their shards finish (SGD is element-wise): the numbers of a
        // sum and an update on the calling thread, which clipping at a norm no gradient reaches brings back, to the last bit.
        var serial = new Trainer(config with { ClipNorm = 1e30 });
        Assert.True(many.Optimizer.CanStepInParts);
        Assert.Equal(hidden > 16, many.Model.Parameters.Any(p => p.Length >= Trainer.StreamedElements));
        for (int step = 0; step < 5; step++) serial.TrainStep();
        Assert.Equal(y, serial.Model.Values.ToArray());
        // Evaluation spreads the chunks over the cores and gives one core's numbers to the last bit.
        var check = new Trainer(config with { Threads = 1 });
        many.Model.Values.CopyTo(check.Model.Values);
        Assert.Equal(check.Evaluate(check.Test), many.Evaluate(many.Test));
        Assert.Equal(check.Evaluate(check.Train), many.Evaluate(many.Train));
    }

    [Theory]
    [InlineData(0)]    // the calling thread's shard (examples 0-3 of 13 on three cores)
    [InlineData(12)]   // the last shard's (examples 8-12)
    public void A_data_parallel_step_with_one_shard_not_finite_updates_nothing(int example)
    {
        // One shard's loss is not finite: no core updates any piece, even those the other shards' gradients are final for,
        // and the optimizer's counts stay; the steps after it are those of the sum and update on the calling thread (which
        // clipping at a norm no gradient reaches brings back) that went through the same refusal, to the bit.
        var config = DataParallelConfig(3) with { Model = "conv:4,k=3,s=2-relu-flatten-linear:16-gelu-linear", Optimizer = "adam", Hyperparameters = new() { ["lr"] = 0.01 } };
        var overlapped = new Trainer(config);
        var serial = new Trainer(config with { ClipNorm = 1e30 });
        foreach (var t in new[] { overlapped, serial })
        {
            for (int i = 0; i < 3; i++) t.TrainStep();
            // The next minibatch's rows, peeked at: one of its examples made not finite for one step.
            var peek = new State.StateDict();
            t.Batches.SaveState(peek, "peek");
            var rows = new int[t.Batches.BatchSize];
            t.Batches.NextRows(rows);
            t.Batches.LoadState(peek, "peek");
            int at = rows[example] * t.Train.Dimensions;
            float kept = t.Train.Features[at];
            t.Train.Features[at] = float.NaN;
            float[] before = t.Model.Values.ToArray();
            long steps = t.Step, parameterSteps = t.Optimizer.StateOf(t.Model.Parameters[^1].Name).Step;
            Assert.True(double.IsNaN(t.TrainStep()));
            t.Train.Features[at] = kept;
            Assert.Equal(before, t.Model.Values.ToArray());
            Assert.Equal(steps, t.Step);
            Assert.Equal(parameterSteps, t.Optimizer.StateOf(t.Model.Parameters[^1].Name).Step);
            for (int i = 0; i < 3; i++) Assert.True(double.IsFinite(t.TrainStep()));
        }
        Assert.Equal(serial.Model.Values.ToArray(), overlapped.Model.Values.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_data_parallel_step_gives_the_same_numbers_whichever_core_takes_which_piece_of_the_update(int slow)
    {
        // A transformer (parameters inside residual blocks), three cores, AdamW: shard `slow` pauses after each layer's
        // backward pass, so the other cores take the pieces of the layers it has finished while it runs the layers before
        // them. The numbers are those of the sum and update on the calling thread to the bit.
        var config = new TrainingConfig
        {
            Data = "text",
            Model = "transformer:layers=1,d=8,heads=2,ctx=6",
            Optimizer = "adamw",
            Hyperparameters = new() { ["lr"] = 0.01 },
            Batch = 5,
            Steps = 40,
            Threads = 3,
        };
        var overlapped = new Trainer(config);
        var serial = new Trainer(config with { ClipNorm = 1e30 });
        var shard = slow == 0 ? overlapped.Model : overlapped.Setup.Replicas[slow - 1];
        var report = shard.BackwardDone!;
        int reports = 0;
        shard.BackwardDone = layer =>
        {
            reports++;
            Thread.Sleep(2);
            report(layer);
        };
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(serial.TrainStep(), overlapped.TrainStep());
            Assert.Equal(serial.Model.Values.ToArray(), overlapped.Model.Values.ToArray());
        }
        Assert.True(reports >= 4 * overlapped.Model.Layers.Count / 2, $"{reports} layers reported");
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
