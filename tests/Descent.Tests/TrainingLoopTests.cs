using System.Globalization;
using System.Text.Json;
using Descent.Playground;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>The one training loop, its observers and its definition of divergence; the library's flag-free messages and the CLI's wording of them.</summary>
public class TrainingLoopTests
{
    private static TrainingConfig Moons(int steps = 60) => new() { Data = "moons", N = 200, Hidden = [16], Steps = steps, Batch = 20, Seed = 3, Hyperparameters = new() { ["lr"] = 0.01 } };

    private sealed class Recorder : ITrainingObserver
    {
        public List<long> Steps { get; } = [];
        public List<long> Evaluations { get; } = [];
        public List<long> Checkpoints { get; } = [];

        public void OnStep(TrainingLoop loop, double loss) => Steps.Add(loop.Trainer.Step);

        public void OnEvaluation(TrainingLoop loop, MetricsRow row) => Evaluations.Add(row.Step);

        public void OnCheckpoint(TrainingLoop loop) => Checkpoints.Add(loop.Trainer.Step);
    }

    [Fact]
    public void Sams_second_evaluation_leaves_the_running_statistics_as_the_first_left_them()
    {
        var config = Moons() with { Model = "linear:16-batchnorm-relu-linear", Optimizer = "sgd" };
        var sam = new Trainer(config with { Sam = 0.5 });
        var plain = new Trainer(config);
        for (int step = 0; step < 3; step++)
        {
            sam.TrainStep();
            plain.TrainStep();
            if (step == 0) Assert.Equal(Statistics(plain).Running, Statistics(sam).Running);
        }
        // The first update's statistics come from the same forward pass at the same weights in both; after it the weights differ.
        Assert.Equal(3, Statistics(sam).Count);
        Assert.NotEqual(Statistics(plain).Running, Statistics(sam).Running);

        static (float[] Running, float Count) Statistics(Trainer t)
        {
            var buffers = t.Model.Buffers().ToDictionary(b => b.Name, b => b.Value.ToArray());
            return ([.. buffers.Where(b => !b.Key.EndsWith("num_batches_tracked")).SelectMany(b => b.Value)], buffers.Single(b => b.Key.EndsWith("num_batches_tracked")).Value[0]);
        }
    }

    [Theory]
    [InlineData("sam")]
    [InlineData("lbfgs")]
    public void A_closure_step_whose_first_loss_is_not_finite_changes_nothing(string which)
    {
        var config = which == "sam" ? Moons() with { Optimizer = "sgd", Sam = 0.05, Hyperparameters = new() { ["lr"] = 0.1, ["momentum"] = 0.9 } } : Moons() with { Optimizer = "lbfgs", Hyperparameters = new() };
        var trainer = new Trainer(config);
        trainer.TrainStep();
        trainer.Model.Parameters[^1].Value.Span[0] = float.NaN;   // the output bias: a NaN logit
        var weights = trainer.Model.Values.ToArray();
        var state = OptimizerState(trainer);
        Assert.True(double.IsNaN(trainer.TrainStep()));
        Assert.Equal(1, trainer.Step);
        Assert.Equal(weights, trainer.Model.Values.ToArray());
        Assert.Equal(state, OptimizerState(trainer));

        static byte[] OptimizerState(Trainer t)
        {
            var state = new Descent.State.StateDict();
            t.Optimizer.SaveState(state);
            using var bytes = new MemoryStream();
            state.Write(bytes);
            return bytes.ToArray();
        }
    }

    [Fact]
    public void The_loop_tells_its_observers_of_every_step_evaluation_and_checkpoint()
    {
        var trainer = new Trainer(Moons(55));
        var recorder = new Recorder();
        var log = new MetricsLog();
        var outcome = new TrainingLoop(trainer, recorder, log) { EvalEvery = 20, CheckpointEvery = 25 }.Run();
        Assert.Equal(Enumerable.Range(1, 55).Select(i => (long)i), recorder.Steps);
        Assert.Equal([20L, 40, 55], recorder.Evaluations);        // and the last step
        Assert.Equal([25L, 50, 55], recorder.Checkpoints);
        Assert.Equal(recorder.Evaluations, log.Rows.Select(r => r.Step));
        Assert.Null(outcome.Divergence);
        Assert.Equal(55, outcome.Steps);
        Assert.Same(log.Rows[^1], outcome.Last);
        Assert.InRange(outcome.TrainingSeconds, 0, outcome.Seconds);
    }

    [Fact]
    public void The_loop_is_the_fit_and_stepping_by_hand_gives_the_same_weights()
    {
        var byLoop = new Trainer(Moons());
        var rows = new MetricsLog();
        new TrainingLoop(byLoop, rows) { EvalEvery = 7 }.Run();
        var byHand = new Trainer(Moons());
        while (byHand.Step < byHand.TotalSteps) byHand.TrainStep();
        Assert.Equal(byHand.Model.Values.ToArray(), byLoop.Model.Values.ToArray());   // evaluating changes nothing
        var fit = new Trainer(Moons()).Fit();
        Assert.Equal(rows.Rows[^1].TestLoss, fit.TestLoss);
        Assert.Equal(rows.Rows[^1].TrainAccuracy, fit.TrainAccuracy);
    }

    [Fact]
    public void A_budget_of_steps_a_time_limit_and_a_cancellation_stop_the_loop_where_the_trainer_can_go_on()
    {
        var trainer = new Trainer(Moons());
        var loop = new TrainingLoop(trainer) { EvalEvery = 0, CheckpointEvery = 0 };
        Assert.Null(loop.Run(until: 10).Last);
        Assert.Equal(10, trainer.Step);
        loop.Run(until: 25);
        Assert.Equal(25, trainer.Step);
        Assert.Equal(25, loop.Run(until: 40, timeLimit: TimeSpan.Zero).Steps);   // the limit is looked at before the first step
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => loop.Run(cancel: cancelled.Token));
        loop.Run(until: 1_000_000);                                              // at most the run's length
        Assert.Equal(trainer.TotalSteps, trainer.Step);
    }

    [Fact]
    public void A_loss_above_the_threshold_is_divergence_at_the_step_it_was_seen_and_stops_the_loop()
    {
        var trainer = new Trainer(Moons(100) with { Optimizer = "sgd", Hyperparameters = new() { ["lr"] = 50 } });
        var log = new MetricsLog();
        var outcome = new TrainingLoop(trainer, log) { EvalEvery = 1, DivergenceThreshold = 3 * Math.Log(2) }.Run();
        var d = Assert.IsType<Divergence>(outcome.Divergence);
        Assert.True(double.IsFinite(d.Loss) ? d.Loss > 3 * Math.Log(2) && d.Step == trainer.Step : d.Step == trainer.Step + 1, $"{d}");
        Assert.True(log.Rows.Count == 0 || log.Rows[^1].Step < d.Step, "nothing is evaluated from a diverged step");
        Assert.InRange(d.Step, 2, 99);
    }

    [Fact]
    public void Weights_that_stop_being_finite_are_divergence_even_while_the_loss_is_finite()
    {
        var trainer = new Trainer(Moons(30));
        // An update that leaves a weight NaN (here: set after update 15, an evaluation point) is caught by the weight check
        // before any loss is computed from it. (Poisoned earlier, the next minibatch loss is NaN, since ReLU lets NaN through
        // as PyTorch's does, and the loss check stops the run first.)
        var outcome = new TrainingLoop(trainer, new PoisonAt(15)) { EvalEvery = 5 }.Run();
        var d = Assert.IsType<Divergence>(outcome.Divergence);
        Assert.True(d.Weights);
        Assert.Equal(15, d.Step);
        var early = new TrainingLoop(new Trainer(Moons(30)), new PoisonAt(12)) { EvalEvery = 5 }.Run();
        var seen = Assert.IsType<Divergence>(early.Divergence);
        Assert.False(seen.Weights);
        Assert.Equal(13, seen.Step);                            // the NaN loss of update 13 is not stepped on
        Assert.StartsWith("Some weights stopped being finite in update 15", d.Describe());
    }

    private sealed class PoisonAt(long step) : ITrainingObserver
    {
        public void OnStep(TrainingLoop loop, double loss)
        {
            if (loop.Trainer.Step == step) loop.Trainer.Model.Values[0] = float.NaN;
        }
    }

    [Fact]
    public void Evaluation_is_at_the_optimizers_evaluation_point_and_in_evaluation_mode_and_then_puts_both_back()
    {
        var trainer = new Trainer(Moons() with { Ema = 0.9 });
        new TrainingLoop(trainer) { EvalEvery = 0 }.Run(until: 20);
        float[] training = trainer.Model.Values.ToArray();
        float[]? seen = null;
        trainer.AtEvaluationPoint(() =>
        {
            Assert.False(trainer.Model.Training);
            seen = trainer.Model.Values.ToArray();
        });
        Assert.NotEqual(training, seen);                       // the EMA, not the weights
        Assert.Equal(training, trainer.Model.Values.ToArray()); // exactly back
        Assert.True(trainer.Model.Training);
    }

    [Theory]
    [InlineData("Warmup")]
    [InlineData("Csv")]
    [InlineData("ClipNorm")]
    [InlineData("Sam")]
    [InlineData("Steps")]
    public void Library_messages_name_the_setting_and_no_command_line_flag(string setting)
    {
        var config = setting switch
        {
            "Warmup" => Moons() with { Warmup = 100 },
            "Csv" => Moons() with { Data = "csv" },
            "ClipNorm" => Moons() with { ClipNorm = -1 },
            "Sam" => Moons() with { Sam = double.NaN },
            _ => Moons() with { Steps = 0 },
        };
        var e = Assert.Throws<ConfigException>(() => new Trainer(config));
        Assert.Equal(setting, e.Setting);
        Assert.DoesNotContain("--", e.Message);
    }

    [Fact]
    public void No_exception_message_of_the_library_names_a_command_line_flag()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Descent.slnx"))) root = root.Parent!;
        var flagged = new List<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(root.FullName, "src", "Descent"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
                if (lines[i].Contains("Exception(", StringComparison.Ordinal) && System.Text.RegularExpressions.Regex.IsMatch(lines[i], "\"[^\"]*--[a-z][^\"]*\""))
                    flagged.Add($"{Path.GetFileName(file)}:{i + 1}");
        }
        Assert.True(flagged.Count == 0, "library messages naming flags (the CLI words them): " + string.Join(", ", flagged));
    }

    [Fact]
    public void The_divergence_message_of_the_library_names_no_flag_and_the_command_line_words_its_own()
    {
        var config = Moons(200) with { Optimizer = "sgd", Hyperparameters = new() { ["lr"] = 1 }, Schedule = "exponential:gamma=1.5" };
        var e = Assert.Throws<DivergenceException>(() => new Trainer(config).Fit());
        Assert.Contains("lower the learning rate or clip the gradients' global norm", e.Message);
        Assert.DoesNotContain("--", e.Message);
        string dir = Path.Combine(Path.GetTempPath(), $"descent-loop-{Guid.NewGuid():N}");
        try
        {
            var (code, _, err) = CliRunner.Run("train", "--data", "moons", "--n", "200", "--hidden", "16", "--batch", "20", "--seed", "3", "--steps", "200",
                "-o", "sgd", "--lr", "1", "--schedule", "exponential:gamma=1.5", "--out", dir);
            Assert.Equal(1, code);
            Assert.Contains("lower --lr or clip gradients (--clip-norm).", err);
            Assert.Contains(e.Divergence.Describe("lower --lr or clip gradients (--clip-norm)"), err);   // the same run, the same place
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_command_line_names_its_flag_for_a_setting_the_library_refuses()
    {
        var (code, _, err) = CliRunner.Run("train", "--steps", "5", "--warmup", "10", "--out", Path.Combine(Path.GetTempPath(), $"descent-loop-{Guid.NewGuid():N}"));
        Assert.Equal(2, code);
        Assert.Contains("shorten the warmup or lengthen the run (set with --warmup).", err);
        (code, _, err) = CliRunner.Run("train", "--resume", Path.Combine(Path.GetTempPath(), "no-such-run"));
        Assert.Equal(1, code);
        Assert.Contains("(no config.json); start a new run with --out.", err);
    }

    [Fact]
    public void Every_config_setting_has_the_command_line_flag_the_cli_words_it_with()
    {
        var (code, help, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, code);
        foreach (var p in typeof(TrainingConfig).GetProperties())
        {
            string flag = Descent.Cli.TrainingArguments.Flag(p.Name);
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(help, $@"(^|\s|,){flag}[\s=]", System.Text.RegularExpressions.RegexOptions.Multiline), $"{p.Name}: no {flag} in descent train --help");
        }
    }

    [Fact]
    public void The_help_shows_the_configs_defaults_and_the_cli_parses_to_them()
    {
        var d = new TrainingConfig();
        var (code, help, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, code);
        string I(double v) => v.ToString(CultureInfo.InvariantCulture);
        var lines = help.Split('\n');
        string Entry(string flag)   // an option's line with its wrapped continuation lines
        {
            int i = Array.FindIndex(lines, l => l.TrimStart().StartsWith(flag + " ", StringComparison.Ordinal) || l.TrimStart().StartsWith("-o, " + flag + " ", StringComparison.Ordinal));
            Assert.True(i >= 0, flag);
            var entry = new List<string> { lines[i] };
            for (int j = i + 1; j < lines.Length && lines[j].Length > 0 && !lines[j].TrimStart().StartsWith('-'); j++) entry.Add(lines[j]);
            return System.Text.RegularExpressions.Regex.Replace(string.Join(" ", entry), @"\s+", " ");
        }
        foreach (var (flag, shown) in new (string, string)[]
        {
            ("--n", I(d.N)), ("--noise", I(d.Noise)), ("--flip", I(d.Flip)), ("--stretch", $"{I(d.StretchX)},{I(d.StretchY)}"), ("--hidden", string.Join(',', d.Hidden)),
            ("--init", d.Init), ("--batch", I(d.Batch)), ("--seed", I(d.Seed)), ("--schedule", d.Schedule), ("--warmup", I(d.Warmup)), ("--steps", I(d.Steps)),
            ("--eval-every", I(d.EvalEvery)), ("--checkpoint-every", I(d.CheckpointEvery)), ("--accumulate", I(d.Accumulate)), ("--lookahead-alpha", I(d.LookaheadAlpha)),
            ("--data", d.Data), ("--activation", d.Activation), ("--loss", d.Loss), ("--optimizer", d.Optimizer),
        })
            Assert.Contains($"[default: {shown}]", Entry(flag));

        // Nothing given: the run's config.json is the config's defaults (its schedule resolved as the trainer resolves it).
        string dir = Path.Combine(Path.GetTempPath(), $"descent-defaults-{Guid.NewGuid():N}");
        try
        {
            Assert.Equal(0, CliRunner.Run("train", "--out", dir).Code);
            Assert.Equal(JsonSerializer.Serialize(new Trainer(d).Config), JsonSerializer.Serialize(Trainer.LoadConfig(dir)));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_playground_draws_the_decision_boundary_at_the_optimizers_evaluation_point()
    {
        using var sessions = new TrainingSessions();
        var request = new TrainStartRequest(100, 0.1, 0, null, [8], "tanh", "schedule-free-adamw",
            new() { ["lr"] = JsonSerializer.SerializeToElement(0.05) }, null, 10, 7);
        var start = JsonSerializer.SerializeToElement(sessions.Start(request));
        string id = start.GetProperty("id").GetString()!;
        var state = JsonSerializer.SerializeToElement(sessions.Step(id, 50, CancellationToken.None));
        double[] probability = [.. state.GetProperty("probability").EnumerateArray().Select(p => p.GetDouble())];
        float[] view = [.. state.GetProperty("view").EnumerateArray().Select(v => v.GetSingle())];

        // The same session by hand: the same config, 50 steps, then the grid at x (the average) and at y (where gradients are taken).
        var trainer = new Trainer(PlaygroundSession("schedule-free-adamw"));
        for (int i = 0; i < 50; i++) trainer.TrainStep();
        double[] atY = Boundary(trainer, view);
        double[] atX = [];
        trainer.AtEvaluationPoint(() => atX = Boundary(trainer, view));
        Assert.Equal(atX, probability);
        Assert.NotEqual(atY, probability);
    }

    /// <summary>The config a playground session of the tests above (and of <see cref="PlaygroundApiTests"/>) trains with: 100 moons, one tanh layer of 8, lr 0.05, batch 10, seed 7, no step limit.</summary>
    internal static TrainingConfig PlaygroundSession(string optimizer) => new()
    {
        Data = "moons",
        N = 100,
        Noise = 0.1,
        Hidden = [8],
        Activation = "tanh",
        Optimizer = optimizer,
        Hyperparameters = new() { ["lr"] = 0.05 },
        Batch = 10,
        Steps = 1_000_000_000,
        Seed = 7,
    };

    /// <summary>The probability of class 1 on the playground's grid over <paramref name="view"/>, at the model's current weights.</summary>
    internal static double[] Boundary(Trainer trainer, float[] view)
    {
        int g = TrainingSessions.Grid;
        float[] grid = new float[2 * g * g];
        for (int k = 0; k < g * g; k++)
        {
            grid[2 * k] = view[0] + (view[1] - view[0]) * (k % g) / (g - 1);
            grid[2 * k + 1] = view[3] - (view[3] - view[2]) * (k / g) / (g - 1);
        }
        var p = new double[g * g];
        for (int start = 0; start < g * g; start += 1000)
        {
            var outputs = trainer.Model.Forward(grid.AsSpan(2 * start, 2000), 1000);
            for (int i = 0; i < 1000; i++) p[start + i] = Math.Round(1 / (1 + Math.Exp(outputs[2 * i] - outputs[2 * i + 1])), 4);
        }
        return p;
    }

    [Fact]
    public void The_playgrounds_wrappers_are_the_trainers_and_its_boundary_and_metrics_come_from_their_evaluation_point()
    {
        // SAM around Lookahead around AdamW with an EMA, as descent train composes them.
        using var sessions = new TrainingSessions();
        var request = new TrainStartRequest(100, 0.1, 0.05, null, [8], "tanh", "adamw",
            new() { ["lr"] = JsonSerializer.SerializeToElement(0.05) }, null, 10, 7,
            new TrainWrappers(Sam: 0.05, Lookahead: 5, LookaheadAlpha: 0.5, Ema: 0.9, EmaWarmup: true));
        var start = JsonSerializer.SerializeToElement(sessions.Start(request));
        var state = JsonSerializer.SerializeToElement(sessions.Step(start.GetProperty("id").GetString()!, 40, CancellationToken.None));
        Assert.Equal(40, state.GetProperty("step").GetInt64());
        double[] probability = [.. state.GetProperty("probability").EnumerateArray().Select(p => p.GetDouble())];
        float[] view = [.. state.GetProperty("view").EnumerateArray().Select(v => v.GetSingle())];

        var trainer = new Trainer(PlaygroundSession("adamw") with { Flip = 0.05, Sam = 0.05, LookaheadK = 5, LookaheadAlpha = 0.5, Ema = 0.9, EmaWarmup = true });
        Assert.Equal(["sam", "lookahead", "ema"], trainer.Optimizer.Wrappers.Select(w => w.Name));
        for (int i = 0; i < 40; i++) trainer.TrainStep();
        var (trainLoss, trainAccuracy) = trainer.Evaluate(trainer.Train);
        var (testLoss, _) = trainer.Evaluate(trainer.Test);
        Assert.Equal(trainLoss, state.GetProperty("trainLoss").GetDouble());
        Assert.Equal(trainAccuracy, state.GetProperty("trainAccuracy").GetDouble());
        Assert.Equal(testLoss, state.GetProperty("testLoss").GetDouble());
        double[] atEma = [];
        trainer.AtEvaluationPoint(() => atEma = Boundary(trainer, view));
        Assert.Equal(atEma, probability);
        Assert.NotEqual(Boundary(trainer, view), probability); // the raw training weights draw another boundary
    }
}
