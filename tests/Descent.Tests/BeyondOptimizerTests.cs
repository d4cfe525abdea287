using System.Text.Json;
using Descent.Landscapes;
using Descent.Nn;
using Descent.Optim;
using Descent.State;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// The optimizers beyond torch.optim (schedule-free SGD and AdamW, ADOPT, LAMB, LARS) against their torch-operation
/// transcriptions in float64 (tools/reference/generate_beyond.py), through the library and through <c>descent trajectory</c>.
/// </summary>
public class BeyondOptimizerTests
{
    private const double Tolerance = 1e-10;

    public static IEnumerable<object[]> Cases =>
        Enumerable.Range(0, TorchReference.Beyond.GetProperty("trajectories").GetArrayLength()).Select(i => new object[] { i });

    private static JsonElement Case(int index) => TorchReference.Beyond.GetProperty("trajectories")[index];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Trajectory_matches_reference(int index)
    {
        var c = Case(index);
        var path = Trajectory.Run(Landscape.Get(c.GetProperty("function").GetString()!), c.GetProperty("optimizer").GetString()!,
            TorchReference.Options(c), TorchReference.Start(c), c.GetProperty("steps").GetInt32());
        OptimizerTrajectoryTests.AssertSamePath(c, [.. path.Select(p => new[] { p.X, p.Y, p.Loss })], Tolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cli_trajectory_matches_reference(int index)
    {
        var c = Case(index);
        OptimizerTrajectoryTests.AssertSamePath(c, OptimizerTrajectoryTests.RunCli(c), Tolerance);
    }

    public static IEnumerable<object[]> ScheduleFreeCases => Cases.Where(i => Case((int)i[0]).TryGetProperty("x", out _));

    [Theory]
    [MemberData(nameof(ScheduleFreeCases))]
    public void Evaluation_point_x_matches_reference_and_leaves_training_untouched(int index)
    {
        var c = Case(index);
        var landscape = Landscape.Get(c.GetProperty("function").GetString()!);
        var (x0, y0) = TorchReference.Start(c);
        var xy = Parameter<double>.FromValues(Trajectory.ParameterName, x0, y0);
        var opt = Optimizers.Create(c.GetProperty("optimizer").GetString()!, [xy], TorchReference.Options(c));
        var expectedX = c.GetProperty("x");
        var path = TorchReference.Path(c);
        for (int k = 0; k <= c.GetProperty("steps").GetInt32(); k++)
        {
            var v = xy.Value.Span;
            double[] y = [v[0], v[1]];
            // The path's y, then x at this step; Eval and Train in between must not change y by a bit.
            Assert.True(TorchReference.RelativeError(y[0], path[k][0]) <= Tolerance, $"step {k}: y");
            opt.Eval();
            for (int j = 0; j < 2; j++)
            {
                double expected = expectedX[k][j].GetDouble();
                Assert.True(TorchReference.RelativeError(v[j], expected) <= Tolerance, $"{TorchReference.Describe(c)}: step {k}, x[{j}] = {v[j]:R}, reference {expected:R}");
            }
            opt.Train();
            Assert.Equal(y, new[] { v[0], v[1] });
            landscape.Evaluate(v[0], v[1], out double gx, out double gy);
            var g = xy.Grad.Span;
            (g[0], g[1]) = (gx, gy);
            opt.Step();
        }
    }

    [Fact]
    public void Schedule_free_refuses_to_step_or_save_in_evaluation_mode()
    {
        var p = Parameter<double>.FromValues("w", 1.0, 2.0);
        var opt = Optimizers.Create("schedule-free-adamw", [p]);
        p.Grad.Span.Fill(0.5);
        opt.Step();
        opt.Eval();
        var step = Assert.Throws<InvalidOperationException>(() => opt.Step());
        Assert.Contains("call Train()", step.Message);
        var save = Assert.Throws<InvalidOperationException>(() => opt.SaveState(new StateDict()));
        Assert.Contains("call Train()", save.Message);
        opt.Train();
        opt.Step();
    }

    public static IEnumerable<object[]> Names => new[] { "schedule-free-sgd", "schedule-free-adamw", "adopt", "lamb", "lars", "prodigy", "soap", "shampoo" }.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Names))]
    public void Resuming_from_saved_state_is_bit_identical(string name)
    {
        // Two tensors, so the trust ratios are per tensor; a quadratic with a coupling term gives every step a new gradient.
        static void Gradient(Parameter<double> a, Parameter<double> b)
        {
            var x = a.Value.Span;
            var y = b.Value.Span;
            for (int i = 0; i < x.Length; i++) a.Grad.Span[i] = 2 * x[i] - 0.5 * y[i % y.Length] + 0.3;
            for (int i = 0; i < y.Length; i++) b.Grad.Span[i] = 4 * y[i] - 0.5 * x[i] - 1;
        }
        static (Parameter<double>, Parameter<double>) Fresh() =>
            (Parameter<double>.FromValues("a", 1.0, -2.0, 0.5, 3.0, 0.25), Parameter<double>.FromValues("b", -1.0, 0.75, 2.0));
        OptimizerOptions Options()
        {
            var o = Optimizers.DefaultOptions(name);
            o.LearningRate = name is "lars" or "prodigy" ? 0.5 : name is "schedule-free-sgd" ? 0.05 : 0.02;
            return o;
        }

        var (a, b) = Fresh();
        var straight = Optimizers.Create(name, [a, b], Options());
        for (int t = 0; t < 30; t++) { Gradient(a, b); straight.Step(); }

        var (c, d) = Fresh();
        var first = Optimizers.Create(name, [c, d], Options());
        for (int t = 0; t < 12; t++) { Gradient(c, d); first.Step(); }
        var state = new StateDict();
        first.SaveState(state);
        var (e, f) = (Parameter<double>.FromValues("a", c.Value.ToArray()), Parameter<double>.FromValues("b", d.Value.ToArray()));
        var resumed = Optimizers.Create(name, [e, f], Options());
        resumed.LoadState(state);
        for (int t = 12; t < 30; t++) { Gradient(e, f); resumed.Step(); }

        Assert.Equal(a.Value.ToArray(), e.Value.ToArray());
        Assert.Equal(b.Value.ToArray(), f.Value.ToArray());
    }

    [Fact]
    public void Lamb_and_lars_scale_each_tensor_by_its_own_trust_ratio()
    {
        // Zero momentum LARS with weight decay 0: each tensor moves by lr * tc * ||p|| along the unit gradient direction.
        var a = Parameter<double>.FromValues("a", 3.0, 4.0);          // ||a|| = 5
        var b = Parameter<double>.FromValues("b", 0.6, 0.8);          // ||b|| = 1
        var opt = Optimizers.Create("lars", [a, b], new LarsOptions { LearningRate = 1, TrustCoefficient = 0.1, Momentum = 0 });
        a.Grad.Span[0] = 10; a.Grad.Span[1] = 0;
        b.Grad.Span[0] = 0; b.Grad.Span[1] = -2;
        opt.Step();
        Assert.Equal(3.0 - 0.5, a.Value.Span[0], 15);
        Assert.Equal(4.0, a.Value.Span[1], 15);
        Assert.Equal(0.8 + 0.1, b.Value.Span[1], 15);
    }
}

/// <summary>The trainer with a schedule-free optimizer: gradients at y, evaluation and the exported model at x, resumption exact.</summary>
public sealed class ScheduleFreeTrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-schedule-free").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static Training.TrainingConfig Config(long steps) => new()
    {
        Optimizer = "schedule-free-adamw",
        Hyperparameters = new() { ["lr"] = 0.01 },
        Hidden = [16],
        Steps = steps,
        EvalEvery = 50,
        CheckpointEvery = 50,
    };

    [Fact]
    public void The_trainer_evaluates_and_exports_the_average_x_and_keeps_training_at_y()
    {
        var trainer = new Training.Trainer(Config(200));
        var summary = trainer.Run(Path.Combine(_dir, "run"));
        var opt = trainer.Optimizer;
        float beta = (float)((ScheduleFreeAdamWOptions)opt.Groups[0].Options).Beta1;
        var saved = SafeTensors.Load(Path.Combine(_dir, "run", "model.safetensors"));
        bool differs = false;
        foreach (var p in trainer.Model.Parameters)
        {
            var y = p.Value.Span;
            var z = opt.StateOf(p.Name).Peek(0)!;
            var x = saved[p.Name].Data;
            for (int i = 0; i < y.Length; i++)
            {
                Assert.Equal(y[i] + (1 - 1 / beta) * (z[i] - y[i]), x[i], 5e-6f);
                differs |= x[i] != y[i];
            }
        }
        Assert.True(differs, "x and y should differ after 200 steps");
        Assert.True(opt.Training);
        // The reported test loss is the loss at x: evaluating the trainer again (at x) gives the same number.
        Assert.Equal(summary.TestLoss, trainer.Evaluate(trainer.Test).Loss, 12);
    }

    [Fact]
    public void A_resumed_schedule_free_run_ends_bit_identical()
    {
        var straight = new Training.Trainer(Config(200));
        straight.Run(Path.Combine(_dir, "straight"));
        string cut = Path.Combine(_dir, "cut");
        new Training.Trainer(Config(100)).Run(cut);
        var resumed = new Training.Trainer(Config(200));
        resumed.Run(cut, resume: true);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "straight", "model.safetensors")), File.ReadAllBytes(Path.Combine(cut, "model.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(_dir, "straight", "metrics.csv")), File.ReadAllText(Path.Combine(cut, "metrics.csv")));
    }
}
