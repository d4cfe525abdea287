using Descent.Optim;
using Descent.Schedules;
using Descent.State;
using Descent.Training;

namespace Descent.Lab.Experiments;

/// <summary>
/// Training runs of a small character-level transformer on the embedded fortunes text, shared by the transformer
/// experiments through the bench: a run with the same setting is trained once, by whichever experiment asks first.
/// Every run uses Adam's family at the same peak rate and betas (0.9, 0.98), and records its validation loss on a
/// fixed slice of the test text, the gradient of each block's feedforward weights at initialization, and the size of
/// its first updates; a run can keep its full state at chosen steps, and another run can continue from such a state.
/// </summary>
public static class TransformerRuns
{
    /// <summary>
    /// The peak learning rate: the rate of the README's reference transformer run, and where Adam's first updates
    /// relative to the weights' scale (<c>lr sqrt(d)</c>) come near those of Xiong et al.'s <c>lr 1e-3</c> at <c>d 512</c>.
    /// </summary>
    public const double Lr = 3e-3;

    /// <summary>Adam's <c>beta2</c> as the transformer papers set it (Vaswani et al. 2017; Xiong et al. 2020).</summary>
    public const double Beta2 = 0.98;

    /// <summary>The share of a warmup-stable-decay run spent cooling down (Hägele et al.'s 20%).</summary>
    public const double Decay = 0.2;

    /// <summary>The model, data and lengths at one scale.</summary>
    /// <param name="Model">The transformer spec without its <c>norm=</c>.</param>
    /// <param name="Batch">Windows per minibatch.</param>
    /// <param name="Warmup">Linear warmup steps: <c>2 / (1 - beta2)</c>, the horizon of Adam's second-moment average and of RAdam's rectification.</param>
    /// <param name="Budget">The shorter budget B of the schedule comparison (the longer one is 2B).</param>
    /// <param name="Validation">Windows of the test text every evaluation reads (the first ones; the whole test set at full scale).</param>
    /// <param name="Evaluations">Evaluations per budget B.</param>
    /// <param name="Seeds">Repetitions at least.</param>
    public sealed record Size(string Model, int Batch, long Warmup, long Budget, int Validation, int Evaluations, int Seeds);

    /// <summary>The size at the bench's scale.</summary>
    public static Size At(Workbench bench) => bench.Pick(
        new Size("transformer:layers=2,d=16,heads=2,ctx=16", 8, 4, 24, 16, 4, 1),
        // Six layers as Xiong et al.'s translation model; one run of 821 steps took 15-23 s with two at a time on 2 cores.
        new Size("transformer:layers=6,d=32,heads=4,ctx=32", 16, 100, 500, 256, 20, 1),
        // About 0.16 s per step on one core (measured): some 40,000 steps with 3 seeds, an hour on 2 cores.
        new Size("transformer:layers=6,d=64,heads=4,ctx=64", 32, 100, 1000, int.MaxValue, 40, 3));

    /// <summary>Seeds at the bench's scale: the bench's count, and at least the scale's.</summary>
    public static int Seeds(Workbench bench) => Math.Max(bench.Seeds, At(bench).Seeds);

    /// <summary>One run's settings.</summary>
    /// <param name="Norm"><c>pre</c> or <c>post</c>: layer normalization before each residual branch or after each sum.</param>
    /// <param name="Optimizer"><c>adam</c> or <c>radam</c>.</param>
    /// <param name="Warmup">Linear warmup steps (0: none).</param>
    /// <param name="Schedule">The schedule after the warmup (<c>constant</c>, <c>cosine</c>, <c>wsd-sqrt</c>, ...).</param>
    /// <param name="Steps">The run's length.</param>
    /// <param name="Seed">The repetition (added to the base seed).</param>
    /// <param name="Keep">Steps after which the run's full state is kept for runs that continue from it.</param>
    public sealed record Setting(string Norm, string Optimizer, long Warmup, string Schedule, long Steps, int Seed, params long[] Keep)
    {
        /// <summary>A text naming the setting exactly (the record's own equality compares <see cref="Keep"/> by reference).</summary>
        public string Key => $"{Norm}/{Optimizer}/{Warmup}/{Schedule}/{Steps}/{Seed}/{string.Join(';', Keep)}";
    }

    /// <summary>A finished (or stopped) run.</summary>
    /// <param name="Setting">What was run.</param>
    /// <param name="Steps">The steps at which it was evaluated.</param>
    /// <param name="ValidationLoss">The loss on the validation slice at each of <paramref name="Steps"/>.</param>
    /// <param name="DivergedAt">The step at which the loss exploded and the run stopped, or 0.</param>
    /// <param name="BlockGradients">At the first update: the gradient norm of each block's feedforward weights (both matrices), first block first.</param>
    /// <param name="OutputGradient">At the first update: the gradient norm of the output layer's weight.</param>
    /// <param name="FirstUpdates">The size of each of the first updates (up to twice the warmup).</param>
    /// <param name="Kept">The full state after each step of <see cref="Setting.Keep"/> the run reached.</param>
    public sealed record Run(Setting Setting, double[] Steps, double[] ValidationLoss, long DivergedAt,
        double[] BlockGradients, double OutputGradient, UpdateSize[] FirstUpdates, IReadOnlyDictionary<long, StateDict> Kept)
    {
        /// <summary>The last validation loss; a run stopped because its loss exploded counts as untrained (its loss where it started).</summary>
        public double Final => DivergedAt > 0 ? ValidationLoss[0] : ValidationLoss[^1];
    }

    /// <summary>The runs of <paramref name="settings"/>, in order, each trained once across the cores and kept in the bench's runs.</summary>
    public static Run[] Of(Workbench bench, IReadOnlyList<Setting> settings) => bench.RunKept("transformer", settings, s => Train(bench, s, null), s => s.Steps);

    /// <summary>
    /// The run of <paramref name="setting"/> continued from the state <paramref name="from"/> kept after step <paramref name="at"/>:
    /// its curves start there. The model, optimizer and sampler must match the kept ones; only the schedule and length may differ.
    /// </summary>
    public static Run Continue(Workbench bench, Setting setting, Run from, long at) =>
        bench.Shared($"transformer/{setting.Key}/from/{from.Setting.Key}@{at}", () =>
            Train(bench, setting, from.Kept.TryGetValue(at, out var state) ? state
                : throw new ArgumentException($"The run {from.Setting.Key} kept no state after step {at} (it kept {string.Join(", ", from.Kept.Keys)}).")));

    /// <summary>
    /// The step after which a warmup-stable-decay run of <paramref name="steps"/> (warmup <paramref name="warmup"/>, then
    /// <see cref="Decay"/> of the rest cooling down) takes its last update at the peak rate: its state there is a stable-phase
    /// state that any longer run shares.
    /// </summary>
    public static long CooldownStart(long steps, long warmup) =>
        warmup + new WarmupStableDecay(Lr, steps - warmup, Decay).CooldownStart + 1;

    /// <summary>
    /// The stable-phase run both experiments share: the pre-LN transformer, Adam after a linear warmup at a constant rate,
    /// as long as a warmup-stable-decay run of budget 2B stays at the peak, keeping its state where the runs of budget B and 2B
    /// start cooling down. It is the warmup experiment's pre-LN "Adam + warmup" run and the trunk the schedule experiment's
    /// cooldowns branch from.
    /// </summary>
    public static Setting Trunk(Workbench bench, int seed)
    {
        var size = At(bench);
        long b = CooldownStart(size.Budget, size.Warmup), b2 = CooldownStart(2 * size.Budget, size.Warmup);
        return new Setting("pre", "adam", size.Warmup, "constant", b2, seed, b, b2);
    }

    /// <summary>The training config of <paramref name="setting"/> at the bench's scale.</summary>
    public static TrainingConfig Config(Workbench bench, Setting setting) => new()
    {
        Data = "text",
        Model = $"{At(bench).Model},norm={setting.Norm}",
        Loss = "cross-entropy",
        Optimizer = setting.Optimizer,
        Hyperparameters = new() { ["lr"] = Lr, ["beta2"] = Beta2 },
        Schedule = setting.Schedule,
        Warmup = setting.Warmup,
        Batch = At(bench).Batch,
        Steps = setting.Steps,
        Seed = 14 + (ulong)setting.Seed,
    };

    /// <summary>The learning rate <paramref name="setting"/>'s schedule gives at each update 1, 2, ..., its length.</summary>
    public static double[] Rates(Setting setting)
    {
        var schedule = ScheduleSpec.Parse(setting.Schedule, Lr, setting.Steps, setting.Warmup);
        return [.. Enumerable.Range(1, (int)setting.Steps).Select(t => schedule.At(t))];
    }

    /// <summary>
    /// Trains one run from its initialization, or from <paramref name="start"/>; evaluates on the validation slice where
    /// it starts, at every multiple of the evaluation interval and at the end. It stops early when the loss explodes: a minibatch loss
    /// that is not finite or above three times that of uniform guessing (3 ln V for V characters).
    /// </summary>
    private static Run Train(Workbench bench, Setting setting, StateDict? start)
    {
        var size = At(bench);
        var trainer = new Trainer(Config(bench, setting));
        if (start is not null) Restore(trainer, start);
        var validation = trainer.Test.Slice(0, Math.Min(trainer.Test.Count, size.Validation));
        long every = Math.Max(1, size.Budget / size.Evaluations);
        double explosion = 3 * Math.Log(trainer.Train.Classes);
        var ffn = FeedforwardWeights(trainer);
        var output = trainer.Model.Parameters.Last(p => p.Name.EndsWith(".weight", StringComparison.Ordinal));
        var before = new float[trainer.Model.Values.Length];
        var updates = new List<UpdateSize>();
        long measured = start is null ? 2 * size.Warmup : 0;
        var kept = new Dictionary<long, StateDict>();
        double[] blocks = [];
        double outputGradient = 0;
        var (steps, valid) = (new List<double>(), new List<double>());
        Record();
        // The weights before each of the first updates, whose sizes are measured.
        if (trainer.Step < measured) trainer.Model.Values.CopyTo(before);
        var outcome = new TrainingLoop(trainer, new StepObserver((_, _) =>
        {
            if (trainer.Step <= measured)
            {
                updates.Add(UpdateSize.Between<float>(before, trainer.Model.Values));
                if (trainer.Step < measured) trainer.Model.Values.CopyTo(before);
            }
            if (trainer.Step == 1 && start is null)
            {
                // The optimizers read the gradient without changing it: it is still the gradient at the initialization.
                blocks = [.. ffn.Select(pair => Math.Sqrt(pair.Sum(p => p.GradNorm() * p.GradNorm())))];
                outputGradient = output.GradNorm();
            }
            if (setting.Keep.Contains(trainer.Step)) kept[trainer.Step] = Snapshot(trainer);
            if (trainer.Step % every == 0 || trainer.Step == trainer.TotalSteps) Record();
        }))
        { EvalEvery = 0, CheckpointEvery = 0, DivergenceThreshold = explosion }.Run();
        // A finite loss too large was stepped on (the run stops after that step); a non-finite one was not (it stops before).
        long diverged = outcome.Divergence?.Step ?? 0;
        return new Run(setting, [.. steps], [.. valid], diverged, blocks, outputGradient, [.. updates], kept);

        void Record()
        {
            steps.Add(trainer.Step);
            valid.Add(trainer.Evaluate(validation).Loss);
        }
    }

    /// <summary>
    /// The weights of each block's feedforward layers, block by block: the <c>[4d, d]</c> and <c>[d, 4d]</c> matrices inside
    /// residual branches (the embeddings and the output layer are outside them).
    /// </summary>
    private static Nn.Parameter<float>[][] FeedforwardWeights(Trainer trainer)
    {
        var ffn = trainer.Model.Parameters.Where(p => p.Name.Contains(".body.", StringComparison.Ordinal) && p.Shape.Count == 2
            && (p.Shape[0] == 4 * p.Shape[1] || p.Shape[1] == 4 * p.Shape[0])).ToArray();
        return [.. ffn.Chunk(2)];
    }

    /// <summary>Everything a continued run needs: the weights, the model's buffers and generators, the optimizer and the sampler.</summary>
    private static StateDict Snapshot(Trainer trainer)
    {
        var state = new StateDict();
        state.Set("model.values", trainer.Model.Values);
        trainer.Model.SaveState(state, "model");
        trainer.Optimizer.SaveState(state);
        trainer.Batches.SaveState(state, "batches");
        return state;
    }

    /// <summary>Puts <paramref name="trainer"/> where the run that <see cref="Snapshot"/> saved had arrived.</summary>
    private static void Restore(Trainer trainer, StateDict state)
    {
        state.CopyTo<float>("model.values", trainer.Model.Values);
        trainer.Model.LoadState(state, "model");
        trainer.Optimizer.LoadState(state);
        trainer.Batches.LoadState(state, "batches");
    }
}
