using System.CommandLine;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// <c>descent train</c>: trains a model (an MLP, a CNN or a transformer) and writes metrics, checkpoints, the model and
/// a summary into an output directory; <c>--resume DIR</c> continues a run bit for bit.
/// </summary>
internal static class TrainCommand
{
    /// <summary>Cores an evaluation spreads over unless --eval-threads says: all, up to 8 (each holds a replica's activations).</summary>
    private static int DefaultEvaluationThreads => Math.Min(Environment.ProcessorCount, 8);

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var training = new TrainingArguments();
        var d = TrainingArguments.Defaults;
        var schedule = TrainingArguments.Text("--schedule", $"learning-rate schedule NAME[:key=value,...], listed below [default: {d.Schedule}]", "spec");
        var warmup = TrainingArguments.Text("--warmup", $"updates of linear warmup from 0 to the schedule's first value, then the schedule; fewer than the run's steps [default: {TrainingArguments.Shown(d.Warmup)}]", "N");
        var steps = TrainingArguments.Text("--steps", $"optimizer steps [default: {TrainingArguments.Shown(d.Steps)}]", "N");
        var epochs = TrainingArguments.Text("--epochs", "passes over the training set (instead of --steps)", "E");
        var evalEvery = TrainingArguments.Text("--eval-every", $"steps between evaluations (metrics rows) [default: {TrainingArguments.Shown(d.EvalEvery)}]", "N");
        var checkpointEvery = TrainingArguments.Text("--checkpoint-every", $"steps between checkpoints [default: {TrainingArguments.Shown(d.CheckpointEvery)}]", "N");
        var outDir = TrainingArguments.Text("--out", "output directory (created)", "DIR");
        var resume = TrainingArguments.Text("--resume", "continue the run in DIR from its last checkpoint (give --steps or --epochs to extend it)", "DIR");
        var format = TrainingArguments.Choice("--format", "what to print at the end on stdout", "text", "text", "json");
        var plot = new Option<bool>("--plot") { Description = "draw the loss, accuracy and learning-rate curves into DIR/curves.png at the end (as descent plot DIR)" };
        var accumulate = TrainingArguments.Text("--accumulate", $"minibatches whose mean gradient makes one update (gradient accumulation); --steps counts updates [default: {TrainingArguments.Shown(d.Accumulate)}]", "K");
        var lookahead = TrainingArguments.Text("--lookahead", $"Lookahead around the optimizer: every K updates the slow weights step towards the fast ones [default: {TrainingArguments.Off(d.LookaheadK)}]", "K");
        var lookaheadAlpha = TrainingArguments.Text("--lookahead-alpha", $"Lookahead's slow step size [default: {TrainingArguments.Shown(d.LookaheadAlpha)}]", "A");
        var ema = TrainingArguments.Text("--ema", $"evaluate and export an exponential moving average of the weights with this decay, e.g. 0.999 [default: {TrainingArguments.Off(d.Ema)}]", "DECAY");
        var emaWarmup = new Option<bool>("--ema-warmup") { Description = "warm the EMA decay up as min(decay, (1 + n) / (10 + n))" };
        var sam = TrainingArguments.Text("--sam", $"sharpness-aware minimization: each update takes its gradient at the worst point within this radius, e.g. 0.05 [default: {TrainingArguments.Off(d.Sam)}]", "RHO");
        var samAdaptive = new Option<bool>("--sam-adaptive") { Description = "adaptive SAM (ASAM): the perturbation scaled by the parameters (use a larger --sam, e.g. 0.5)" };
        var swaStart = TrainingArguments.Text("--swa-start", $"evaluate and export the equal average of the weights after every update past N (stochastic weight averaging) [default: {(d.SwaStart < 0 ? "off" : TrainingArguments.Shown(d.SwaStart))}]", "N");
        var swaLr = TrainingArguments.Text("--swa-lr", "with --swa-start: from update N + 1 the learning rate anneals to LR and stays there (SWALR; every parameter group to the same LR, as torch's scalar swa_lr) [default: the schedule runs on]", "LR");
        var swaAnnealSteps = TrainingArguments.Text("--swa-anneal-steps", $"updates SWALR takes to reach --swa-lr (torch's anneal_epochs) [default: {TrainingArguments.Shown(d.SwaAnnealSteps)}]", "N");
        var swaAnneal = TrainingArguments.Choice("--swa-anneal", "the shape of SWALR's anneal (torch's anneal_strategy)", d.SwaAnneal, "cos", "linear");
        var threads = TrainingArguments.Text("--threads", $"cores that train this run: each minibatch split into N shards run at once (data parallel; without dropout equal to one core's update up to float rounding; not with batch normalization) [default: {d.Threads}]", "N");
        var evalThreads = TrainingArguments.Text("--eval-threads", $"cores each evaluation spreads its chunks over (at least --threads); the metrics are the same to the last bit on any number, so it changes only the evaluations' time and memory; not saved with the run, so --resume may give another [default: this machine's cores, at most 8: {DefaultEvaluationThreads}]", "N");
        var updateBn = TrainingArguments.Text("--update-bn", "minibatches of training data over which batch-norm statistics are recomputed where the model is evaluated at other weights than it trains at (EMA, SWA, Lookahead, schedule-free; torch's update_bn); 0 keeps the training statistics [default: all, one pass]", "N");

        var command = new Command("train", "Train a model (an MLP, a CNN or a transformer, see --model); write metrics, checkpoints, the model and a summary.\n\n" +
            "Schedules (--schedule NAME:key=value,...; lr is --lr, t the update 1, 2, ...; keys left out take the defaults shown):\n  " +
            string.Join("\n  ", Descent.Schedules.ScheduleSpec.Syntax));
        var own = new Option[] { schedule, warmup };
        var length = new Option[] { steps, epochs };
        var intervals = new Option[] { evalEvery, checkpointEvery, threads };
        var wrappers = new Option[] { accumulate, sam, samAdaptive, lookahead, lookaheadAlpha, ema, emaWarmup, swaStart, swaLr, swaAnnealSteps, swaAnneal, updateBn };
        foreach (var o in training.Model.Concat(own).Concat(training.Steps.Take(2)).Concat(length).Concat(training.Steps.Skip(2)).Concat(intervals)
            .Concat(wrappers).Concat([evalThreads, outDir, resume, format, plot]).Concat(training.Hyperparameters.Options)) command.Add(o);
        // What --resume takes beside it: the run's length, its schedule after the checkpoint, and what is not saved with the run.
        var withResume = new Option[] { steps, epochs, schedule, evalThreads, format, plot };

        command.SetAction(parsed =>
        {
            bool Given(Option o) => parsed.GetResult(o) is { Implicit: false };
            string? resumeDir = parsed.GetValue(resume);
            int evaluationThreads = parsed.GetValue(evalThreads) is { } et ? Numbers.Whole(et, "--eval-threads", 1, 256) : DefaultEvaluationThreads;
            string? dir = parsed.GetValue(outDir);
            if (Given(steps) && Given(epochs)) throw new UsageException("Give --steps or --epochs, not both.");
            TrainingConfig config;
            if (resumeDir is not null)
            {
                var extra = command.Options.Where(o => o != resume && !withResume.Contains(o) && Given(o)).Select(o => o.Name).ToList();
                if (extra.Count > 0)
                    throw new UsageException($"--resume continues a run with the settings in its config.json; only {string.Join(", ", withResume.SkipLast(1).Select(o => o.Name))} and {withResume[^1].Name} " +
                        $"may be given with it (--schedule for the updates after the checkpoint; got {string.Join(", ", extra)}).");
                config = RunDirectory(resumeDir, () => Trainer.LoadConfig(resumeDir));
                if (Given(schedule)) config = config with { Schedule = parsed.GetValue(schedule)! };
                if (Given(steps)) config = config with { Steps = TrainingArguments.Long(parsed.GetValue(steps)!, "--steps", 1), Epochs = 0 };
                if (Given(epochs)) config = config with { Epochs = TrainingArguments.Long(parsed.GetValue(epochs)!, "--epochs", 1) };
                dir = Paths.OutputDirectory(resumeDir, "--resume");
            }
            else
            {
                if (dir is null) throw new UsageException("Say where to write the run: --out DIR (or --resume DIR to continue one).");
                if (Given(lookaheadAlpha) && !Given(lookahead)) throw new UsageException("--lookahead-alpha has no effect without --lookahead K.");
                if (Given(emaWarmup) && !Given(ema)) throw new UsageException("--ema-warmup has no effect without --ema DECAY.");
                if (Given(ema) && Given(swaStart)) throw new UsageException("Choose one weight average: --ema or --swa-start, not both.");
                if (Given(samAdaptive) && !Given(sam)) throw new UsageException("--sam-adaptive has no effect without --sam RHO.");
                if (!Given(swaStart) && (Given(swaLr) || Given(swaAnnealSteps) || Given(swaAnneal)))
                    throw new UsageException("--swa-lr, --swa-anneal-steps and --swa-anneal set the learning rate of stochastic weight averaging; give --swa-start N too.");
                if (!Given(swaLr) && (Given(swaAnnealSteps) || Given(swaAnneal)))
                    throw new UsageException("--swa-anneal-steps and --swa-anneal shape the anneal to --swa-lr; give --swa-lr LR too.");
                config = training.Read(parsed) with
                {
                    Schedule = parsed.GetValue(schedule) ?? d.Schedule,
                    Warmup = parsed.GetValue(warmup) is { } w ? TrainingArguments.Long(w, "--warmup", 0) : d.Warmup,
                    Steps = Given(steps) ? TrainingArguments.Long(parsed.GetValue(steps)!, "--steps", 1) : d.Steps,
                    Epochs = Given(epochs) ? TrainingArguments.Long(parsed.GetValue(epochs)!, "--epochs", 1) : d.Epochs,
                    EvalEvery = parsed.GetValue(evalEvery) is { } ee ? TrainingArguments.Long(ee, "--eval-every", 1) : d.EvalEvery,
                    CheckpointEvery = parsed.GetValue(checkpointEvery) is { } ce ? TrainingArguments.Long(ce, "--checkpoint-every", 1) : d.CheckpointEvery,
                    Accumulate = parsed.GetValue(accumulate) is { } ac ? Numbers.Whole(ac, "--accumulate", 1, 1_000_000) : d.Accumulate,
                    LookaheadK = parsed.GetValue(lookahead) is { } la ? Numbers.Whole(la, "--lookahead", 1, 1_000_000) : d.LookaheadK,
                    LookaheadAlpha = parsed.GetValue(lookaheadAlpha) is { } lk ? Numbers.Real(lk, "--lookahead-alpha") : d.LookaheadAlpha,
                    Ema = parsed.GetValue(ema) is { } em ? Numbers.Real(em, "--ema") : d.Ema,
                    EmaWarmup = parsed.GetValue(emaWarmup),
                    SwaStart = parsed.GetValue(swaStart) is { } ss ? TrainingArguments.Long(ss, "--swa-start", 0) : d.SwaStart,
                    SwaLr = parsed.GetValue(swaLr) is { } sl ? Numbers.Real(sl, "--swa-lr") : d.SwaLr,
                    SwaAnnealSteps = parsed.GetValue(swaAnnealSteps) is { } sa ? TrainingArguments.Long(sa, "--swa-anneal-steps", 0) : d.SwaAnnealSteps,
                    SwaAnneal = parsed.GetValue(swaAnneal) ?? d.SwaAnneal,
                    Threads = parsed.GetValue(threads) is { } th ? Numbers.Whole(th, "--threads", 1, 256) : d.Threads,
                    UpdateBn = parsed.GetValue(updateBn) is { } ub && ub != "all"
                        ? int.TryParse(ub, System.Globalization.CultureInfo.InvariantCulture, out int batches) && batches >= 0 ? batches
                            : throw new UsageException($"Invalid --update-bn value '{ub}': expected all or a whole number of minibatches (0 keeps the training statistics).")
                        : d.UpdateBn,
                    Sam = parsed.GetValue(sam) is { } sr ? Numbers.Real(sr, "--sam") : d.Sam,
                    SamAdaptive = parsed.GetValue(samAdaptive),
                };
                if (Directory.Exists(dir) && File.Exists(Path.Combine(dir, "config.json")))
                    throw new UsageException(File.Exists(Path.Combine(dir, RunWriter.CheckpointFile))
                        ? $"{dir} already holds a run; continue it with --resume {dir} or choose another --out."
                        : $"{dir} holds a run that stopped before its first checkpoint, so it cannot be resumed; delete {dir} or choose another --out.");
                if (RunWriter.Written(dir).FirstOrDefault() is { } file)
                    throw new UsageException($"{dir} already holds {file}, which a new run would overwrite; choose another --out (or move the file).");
            }

            var trainer = TrainingArguments.CreateTrainer(config);
            trainer.EvaluationThreads = evaluationThreads;
            long totalSteps = trainer.TotalSteps;
            if (resumeDir is null && training.BatchGiven(parsed) && config.Batch > trainer.Train.Count)
                throw new UsageException($"--batch {config.Batch} is larger than the training set ({trainer.Train.Count} examples); use --batch {trainer.Train.Count} for full-batch training.");
            long from = 0;
            if (resumeDir is not null)
            {
                from = RunDirectory(resumeDir, () => Trainer.CheckpointStep(resumeDir));
                if (totalSteps < from || totalSteps == from && !RunDirectory(resumeDir, () => RunWriter.OnlySummaryLeft(resumeDir, config)))
                    throw new UsageException($"The run in {resumeDir} is already at step {from}, so a run of {totalSteps} steps has nothing left to do; give --steps above {from} (or more --epochs) to extend it.");
            }
            else
            {
                Paths.OutputDirectory(dir!, "--out");
            }
            string plotPath = Path.Combine(dir!, "curves.png");
            var display = new ProgressDisplay(stderr, totalSteps);
            string described = config.Model is { } spec ? $"model {spec} ({trainer.Model.Values.Length:N0} parameters)"
                : $"{trainer.Model.Sizes.Count - 2} hidden layer(s) [{string.Join(", ", trainer.Model.Sizes)}]";
            stderr.WriteLine(resumeDir is null
                ? $"descent: training {described} on {trainer.Train.Name} ({trainer.Train.Count} examples), {config.Optimizer}, {totalSteps} steps -> {dir}"
                : from == totalSteps ? $"descent: finishing {dir}: it reached step {from} but stopped before writing its summary"
                : $"descent: continuing {dir} from step {from} to step {totalSteps}");
            TrainingSummary summary;
            try
            {
                summary = trainer.Run(dir!, resumeDir is not null, display.Report);
            }
            catch (DivergenceException e)
            {
                throw new TrainingException(e.Divergence.Describe("lower --lr or clip gradients (--clip-norm)") + e.Note);
            }
            display.Done();
            if (parsed.GetValue(plot)) Descent.Lab.RunFigures.Save([dir!], plotPath, Descent.Lab.RunFigures.Metrics);
            if (parsed.GetValue(format) == "json")
            {
                stdout.Write(File.ReadAllText(Path.Combine(dir!, "summary.json")));   // the file ends with its newline
            }
            else
            {
                stdout.WriteLine($"steps           {summary.Steps}");
                stdout.WriteLine($"train loss      {summary.TrainLoss:G6}   accuracy {summary.TrainAccuracy:P2}");
                stdout.WriteLine($"test loss       {summary.TestLoss:G6}   accuracy {summary.TestAccuracy:P2}");
                if (trainer.UnigramTestLoss is { } unigram) stdout.WriteLine($"unigram loss    {unigram:G6}   (test loss of the training part's character frequencies)");
                stdout.WriteLine($"time            {summary.Seconds:F2} s ({summary.StepsPerSecond:F0} steps/s)");
                stdout.WriteLine($"written to      {dir}");
                if (parsed.GetValue(plot)) stdout.WriteLine($"curves          {plotPath}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Reads run directory <paramref name="dir"/> for <c>--resume</c>, adding to the library's message what to do instead: start a
    /// new run, elsewhere when <paramref name="dir"/> holds a run's config.json (which <c>--out</c> would not overwrite).
    /// </summary>
    private static T RunDirectory<T>(string dir, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (TrainingException e)
        {
            throw new TrainingException($"{e.Message.TrimEnd('.')}; " + (File.Exists(Path.Combine(dir, "config.json"))
                ? $"start a new run instead: delete {dir} or choose another --out."
                : "start a new run with --out."));
        }
    }
}
