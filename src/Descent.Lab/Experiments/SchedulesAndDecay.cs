using Descent.Schedules;
using Descent.Training;
using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>What the schedules look like, and Adam with an L2 penalty against AdamW at equal decay.</summary>
public sealed class SchedulesAndDecay : Experiment
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

    /// <inheritdoc/>
    public override void Run(Lab lab)
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
        lab.Add(this, "schedules", "Each schedule's value at every update, as the optimizer receives it.", plot);

        const double decay = 5e-3;
        var settings = new[] { (Label: "Adam + L2", Optimizer: "adam"), (Label: "AdamW", Optimizer: "adamw") };
        var configs = Enumerable.Range(0, lab.Seeds).SelectMany(seed => settings.Select(r => new TrainingConfig
        {
            Data = "mnist",
            DataDir = lab.MnistDir,
            Hidden = [64],
            Activation = "relu",
            Optimizer = r.Optimizer,
            Hyperparameters = new() { ["lr"] = 1e-3, ["weight_decay"] = decay },
            Batch = 64,
            Epochs = lab.Pick(1, 10, 20),
            Seed = 5 + (ulong)seed,
        })).ToArray();
        var runs = lab.RunAll(configs, c =>
        {
            var trainer = new Trainer(c);
            var steps = new List<double>();
            var norms = new List<double>();
            long every = Math.Max(1, trainer.TotalSteps / 40);
            while (trainer.Step < trainer.TotalSteps)
            {
                trainer.TrainStep();
                if (trainer.Step % every == 0)
                {
                    steps.Add(trainer.Step);
                    double sq = 0;
                    foreach (float w in trainer.Model.Values) sq += (double)w * w;
                    norms.Add(Math.Sqrt(sq));
                }
            }
            return (Trainer: trainer, Steps: steps.ToArray(), Norms: norms.ToArray());
        }).Chunk(settings.Length).ToArray();   // [seed][Adam + L2, AdamW]
        var normPlot = Figures.New($"Weight norm with weight decay {Numbers.Format(decay)}", "step", "||w||");
        for (int i = 0; i < settings.Length; i++)
            Figures.SeedCurves(normPlot, runs[0][i].Steps, [.. runs.Select(r => r[i].Norms)], Figures.Palette[i], settings[i].Label);
        normPlot.ShowLegend(Alignment.LowerRight);
        lab.Add(this, "decay-weight-norm", "Euclidean norm of all weights during training: Adam with an L2 penalty against AdamW" +
            (lab.Seeds > 1 ? $" (median over {lab.Seeds} seeds, range as a band)." : "."), normPlot);
        var acc = runs.Select(seed => seed.Select(r => r.Trainer.Evaluate(r.Trainer.Test).Accuracy).ToArray()).ToArray();
        lab.Claim(this, "an L2 penalty under Adam and decoupled weight decay are different regularizers (Loshchilov and Hutter)",
            "final weight norm, Adam + L2 / AdamW, at the same coefficient", [.. runs.Select(r => r[0].Norms[^1] / r[1].Norms[^1])], Numbers.Times,
            "below 0.8x in every seed (the penalty, divided by Adam's scale, shrinks the weights more)", v => v < 0.8,
            $"{Numbers.Format(runs[0][0].Norms[^1])} vs {Numbers.Format(runs[0][1].Norms[^1])} in the first seed");
        lab.Measure(this, "test accuracy: Adam + L2 vs AdamW", $"{Spread.Of(acc.Select(a => a[0])).Format(Numbers.Percent)} vs {Spread.Of(acc.Select(a => a[1])).Format(Numbers.Percent)}");
    }
}
