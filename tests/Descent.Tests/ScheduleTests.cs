using Descent.Schedules;
using Descent.State;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

public class ScheduleTests
{
    public static IEnumerable<object[]> Cases => TorchReference.Indices("schedules");

    [Theory]
    [InlineData("step:gamma=-1", "gamma=-1 must be at least 0")]
    [InlineData("exponential:gamma=-0.5", "gamma=-0.5 must be at least 0")]
    [InlineData("cosine:final=-1", "final=-1 must be at least 0")]
    [InlineData("polynomial:final=-0.5", "final=-0.5 must be at least 0")]
    [InlineData("wsd:final=-1", "final=-1 must be at least 0")]
    [InlineData("onecycle:div=0", "div=0 must be above 0")]
    [InlineData("onecycle:final-div=-1", "final-div=-1 must be above 0")]
    [InlineData("cyclic:up=2.5", "up=2.5 must be a whole number (of at most 10^15)")]
    [InlineData("step:size=1e30", "size=1e30 must be a whole number (of at most 10^15)")]
    public void Schedules_that_would_make_the_rate_negative_or_infinite_are_refused_before_the_run(string spec, string message)
    {
        // As the run's configuration is resolved, not at the update that would meet the value.
        var e = Assert.Throws<ArgumentException>(() => ScheduleSpec.Resolve(spec, 1000));
        Assert.Contains($"Invalid schedule '{spec}': {message}", e.Message);
        Assert.Throws<ArgumentException>(() => ScheduleSpec.Parse(spec, 0.1, 1000));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Schedule_matches_torch_lr_scheduler(int index)
    {
        var c = TorchReference.Root.GetProperty("schedules")[index];
        // Bit for bit: torch computes most schedules step by step (each value from the one before), and so does Descent.
        // LinearLR on its own (a warmup into a constant) holds the end of its ramp, an ulp from lr where Warmup reaches lr.
        AssertValues(TorchReference.Schedule(c.GetProperty("spec")), c, c.GetProperty("spec").ToString(),
            c.GetProperty("spec").TryGetProperty("exact_updates", out var until) ? until.GetInt64() : long.MaxValue);
    }

    public static IEnumerable<object[]> OneCycleMomentumCases => TorchReference.Indices("one_cycle_momentum");

    [Theory]
    [MemberData(nameof(OneCycleMomentumCases))]
    public void Onecycle_moves_momentum_or_beta1_as_torchs_OneCycleLR_does_by_default(int index)
    {
        // torch 1.13's OneCycleLR(max_lr=lr, total_steps=40) with cycle_momentum=True: SGD's momentum (0 when built) and
        // Adam's beta1 go from 0.95 down to 0.85 while the rate rises and back; both compared bit for bit, update by update.
        var c = TorchReference.Root.GetProperty("one_cycle_momentum")[index];
        FollowsTorch(c, new() { ["lr"] = c.GetProperty("lr").GetDouble() }, "onecycle");
    }

    /// <summary>Trains under <paramref name="schedule"/> and compares every update's rate and momentum (or beta1) with torch's in <paramref name="c"/>, bit for bit.</summary>
    private static void FollowsTorch(System.Text.Json.JsonElement c, Dictionary<string, double> hyperparameters, string schedule)
    {
        string hyperparameter = c.GetProperty("hyperparameter").GetString()!;
        var trainer = new Trainer(new TrainingConfig
        {
            Hidden = [4],
            Optimizer = c.GetProperty("optimizer").GetString()!,
            Hyperparameters = hyperparameters,
            Steps = c.GetProperty("steps").GetInt64(),
            EvalEvery = 1000,
            Schedule = schedule,
        });
        var lrs = c.GetProperty("lrs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var momenta = c.GetProperty("momenta").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        for (int k = 0; k < lrs.Length; k++)
        {
            trainer.TrainStep();
            var options = trainer.Optimizer.Groups[0].Options;
            Assert.True(lrs[k] == options.LearningRate, $"{schedule}: update {k + 1}: lr {options.LearningRate:R}, torch {lrs[k]:R}");
            Assert.True(momenta[k] == options.Get(hyperparameter), $"{schedule}: update {k + 1}: {hyperparameter} {options.Get(hyperparameter):R}, torch {momenta[k]:R}");
        }
    }

    public static IEnumerable<object[]> CyclicCases => TorchReference.Indices("cyclic");

    [Theory]
    [MemberData(nameof(CyclicCases))]
    public void Cyclic_moves_the_rate_and_momentum_as_torchs_CyclicLR(int index)
    {
        // torch 1.13's CyclicLR(base_lr=lr/div, max_lr=lr, ...) in its three modes, SGD's momentum cycled against the rate
        // (switched on from 0 in the first case), Adam's left alone: every update's rate and momentum, bit for bit.
        var c = TorchReference.Root.GetProperty("cyclic")[index];
        FollowsTorch(c, c.GetProperty("options").EnumerateObject().ToDictionary(o => o.Name, o => o.Value.GetDouble()), c.GetProperty("schedule").GetString()!);
    }

    [Fact]
    public void Cyclic_resolves_every_key_and_refuses_an_unknown_mode()
    {
        Assert.Equal("cyclic:div=4,up=100,down=100,mode=triangular,gamma=1,cycle-momentum=1,base-momentum=0.8,max-momentum=0.9", ScheduleSpec.Resolve("cyclic", 800));
        Assert.Equal("cyclic:div=4,up=30,down=7,mode=exp_range,gamma=0.99,cycle-momentum=0,base-momentum=0.8,max-momentum=0.9",
            ScheduleSpec.Resolve("cyclic:up=30,down=7,mode=EXP_RANGE,gamma=0.99,cycle-momentum=0", 800));
        var e = Assert.Throws<ArgumentException>(() => ScheduleSpec.Parse("cyclic:mode=sawtooth", 0.1, 100));
        Assert.Equal("Invalid schedule 'cyclic:mode=sawtooth': mode=sawtooth must be one of triangular, triangular2, exp_range.", e.Message);
        Assert.Contains("step_size_up: 0", Assert.Throws<ArgumentException>(() => ScheduleSpec.Parse("cyclic:up=0", 0.1, 100)).Message);
        Assert.Contains("gamma=-1 must be at least 0", Assert.Throws<ArgumentException>(() => ScheduleSpec.Parse("cyclic:gamma=-1", 0.1, 100)).Message);
        // Momentum cycles the other way: at the bottom of the rate, max-momentum; at its top, base-momentum.
        var momentum = ScheduleSpec.Momentum("cyclic:up=3,down=2", 100)!;
        Assert.Equal([0.9, 0.8, 0.9], [momentum.At(1), Math.Round(momentum.At(4), 15), momentum.At(6)]);
    }

    [Fact]
    public void Onecycle_and_plateau_take_torchs_other_settings_as_keys()
    {
        // The command line's keys reach the same values as torch's OneCycleLR(anneal_strategy, three_phase) and
        // ReduceLROnPlateau(threshold_mode='abs'): the reference cases, bit for bit, through the spec.
        var schedules = TorchReference.Root.GetProperty("schedules").EnumerateArray().ToArray();
        foreach (var c in schedules.Where(c => c.GetProperty("spec").GetProperty("kind").GetString() == "one_cycle"
            && !c.GetProperty("spec").TryGetProperty("pct_start", out _)))
        {
            var spec = c.GetProperty("spec");
            string text = $"onecycle:steps={spec.GetProperty("total").GetInt64()},anneal={spec.GetProperty("anneal").GetString()},three-phase={(spec.GetProperty("three_phase").GetBoolean() ? 1 : 0)}";
            AssertValues(ScheduleSpec.Parse(text, spec.GetProperty("peak").GetDouble(), 1000), c, text);
        }
        var plateau = schedules.Single(c => c.GetProperty("spec").GetProperty("kind").GetString() == "plateau"
            && c.GetProperty("spec").GetProperty("mode").GetString() == "min" && c.GetProperty("spec").GetProperty("threshold_mode").GetString() == "abs");
        AssertValues(ScheduleSpec.Parse("plateau:factor=0.5,patience=1,threshold=0.05,threshold-mode=abs", plateau.GetProperty("spec").GetProperty("initial").GetDouble(), 1000),
            plateau, "plateau");
        Assert.Equal("onecycle:pct=0.3,div=25,final-div=10000,steps=800,anneal=linear,three-phase=1,cycle-momentum=1,base-momentum=0.85,max-momentum=0.95",
            ScheduleSpec.Resolve("onecycle:anneal=LINEAR,three-phase=1", 800));
        Assert.Equal("plateau:factor=0.1,patience=10,threshold=0.0001,threshold-mode=abs,cooldown=0,min=0,eps=1E-08", ScheduleSpec.Resolve("plateau:threshold-mode=abs", 800));
        Assert.Equal("Invalid schedule 'onecycle:three-phase=2': three-phase=2 must be 0 or 1 (1 is torch's three_phase=True).",
            Assert.Throws<ArgumentException>(() => ScheduleSpec.Parse("onecycle:three-phase=2", 0.1, 100)).Message);
        Assert.Equal("Invalid schedule 'plateau:threshold-mode=relative': threshold-mode=relative must be one of rel, abs.",
            Assert.Throws<ArgumentException>(() => ScheduleSpec.Parse("plateau:threshold-mode=relative", 0.1, 100)).Message);
        // The momentum cycle follows the same phases and interpolation.
        var momentum = ScheduleSpec.Momentum("onecycle:steps=50,anneal=linear,three-phase=1", 1000)!;
        var expected = new OneCycle(0.95, 0.85, 0.95, 50, 0.3, Anneal.Linear, threePhase: true);
        for (long t = 1; t <= 50; t++) Assert.Equal(expected.At(t), momentum.At(t));
    }

    /// <summary>
    /// Asserts that <paramref name="schedule"/> gives the reference case's values, observing its metrics as it goes: bit
    /// for bit for the first <paramref name="exactUpdates"/> updates, within an ulp after them.
    /// </summary>
    private static void AssertValues(Schedule schedule, System.Text.Json.JsonElement c, string name, long exactUpdates = long.MaxValue)
    {
        var expected = c.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        double[]? metrics = c.GetProperty("metrics").ValueKind == System.Text.Json.JsonValueKind.Array
            ? [.. c.GetProperty("metrics").EnumerateArray().Select(v => v.GetDouble())]
            : null;
        for (int k = 0; k < expected.Length; k++)
        {
            double actual = schedule.At(k + 1);
            Assert.True(k < exactUpdates ? actual == expected[k] : Math.Abs(actual - expected[k]) <= Math.BitIncrement(expected[k]) - expected[k],
                $"{name}: update {k + 1}: {actual:R}, torch {expected[k]:R}");
            if (metrics is not null) schedule.Observe(k + 1, metrics[k]);
        }
    }

    [Fact]
    public void Parameter_groups_follow_torchs_scheduler_from_their_own_rates_to_the_shared_floor()
    {
        // torch 1.13: SGD with groups at lr 0.1 and 0.01 under one CosineAnnealingLR(40, eta_min=0.001); both groups' rates, bit for bit.
        var c = TorchReference.Root.GetProperty("group_schedules")[0];
        var trainer = new Trainer(new TrainingConfig
        {
            Hidden = [4],
            Optimizer = "sgd",
            Hyperparameters = new() { ["lr"] = c.GetProperty("lr").GetDouble(), ["momentum"] = 0.9 },
            ParameterGroups = [new() { Pattern = "*.bias", Hyperparameters = new() { ["lr"] = c.GetProperty("group_lr").GetDouble() } }],
            Steps = c.GetProperty("steps").GetInt64(),
            EvalEvery = 1000,
            Schedule = c.GetProperty("schedule").GetString()!,
        });
        var rates = c.GetProperty("rates");
        for (int k = 0; k < c.GetProperty("steps").GetInt64(); k++)
        {
            trainer.TrainStep();
            for (int g = 0; g < 2; g++) Assert.Equal(rates[g][k].GetDouble(), trainer.Optimizer.Groups[g].Options.LearningRate);
        }
    }

    [Theory]
    [InlineData("onecycle:pct=0.3,div=25,final-div=10000,steps=40", "onecycle:pct=0.3,div=25,final-div=10000,steps=40,cycle-momentum=0")]
    [InlineData("onecycle:pct=0.3,div=25,final-div=10000,steps=40,cycle-momentum=1,base-momentum=0.85,max-momentum=0.95", "onecycle:pct=0.3,div=25,final-div=10000,steps=40,cycle-momentum=1,base-momentum=0.85,max-momentum=0.95")]
    [InlineData("cosine:final=0,steps=40", "cosine:final=0,steps=40")]
    [InlineData("onecycle", "onecycle")]
    public void A_onecycle_schedule_saved_by_an_earlier_version_keeps_its_momentum(string saved, string read) =>
        Assert.Equal(read, ScheduleSpec.FromEarlierVersion(saved));

    [Fact]
    public void Onecycle_holds_the_top_momentum_through_a_warmup_and_can_leave_momentum_alone()
    {
        var config = new TrainingConfig { Hidden = [4], Optimizer = "sgd", Hyperparameters = new() { ["lr"] = 0.1, ["momentum"] = 0.5 }, Steps = 30, Warmup = 5, EvalEvery = 1000, Schedule = "onecycle" };
        var trainer = new Trainer(config);
        var cycle = new OneCycle(0.95, 0.85, 0.95, 25);
        for (int t = 1; t <= 30; t++)
        {
            trainer.TrainStep();
            Assert.Equal(t <= 5 ? 0.95 : cycle.At(t - 5), trainer.Optimizer.Groups[0].Options.Get("momentum"));
        }
        trainer = new Trainer(config with { Schedule = "onecycle:cycle-momentum=0" });
        for (int t = 1; t <= 30; t++) trainer.TrainStep();
        Assert.Equal(0.5, trainer.Optimizer.Groups[0].Options.Get("momentum"));
        Assert.Equal("onecycle:pct=0.3,div=25,final-div=10000,steps=25,anneal=cos,three-phase=0,cycle-momentum=1,base-momentum=0.85,max-momentum=0.95", trainer.Config.Schedule.Replace("cycle-momentum=0", "cycle-momentum=1"));
    }

    [Theory]
    [InlineData("adagrad", "onecycle", "onecycle moves momentum against the rate, as torch's OneCycleLR does by default (cycle_momentum=True), but adagrad has neither momentum nor beta1: add cycle-momentum=0 to the schedule")]
    [InlineData("rprop", "cyclic:up=3", "cyclic moves momentum against the rate, as torch's CyclicLR does by default (cycle_momentum=True), but rprop has neither momentum nor beta1: add cycle-momentum=0 to the schedule, e.g. cyclic:cycle-momentum=0.")]
    [InlineData("sgd", "onecycle:cycle-momentum=2", "Invalid schedule 'onecycle:cycle-momentum=2': cycle-momentum=2 must be 0 or 1")]
    [InlineData("sgd", "onecycle:base-momentum=-0.1", "base-momentum=-0.1 must be in [0, 1)")]
    [InlineData("adam", "onecycle:max-momentum=1", "max-momentum=1 must be in [0, 1)")]
    public void Onecycle_momentum_settings_that_cannot_work_are_refused(string optimizer, string schedule, string message)
    {
        var config = new TrainingConfig { Hidden = [4], Optimizer = optimizer, Steps = 30, Schedule = schedule };
        var e = Assert.ThrowsAny<ArgumentException>(() => new Trainer(config));
        Assert.Contains(message, e.Message);
        new Trainer(config with { Optimizer = "adagrad", Schedule = "onecycle:cycle-momentum=0" }).TrainStep();
    }

    [Fact]
    public void PowerLaw_counts_t_from_one_at_the_first_update()
    {
        var s = new PowerLaw(0.15, 5e4, 1);
        Assert.Equal(0.15 / (1 + 1 / 5e4), s.At(1));
        Assert.Equal(0.15 / 2, s.At(50_000), 15);
        Assert.Equal(0.15 / Math.Pow(1 + 1e6 / 5e4, 0.5), new PowerLaw(0.15, 5e4, 0.5).At(1_000_000), 15);
        Assert.Equal(0.15, new PowerLaw(0.15, 10, 0).At(12345));
    }

    [Fact]
    public void Formulas_hold_at_their_anchor_points()
    {
        Assert.Equal(1.0, new CosineDecay(1, 10, 0.1).At(1));
        Assert.Equal(0.1, new CosineDecay(1, 10, 0.1).At(11), 15);
        Assert.Equal(0.55, new CosineDecay(1, 10, 0.1).At(6), 15);
        Assert.Equal(0.1, new CosineDecay(1, 10, 0.1).At(500), 15);
        Assert.Equal(2.0, new Linear(0, 2, 4).At(5));
        Assert.Equal(0.5, new Linear(0, 2, 4).At(2));
        Assert.Equal(0.25, new StepDecay(1, 3, 0.5).At(7));
        Assert.Equal(0.5, new StepDecay(1, 3, 0.5).At(6));
        var cycle = OneCycle.LearningRate(1.0, 100);
        Assert.Equal(0.04, cycle.At(1), 15);
        Assert.Equal(1.0, cycle.At(30), 15);
        Assert.Equal(0.04 / 1e4, cycle.At(100), 15);
        Assert.Equal(0.04 / 1e4, cycle.At(1000), 15);
    }

    [Fact]
    public void Warmup_then_cosine_rises_linearly_then_decays()
    {
        var s = new Warmup(4, new CosineDecay(1.0, 8));
        Assert.Equal([0, 0.25, 0.5, 0.75, 1.0], Enumerable.Range(1, 5).Select(t => s.At(t)));
        Assert.True(s.At(6) < 1);
        Assert.Equal(0, s.At(13));
    }

    [Fact]
    public void ReduceOnPlateau_inside_a_sequence_receives_metrics_only_while_active()
    {
        var plateau = new ReduceOnPlateau(0.1, factor: 0.5, patience: 0);
        var s = new Sequence([new Constant(0.2), plateau], [3]);
        s.Observe(1, 5); // goes to the constant part: ignored
        s.Observe(2, 5);
        Assert.Equal(0.2, s.At(3));
        Assert.Equal(0.1, s.At(4));
        s.Observe(4, 1.0);
        s.Observe(5, 2.0); // no improvement, patience 0: halve
        Assert.Equal(0.05, s.At(6));
    }

    [Fact]
    public void Plateau_state_survives_save_and_load()
    {
        var a = new Sequence([new Linear(0, 1, 2), new ReduceOnPlateau(1, factor: 0.5, patience: 1)], [2]);
        double[] metrics = [3, 2, 2, 2, 1, 1, 1, 1];
        for (int t = 1; t <= 5; t++) a.Observe(t, metrics[t - 1]);
        var state = new StateDict();
        a.SaveState(state, "s");
        var b = new Sequence([new Linear(0, 1, 2), new ReduceOnPlateau(1, factor: 0.5, patience: 1)], [2]);
        b.LoadState(state, "s");
        for (int t = 6; t <= 8; t++)
        {
            a.Observe(t, metrics[t - 1]);
            b.Observe(t, metrics[t - 1]);
            Assert.Equal(a.At(t + 1), b.At(t + 1));
        }
        Assert.Equal(0.5, b.At(9));
    }

    [Fact]
    public void Invalid_arguments_name_the_argument()
    {
        Assert.Contains("tau", Assert.Throws<ArgumentException>(() => new PowerLaw(0.1, 0)).Message);
        Assert.Contains("alpha", Assert.Throws<ArgumentException>(() => new PowerLaw(0.1, 10, -1)).Message);
        Assert.Contains("step_size", Assert.Throws<ArgumentException>(() => new StepDecay(0.1, 0)).Message);
        Assert.Contains("milestones", Assert.Throws<ArgumentException>(() => new MultiStep(0.1, [5, 3])).Message);
        Assert.Contains("T_max", Assert.Throws<ArgumentException>(() => new CosineDecay(0.1, 0)).Message);
        Assert.Contains("T_mult", Assert.Throws<ArgumentException>(() => new CosineWarmRestarts(0.1, 5, 0)).Message);
        Assert.Contains("pct_start", Assert.Throws<ArgumentException>(() => OneCycle.LearningRate(0.1, 100, pctStart: 1.5)).Message);
        Assert.Contains("factor", Assert.Throws<ArgumentException>(() => new ReduceOnPlateau(0.1, factor: 1.5)).Message);
        Assert.Contains("milestones", Assert.Throws<ArgumentException>(() => new Sequence([new Constant(1), new Constant(2)], [])).Message);
        Assert.Contains("counted from 1", Assert.Throws<ArgumentException>(() => new PowerLaw(1, 10).At(0)).Message);
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => new Constant(double.NaN)).Message);
    }
}

/// <summary>The warmup-stable-decay schedule (Hägele et al. 2024) and its place in <c>--schedule</c>.</summary>
public class WarmupStableDecayTests
{
    [Fact]
    public void The_value_holds_then_cools_down_over_the_last_fraction()
    {
        // 100 steps, the last 20 cooling down from 0.1 to 0.01: k = t - 1 passes c = 80 at t = 82.
        var linear = new WarmupStableDecay(0.1, 100, 0.2, Cooldown.Linear, 0.01);
        var sqrt = new WarmupStableDecay(0.1, 100, 0.2, Cooldown.OneMinusSqrt, 0.01);
        Assert.Equal(80, linear.CooldownStart);
        foreach (long t in new long[] { 1, 50, 81 })
        {
            Assert.Equal(0.1, linear.At(t));
            Assert.Equal(0.1, sqrt.At(t));
        }
        Assert.Equal(0.1 + (0.01 - 0.1) * 0.5, linear.At(91), 15);                        // halfway: x = 10/20
        Assert.Equal(0.01 + (0.1 - 0.01) * (1 - Math.Sqrt(0.5)), sqrt.At(91), 15);
        Assert.True(sqrt.At(91) < linear.At(91));                                         // 1 - sqrt cools faster early
        Assert.Equal(0.01, linear.At(101), 15);                                           // reaches final after the run
        Assert.Equal(0.01, sqrt.At(500), 15);
    }

    [Fact]
    public void The_stable_phase_does_not_depend_on_the_run_length()
    {
        // A checkpoint from the stable phase of a short run continues on the longer run's schedule unchanged.
        var shortRun = new WarmupStableDecay(3e-3, 1000);
        var longRun = new WarmupStableDecay(3e-3, 4000);
        for (long t = 1; t <= 800; t++) Assert.Equal(shortRun.At(t), longRun.At(t));
        Assert.True(shortRun.At(900) < longRun.At(900));
    }

    [Fact]
    public void The_cooldown_takes_the_whole_steps_of_its_fraction_as_the_reference_counts_them()
    {
        // epfml's wsd_schedule: n_anneal = int(fract_decay * n), so 0.1 of 35 steps is 3, not 4.
        Assert.Equal(32, new WarmupStableDecay(1, 35, 0.1).CooldownStart);
        Assert.Equal(34, new WarmupStableDecay(1, 35, 0.01).CooldownStart);   // at least one step of cooldown
    }

    [Fact]
    public void Schedule_specs_build_it_behind_a_warmup()
    {
        var s = ScheduleSpec.Parse("wsd-sqrt:decay=0.5", 0.2, totalSteps: 110, warmup: 10);
        Assert.True(s.At(1) < s.At(5) && s.At(5) < 0.2);              // the warmup in front
        Assert.Equal(0.2, s.At(20), 15);
        Assert.Equal(0.2 * (1 - Math.Sqrt(0.5)), s.At(10 + 76), 12);  // k = 75 after warmup: x = (75 - 50)/50
        Assert.Equal("wsd:decay=0.3,final=0,steps=1000", ScheduleSpec.Resolve("wsd:decay=0.3", 1000, 0));
        Assert.Contains("decay fraction", Assert.Throws<ArgumentException>(() => ScheduleSpec.Parse("wsd:decay=0", 0.1, 100)).Message);
    }
}
