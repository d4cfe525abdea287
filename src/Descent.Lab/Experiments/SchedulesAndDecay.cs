using Descent.Schedules;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>What the schedules look like, and Adam with an L2 penalty against AdamW at equal decay.</summary>
public sealed class SchedulesAndDecay : Experiment<SchedulesAndDecay.Results>
{
    /// <inheritdoc/>
    public override string Name => "schedules-and-decay";

    /// <inheritdoc/>
    public override string Title => "Learning-rate schedules, and L2 penalty versus decoupled weight decay";

    /// <inheritdoc/>
    public override string Description =>
        "The constant, power-law, step, warmup-then-cosine and one-cycle schedules over 1,000 updates, computed by the library. Then Adam with an L2 penalty " +
        "and AdamW with the same coefficient (5e-3) train the MNIST network. The two are not the same regularizer: under Adam the penalty's gradient " +
        "is divided by each weight's adaptive scale, so weights with a large gradient history are barely decayed while rarely-updated ones are pulled " +
        "to zero at a rate near lr; AdamW shrinks every weight by the same factor 1 - lr * wd. The figure and numbers show how far apart they end.";

    private const double Decay = 5e-3;

    private static readonly string[] Labels = ["Adam + L2", "AdamW"];

    /// <summary>The two regularized runs and their weight norms during training.</summary>
    /// <param name="Steps">The steps at which the norms were taken.</param>
    /// <param name="Norms">The weight norm at each of <paramref name="Steps"/>, <c>[seed][Adam + L2, AdamW]</c>.</param>
    /// <param name="TestAccuracy">The final test accuracy, <c>[seed][Adam + L2, AdamW]</c>.</param>
    public sealed record Results(double[] Steps, double[][][] Norms, double[][] TestAccuracy);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        string[] optimizers = ["adam", "adamw"];
        var configs = Enumerable.Range(0, bench.Seeds).SelectMany(seed => optimizers.Select(o => new TrainingConfig
        {
            Data = "mnist",
            DataDir = bench.MnistDir,
            Hidden = [64],
            Activation = "relu",
            Optimizer = o,
            Hyperparameters = new() { ["lr"] = 1e-3, ["weight_decay"] = Decay },
            Batch = 64,
            Epochs = bench.Pick(1, 10, 20),
            Seed = 5 + (ulong)seed,
        })).ToArray();
        var runs = bench.RunKept("schedules-and-decay", configs, c =>
        {
            var trainer = new Trainer(c);
            var steps = new List<double>();
            var norms = new List<double>();
            long every = Math.Max(1, trainer.TotalSteps / 40);
            var outcome = new TrainingLoop(trainer, new StepObserver((_, _) =>
            {
                if (trainer.Step % every != 0) return;
                steps.Add(trainer.Step);
                double sq = 0;
                foreach (float w in trainer.Model.Values) sq += (double)w * w;
                norms.Add(Math.Sqrt(sq));
            }))
            { EvalEvery = 0, CheckpointEvery = 0 }.Run();
            if (outcome.Divergence is { } divergence) throw new DivergenceException(divergence);
            return (Steps: steps.ToArray(), Norms: norms.ToArray(), Accuracy: trainer.Evaluate(trainer.Test).Accuracy);
        }).Chunk(optimizers.Length).ToArray();   // [seed][Adam + L2, AdamW]
        var acc = runs.Select(seed => seed.Select(r => r.Accuracy).ToArray()).ToArray();
        return new Results(runs[0][0].Steps, [.. runs.Select(seed => seed.Select(r => r.Norms).ToArray())], acc);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        const long T = 1000;
        var schedules = new (string Label, Schedule Schedule)[]
        {
            ("constant", new Constant(0.1)),
            ("power law, tau 100", new PowerLaw(0.1, 100, 1)),
            ("step, x0.5 every 250", new StepDecay(0.1, 250, 0.5)),
            ("warmup 100 + cosine", new Warmup(100, new CosineDecay(0.1, T - 100))),
            ("one-cycle", OneCycle.LearningRate(0.1, T)),
        };
        var plot = Figures.New("Learning-rate schedules (peak 0.1)", "update", "learning rate");
        for (int i = 0; i < schedules.Length; i++)
        {
            var xs = Enumerable.Range(1, (int)T).Select(t => (double)t).ToArray();
            Figures.Line(plot, xs, xs.Select(t => schedules[i].Schedule.At((long)t)).ToArray(), Figures.Palette[i], schedules[i].Label);
        }
        plot.ShowLegend(Alignment.UpperRight);
        bench.Add(this, "schedules", "Each schedule's value at every update, as the optimizer receives it.", plot);

        var normPlot = Figures.New($"Weight norm with weight decay {Numbers.Format(Decay)}", "step", "||w||");
        for (int i = 0; i < Labels.Length; i++)
            Figures.SeedCurves(normPlot, data.Steps, [.. data.Norms.Select(r => r[i])], Figures.Palette[i], Labels[i]);
        normPlot.ShowLegend(Alignment.LowerRight);
        bench.Add(this, "decay-weight-norm", "Euclidean norm of all weights during training: Adam with an L2 penalty against AdamW" +
            (bench.Seeds > 1 ? $" (median over {bench.Seeds} seeds, range as a band)." : "."), normPlot);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        var (norms, acc) = (data.Norms, data.TestAccuracy);
        bench.Claim(this, "an L2 penalty under Adam and decoupled weight decay are different regularizers (Loshchilov and Hutter)",
            "final weight norm, Adam + L2 / AdamW, at the same coefficient", [.. norms.Select(r => r[0][^1] / r[1][^1])], Numbers.Times,
            "below 0.8x in every seed (the penalty, divided by Adam's scale, shrinks the weights more)", v => v < 0.8,
            $"{Numbers.Format(norms[0][0][^1])} vs {Numbers.Format(norms[0][1][^1])} in the first seed");
        bench.Measure(this, "test accuracy: Adam + L2 vs AdamW", $"{Spread.Of(acc.Select(a => a[0])).Format(Numbers.Percent)} vs {Spread.Of(acc.Select(a => a[1])).Format(Numbers.Percent)}");
    }
}
