using Descent.Data;
using Descent.Training;

namespace Descent.Lab.Experiments;

/// <summary>
/// Training runs of the <c>cnn</c> preset (conv 32 - pool - conv 64 - pool - 128 - 10) at batch 64, shared by the CNN
/// experiments through the bench: a run with the same data, optimizer, rate and seed is trained once, by whichever
/// experiment asks first.
/// </summary>
public static class CnnRuns
{
    /// <summary>One run's settings.</summary>
    /// <param name="Data"><c>mnist</c> (the embedded digits, or the bench's MNIST directory) or <c>fashion-mnist</c>.</param>
    /// <param name="Optimizer"><c>sgd</c> (Nesterov momentum 0.9), <c>rmsprop</c> or <c>adam</c>.</param>
    /// <param name="Lr">The learning rate.</param>
    /// <param name="Seed">The repetition (added to the base seed).</param>
    public sealed record Setting(string Data, string Optimizer, double Lr, int Seed);

    /// <summary>A finished (or stopped) run.</summary>
    /// <param name="Setting">What was run.</param>
    /// <param name="Steps">The steps at which it was evaluated.</param>
    /// <param name="TrainLoss">The mean minibatch loss since the previous evaluation, at each of <paramref name="Steps"/>.</param>
    /// <param name="ValidationLoss">The loss on the validation examples at each of <paramref name="Steps"/>.</param>
    /// <param name="ValidationAccuracy">The accuracy on the validation examples at the end (or where the run stopped).</param>
    /// <param name="DivergedAt">The step at which the loss exploded and the run stopped, or 0 if it ran to the end.</param>
    public sealed record Run(Setting Setting, double[] Steps, double[] TrainLoss, double[] ValidationLoss, double ValidationAccuracy, long DivergedAt);

    /// <summary>The optimizers compared, with the rate the chapter recommends for each and its label.</summary>
    public static IReadOnlyList<(string Optimizer, double Recommended, string Label)> Optimizers { get; } =
        [("sgd", 0.1, "SGD + Nesterov 0.9"), ("rmsprop", 1e-3, "RMSProp"), ("adam", 1e-3, "Adam")];

    /// <summary>The learning-rate grid of both experiments.</summary>
    public static IReadOnlyList<double> Rates { get; } = [1e-4, 1e-3, 1e-2, 1e-1];

    /// <summary>Seeds at the bench's scale: the bench's count, and at least 3 at full scale (the published setting).</summary>
    public static int Seeds(Workbench bench) => Math.Max(bench.Seeds, bench.Pick(1, 1, 3));

    /// <summary>Whether Fashion-MNIST's files are where <c>--data fashion-mnist</c> reads them.</summary>
    public static bool FashionAvailable()
    {
        try
        {
            Mnist.Locate(Mnist.FashionMnistDirectory);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }

    /// <summary>The runs of <paramref name="settings"/>, in order, each trained once across the cores and kept in the bench's runs.</summary>
    public static Run[] Of(Workbench bench, IReadOnlyList<Setting> settings) => bench.RunKept("cnn", settings, s => Train(bench, s));

    /// <summary>The training config of <paramref name="setting"/> at the bench's scale.</summary>
    public static TrainingConfig Config(Workbench bench, Setting setting) => new()
    {
        Data = setting.Data,
        DataDir = setting.Data == "mnist" ? bench.MnistDir : null,
        Model = "cnn",
        Loss = "cross-entropy",
        Optimizer = setting.Optimizer,
        Hyperparameters = setting.Optimizer == "sgd"
            ? new() { ["lr"] = setting.Lr, ["momentum"] = 0.9, ["nesterov"] = 1 }
            : new() { ["lr"] = setting.Lr },
        Batch = 64,
        // Default scale: 400 steps (3.2 epochs of the 8,000 embedded digits), about 3 minutes for the 15 runs on 2 cores; full: 10 epochs.
        Steps = bench.Pick(6L, 400L, 0L),
        Epochs = bench.Pick(0L, 0L, 10L),
        Seed = 6 + (ulong)setting.Seed,
    };

    /// <summary>
    /// Trains one run through the training loop, evaluating on the first examples of the test set (200 quick, 1,000 by
    /// default, all at full scale) at evenly spaced steps. It stops early when the loss explodes: a minibatch loss that
    /// is not finite or above three times chance level (3 ln 10 = 6.9 for ten classes).
    /// </summary>
    private static Run Train(Workbench bench, Setting setting)
    {
        var trainer = new Trainer(Config(bench, setting));
        var validation = trainer.Test.Slice(0, Math.Min(trainer.Test.Count, bench.Pick(200, 1000, int.MaxValue)));
        var log = new MetricsLog();
        var outcome = new TrainingLoop(trainer, log)
        {
            EvalEvery = Math.Max(1, trainer.TotalSteps / bench.Pick(2, 10, 20)),
            CheckpointEvery = 0,
            EvaluateTrain = null,
            EvaluateTest = validation,
            DivergenceThreshold = 3 * Math.Log(trainer.Train.Classes),
        }.Run();
        var rows = log.Rows;
        double accuracy = outcome.Divergence is null ? rows[^1].TestAccuracy : trainer.Evaluate(validation).Accuracy;
        // The training loss of a row is the mean minibatch loss since the previous one.
        return new Run(setting, [.. rows.Select(r => (double)r.Step)], [.. rows.Select(r => r.BatchLoss)], [.. rows.Select(r => r.TestLoss)],
            accuracy, outcome.Divergence?.Step ?? 0);
    }
}
