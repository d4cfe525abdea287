using Descent.Lab;
using Descent.Lab.Experiments;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>The fine-tuning and range-test experiments of the lab, at quick scale.</summary>
public sealed class FineTuningExperimentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("descent-lab-finetune").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Fine_tuning_starts_every_setting_from_the_pretrained_weights_file()
    {
        var bench = new Workbench(_dir, Scale.Quick);
        var results = new FineTuningRates().Compute(bench);
        string weights = Path.Combine(bench.Runs.RunDir("fine-tuning-pretrain", bench.Runs.Id("fine-tuning-pretrain", 0)), "pretrain", "model.safetensors");
        Assert.True(File.Exists(weights));
        var runs = Assert.Single(results.Runs);
        Assert.Equal(FineTuningRates.Settings.Count, runs.Length);
        // Before the first step every setting holds the same weights, read from the file: the same accuracies.
        Assert.All(runs, r => Assert.Equal(runs[0].Curve[0], r.Curve[0]));
        Assert.Equal(0, runs[0].Curve[0].New);   // pretrained on 0-4 only, it never answers 5-9
        // The same file loaded by a fresh trainer on the old digits gives the same old-task accuracy.
        var old = new Trainer(new TrainingConfig { Data = "mnist", Model = "cnn", Classes = [0, 1, 2, 3, 4], Init = weights, Steps = 1 });
        Assert.Equal(old.Evaluate(old.Test).Accuracy, runs[0].Curve[0].Old, 12);
        Assert.Equal(runs[0].Curve[0].Old, runs[0].Curve[0].OldHead);   // the pretrained head on the pretrained body is the pretrained model
        Assert.All(runs, r => Assert.Equal(6, r.Steps[^1]));
    }

    [Fact]
    public void The_range_test_check_trains_at_the_suggestion_and_shares_the_grid_with_cnn_lr_sensitivity()
    {
        var bench = new Workbench(_dir, Scale.Quick);
        var sensitivity = new CnnLrSensitivity().Compute(bench);
        int trained = bench.Runs.Trained;
        var finder = new LrFinder().Compute(bench);
        var checks = Assert.Single(finder.Checks);
        Assert.Equal(20, finder.Iterations);
        for (int o = 0; o < 2; o++)
        {
            var check = checks[o];
            Assert.Equal(check.Finder.Minimum.LearningRate, check.AtMinimum.Setting.Lr);
            Assert.Equal(check.Finder.Steepest.LearningRate, check.AtSteepest!.Setting.Lr);
            Assert.Equal(check.AtMinimum.Setting.Optimizer, check.Grid[0].Setting.Optimizer);
            Assert.Equal(CnnRuns.Rates, check.Grid.Select(r => r.Setting.Lr));
            // The grid runs are the runs cnn-lr-sensitivity trained, read back (its optimizers are Adam, SGD; this one's SGD, Adam).
            var theirs = sensitivity.Runs[0][1 - o];
            for (int r = 0; r < CnnRuns.Rates.Count; r++)
            {
                Assert.Equal(theirs[r].Setting, check.Grid[r].Setting);
                Assert.Equal(theirs[r].ValidationLoss, check.Grid[r].ValidationLoss);
            }
        }
        // Trained here: the two range tests and the runs at their two suggestions each; the eight grid runs were read back.
        Assert.Equal(6, bench.Runs.Trained - trained);
        Assert.Equal("sgd", checks[0].AtMinimum.Setting.Optimizer);
        Assert.Equal("adam", checks[1].AtMinimum.Setting.Optimizer);
    }
}
