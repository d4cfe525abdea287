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
        var configs = new[] { ("Adam + L2", "adam"), ("AdamW", "adamw") }.Select(r => (Label: r.Item1, Config: new TrainingConfig
        {
            Data = "mnist",
            DataDir = lab.MnistDir,
            Hidden = [64],
            Activation = "relu",
            Optimizer = r.Item2,
            Hyperparameters = new() { ["lr"] = 1e-3, ["weight_decay"] = decay },
            Batch = 64,
            Epochs = lab.Pick(1, 10, 20),
            Seed = 5,
        })).ToArray();
        var runs = lab.RunAll(configs, c =>
        {
            var trainer = new Trainer(c.Config);
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
        });
        var normPlot = Figures.New($"Weight norm with weight decay {decay:G1}", "step", "||w||");
        for (int i = 0; i < runs.Length; i++)
        {
            Figures.Line(normPlot, runs[i].Steps, runs[i].Norms, Figures.Palette[i], configs[i].Label);
        }
        normPlot.ShowLegend(Alignment.LowerRight);
        lab.Add(this, "decay-weight-norm", "Euclidean norm of all weights during training: Adam with an L2 penalty against AdamW.", normPlot);
        var acc = runs.Select(r => r.Trainer.Evaluate(r.Trainer.Test).Accuracy).ToArray();
        lab.Claim(this, "final weight norm: Adam + L2 vs AdamW", $"{runs[0].Norms[^1]:G4} vs {runs[1].Norms[^1]:G4}",
            "L2 under Adam and decoupled decay are different regularizers (Loshchilov and Hutter)", null);
        lab.Claim(this, "test accuracy: Adam + L2 vs AdamW", $"{acc[0]:P1} vs {acc[1]:P1}", "", null);
    }
}
