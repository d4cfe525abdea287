using System.Text.Json;
using Descent.Data;
using Descent.Optim;
using Descent.Schedules;
using Descent.State;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>What fine-tuning needs from the training engine: a subset of the classes, and parameter groups with their own rates.</summary>
public sealed class FineTuningTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-finetune").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Out(string name) => Path.Combine(_dir, name);

    private static TrainingConfig Moons(int steps = 20) => new()
    {
        Hidden = [8, 8],
        Optimizer = "sgd",
        Hyperparameters = new() { ["lr"] = 0.1, ["momentum"] = 0.9 },
        Steps = steps,
        EvalEvery = steps,
    };

    [Fact]
    public void A_class_subset_keeps_only_those_examples_and_every_output()
    {
        var (train, _) = Mnist.Embedded();
        var low = train.OfClasses([0, 1, 2, 3, 4]);
        Assert.Equal(10, low.Classes);
        Assert.All(low.Labels, l => Assert.InRange(l, 0, 4));
        Assert.Equal(train.Labels.Count(l => l <= 4), low.Count);
        // The features travel with their labels: the first kept example is the first 0-4 digit of the full set.
        int first = Array.FindIndex(train.Labels, l => l <= 4);
        Assert.Equal(train.Row(first).ToArray(), low.Row(0).ToArray());

        Assert.Contains("class 10 is out of range; its classes are 0 to 9", Assert.Throws<ArgumentException>(() => train.OfClasses([3, 10])).Message);
        Assert.Contains("choose at least one class", Assert.Throws<ArgumentException>(() => train.OfClasses([])).Message);
    }

    [Fact]
    public void The_trainer_trains_and_tests_on_the_chosen_classes_only()
    {
        var trainer = new Trainer(new TrainingConfig { Data = "mnist", Hidden = [], Classes = [5, 6, 7, 8, 9], Steps = 1 });
        Assert.All(trainer.Train.Labels, l => Assert.InRange(l, 5, 9));
        Assert.All(trainer.Test.Labels, l => Assert.InRange(l, 5, 9));
        Assert.Equal(Mnist.Embedded().Test.Labels.Count(l => l >= 5), trainer.Test.Count);
        Assert.Equal(10, trainer.Model.Outputs);   // the output layer still covers digits 0-4
    }

    [Fact]
    public void A_group_with_lr_0_leaves_its_parameters_unchanged_while_the_rest_train()
    {
        var trainer = new Trainer(Moons() with { ParameterGroups = [new() { Pattern = "layers.0.*", Hyperparameters = new() { ["lr"] = 0 } }] });
        var before = trainer.Model.Parameters.ToDictionary(p => p.Name, p => p.Value.ToArray());
        trainer.Fit();
        foreach (var p in trainer.Model.Parameters)
            if (p.Name.StartsWith("layers.0.", StringComparison.Ordinal)) Assert.Equal(before[p.Name], p.Value.ToArray());
            else Assert.NotEqual(before[p.Name], p.Value.ToArray());
    }

    [Fact]
    public void A_groups_rate_follows_the_schedule_built_from_its_own_rate_with_the_runs_floor()
    {
        // As a torch scheduler steps each param_group from its own initial_lr: the floor (eta_min) is shared, not scaled.
        var trainer = new Trainer(Moons(40) with
        {
            Schedule = "cosine:final=0.001",
            Warmup = 5,
            ParameterGroups = [new() { Pattern = "*.bias", Hyperparameters = new() { ["lr"] = 0.01, ["momentum"] = 0 } }],
        });
        Assert.Equal(2, trainer.Optimizer.Groups.Count);
        Assert.All(trainer.Optimizer.Groups[1].Parameters, p => Assert.EndsWith(".bias", p.Name));
        var (run, group) = (new Warmup(5, new CosineDecay(0.1, 35, 0.001)), new Warmup(5, new CosineDecay(0.01, 35, 0.001)));
        for (int step = 1; step <= 40; step++)
        {
            trainer.TrainStep();
            var groups = trainer.Optimizer.Groups;
            Assert.Equal(run.At(step), groups[0].Options.LearningRate);
            Assert.Equal(group.At(step), groups[1].Options.LearningRate);
            Assert.Equal(0, groups[1].Options.Get("momentum"));
            Assert.Equal(0.9, groups[0].Options.Get("momentum"));
        }
    }

    [Fact]
    public void A_plateau_reduces_every_groups_rate_on_the_same_evaluations()
    {
        // threshold=1 (relative) counts no evaluation as better than the best, so from the second on each one reduces.
        var trainer = new Trainer(Moons(40) with
        {
            Schedule = "plateau:patience=0,threshold=1,factor=0.5",
            EvalEvery = 10,
            ParameterGroups = [new() { Pattern = "*.bias", Hyperparameters = new() { ["lr"] = 0.01 } }],
        });
        trainer.Run(Out("plateau"));
        var groups = trainer.Optimizer.Groups;
        Assert.True(groups[0].Options.LearningRate < 0.1, $"lr {groups[0].Options.LearningRate}");
        Assert.Equal(groups[0].Options.LearningRate / 0.1, groups[1].Options.LearningRate / 0.01, 14);
    }

    [Fact]
    public void A_pattern_that_matches_no_parameter_is_an_error_naming_the_parameters()
    {
        var e = Assert.Throws<ArgumentException>(() => new Trainer(Moons() with { ParameterGroups = [new() { Pattern = "features.*", Hyperparameters = new() { ["lr"] = 0 } }] }));
        Assert.Contains("'features.*' matches no ungrouped parameter; names are: layers.0.weight, layers.0.bias", e.Message);
        // A second group cannot claim what the first took.
        e = Assert.Throws<ArgumentException>(() => new Trainer(Moons() with
        {
            ParameterGroups = [new() { Pattern = "*", Hyperparameters = new() { ["lr"] = 0.01 } }, new() { Pattern = "*.bias", Hyperparameters = new() { ["lr"] = 0 } }],
        }));
        Assert.Contains("'*.bias' matches no ungrouped parameter", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer(Moons() with { ParameterGroups = [new() { Pattern = "*.bias", Hyperparameters = new() { ["beta1"] = 0.5 } }] }));
        Assert.Contains("Unknown hyperparameter 'beta1' for sgd", e.Message);
    }

    [Theory]
    [InlineData("lbfgs", "L-BFGS supports one parameter group")]
    [InlineData("prodigy", "Prodigy estimates one D for all parameters")]
    public void Optimizers_that_update_all_parameters_together_refuse_a_group_when_it_is_added(string optimizer, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => new Trainer(Moons() with
        {
            Optimizer = optimizer,
            Hyperparameters = [],
            ParameterGroups = [new() { Pattern = "*.bias", Hyperparameters = new() { ["lr"] = 0.01 } }],
        }));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void The_library_adds_a_group_by_hyperparameter_names()
    {
        var weight = new Descent.Nn.Parameter<float>("layer.weight", 2);
        var bias = new Descent.Nn.Parameter<float>("layer.bias", 2);
        var sgd = new Sgd<float>([weight, bias], new SgdOptions { LearningRate = 0.1 });
        var group = sgd.AddGroup("*.bias", new Dictionary<string, double> { ["lr"] = 0.5 });
        Assert.Equal(["layer.bias"], group.Parameters.Select(p => p.Name));
        bias.Grad.Span.Fill(1);
        weight.Grad.Span.Fill(1);
        sgd.Step();
        Assert.Equal(-0.5f, bias.Value.Span[0]);
        Assert.Equal(-0.1f, weight.Value.Span[0]);
    }

    [Fact]
    public void Classes_and_groups_are_saved_in_config_json_and_a_resumed_run_continues_bit_for_bit()
    {
        var config = Moons(40) with
        {
            Classes = [0, 1],
            ParameterGroups = [new() { Pattern = "layers.2.*", Hyperparameters = new() { ["lr"] = 0.02 } }],
            Schedule = "exponential:gamma=0.97",   // independent of the run's length, so 20 + 20 steps follow the 40-step run's
            CheckpointEvery = 20,
        };
        var straight = new Trainer(config);
        straight.Run(Out("straight"));
        new Trainer(config with { Steps = 20 }).Run(Out("resumed"));
        var loaded = Trainer.LoadConfig(Out("resumed"));
        Assert.Equal([0, 1], loaded.Classes!);
        Assert.Equal("layers.2.*", Assert.Single(loaded.ParameterGroups).Pattern);
        Assert.Equal(0.02, loaded.ParameterGroups[0].Hyperparameters["lr"]);
        var resumed = new Trainer(loaded with { Steps = 40 });
        resumed.Run(Out("resumed"), resume: true);
        Assert.Equal(straight.Model.Values.ToArray(), resumed.Model.Values.ToArray());
    }

    [Fact]
    public void The_range_test_keeps_each_groups_rate_in_proportion_to_the_runs()
    {
        var options = new LearningRateFinderOptions { StartLr = 1e-5, EndLr = 1, Iterations = 10, StopFactor = 0 };
        var config = LearningRateFinder.Configure(Moons() with { ParameterGroups = [new() { Pattern = "layers.0.*", Hyperparameters = new() { ["lr"] = 0.01 } }] }, options);
        Assert.Equal(1e-6, config.ParameterGroups[0].Hyperparameters["lr"], 1e-18);   // 0.01 / 0.1 of the start rate
        var trainer = new Trainer(config);
        LearningRateFinder.Run(trainer, options);
        var groups = trainer.Optimizer.Groups;
        Assert.Equal(0.1 * groups[0].Options.LearningRate, groups[1].Options.LearningRate, 15);
    }

    [Fact]
    public void Descent_train_takes_classes_and_parameter_groups_and_starts_from_the_pretrained_weights()
    {
        var (code, _, err) = CliRunner.Run("train", "--data", "mnist", "--hidden", "16", "--optimizer", "sgd", "--lr", "0.1", "--classes", "0-4",
            "--steps", "20", "--eval-every", "20", "--out", Out("pretrain"));
        Assert.True(code == 0, err);
        string weights = Path.Combine(Out("pretrain"), "model.safetensors");
        (code, _, err) = CliRunner.Run("train", "--data", "mnist", "--hidden", "16", "--optimizer", "sgd", "--lr", "0.1", "--classes", "5-9",
            "--init", weights, "--param-group", "layers.0.*:lr=0", "--param-group", "*.bias:lr=0.01,momentum=0.5",
            "--steps", "20", "--eval-every", "20", "--out", Out("finetune"));
        Assert.True(code == 0, err);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Out("finetune"), "config.json"))).RootElement;
        Assert.Equal([5, 6, 7, 8, 9], config.GetProperty("classes").EnumerateArray().Select(c => c.GetInt32()));
        var groups = config.GetProperty("parameter_groups").EnumerateArray().ToArray();
        Assert.Equal(["layers.0.*", "*.bias"], groups.Select(g => g.GetProperty("pattern").GetString()));
        Assert.Equal(0.5, groups[1].GetProperty("hyperparameters").GetProperty("momentum").GetDouble());
        // The first layer's weight trained at lr 0 is the pretrained one, read back from both files; the output layer moved.
        var before = SafeTensors.Load(weights);
        var after = SafeTensors.Load(Path.Combine(Out("finetune"), "model.safetensors"));
        Assert.Equal(before["layers.0.weight"].Data, after["layers.0.weight"].Data);
        Assert.NotEqual(before["layers.2.weight"].Data, after["layers.2.weight"].Data);
        Assert.Contains("classes 5,6,7,8,9", JsonDocument.Parse(File.ReadAllText(Path.Combine(Out("finetune"), "summary.json"))).RootElement.GetProperty("data").GetString());
    }

    [Theory]
    [InlineData("--classes 4-1", "Invalid --classes range '4-1': it runs backwards; write 1-4.")]
    [InlineData("--classes a-b", "Invalid --classes value 'a-b': expected class numbers and ranges separated by commas, e.g. 0-4 or 0,2,4.")]
    [InlineData("--classes 3,12", "class 12 is out of range; its classes are 0 to 9.")]
    [InlineData("--param-group layers.0.*", "Invalid --param-group 'layers.0.*': expected a name pattern, a colon and hyperparameters by PyTorch name")]
    [InlineData("--param-group layers.0.*:lr", "Invalid --param-group setting 'lr' in 'layers.0.*:lr': expected NAME=VALUE")]
    [InlineData("--param-group layers.0.*:beta1=0.5 --optimizer sgd", "--param-group 'layers.0.*:beta1=0.5': Unknown hyperparameter 'beta1' for sgd: valid names are lr,")]
    [InlineData("--param-group conv.*:lr=0", "Parameter group pattern 'conv.*' matches no ungrouped parameter; names are: layers.0.weight, layers.0.bias, layers.2.weight, layers.2.bias.")]
    [InlineData("--param-group *:lr=0 --optimizer muon", "(their rates are lr and adamw_lr); parameter groups are not supported with it")]
    public void Bad_classes_and_groups_are_refused_with_the_problem_and_the_fix(string options, string message)
    {
        var (code, _, err) = CliRunner.Run(["train", "--data", "mnist", "--hidden", "16", "--steps", "1", "--out", Out("bad"), .. options.Split(' ')]);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.False(File.Exists(Path.Combine(Out("bad"), "config.json")));
    }
}
