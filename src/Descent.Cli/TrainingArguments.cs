using System.CommandLine;
using System.Globalization;
using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// The command-line options that say what is trained and how: data, model, loss, initialization, optimizer with
/// its hyperparameters, batch, clipping and seed. Shared by <c>descent train</c> and <c>descent lr-find</c>, which
/// add their own (the run's length and schedule, the range test's rates).
/// </summary>
internal sealed class TrainingArguments
{
    private readonly Option<string> _data = Choice("--data", "data set (text: characters of a text, for a transformer)", "moons", "moons", "mnist", "fashion-mnist", "csv", "text");
    private readonly Option<string> _dataDir = Text("--data-dir", "directory of MNIST-format IDX files (mnist: default is the embedded 10,000 digits; fashion-mnist: default /usr/share/datasets/fashion-mnist)", "DIR");
    private readonly Option<string> _csv = Text("--csv", "CSV file of features and a label column (for --data csv)", "FILE");
    private readonly Option<string> _text = Text("--text", "UTF-8 text file for --data text; first 90% for training, last 10% for testing [default: the embedded fortunes corpus]", "FILE");
    private readonly Option<string> _context = Text("--context", $"text: characters per example window [default: the model's ctx=, else {Trainer.DefaultContext}]", "T");
    private readonly Option<string> _n = Text("--n", "moons: training points (the test set has as many) [default: 500]", "N");
    private readonly Option<string> _noise = Text("--noise", "moons: Gaussian noise [default: 0.1]", "v");
    private readonly Option<string> _flip = Text("--flip", "moons: probability of flipping each label [default: 0]", "p");
    private readonly Option<string> _stretch = Text("--stretch", "moons: factors on x and y, e.g. --stretch=0.1,10 [default: 1,1]", "SX,SY");
    private readonly Option<string> _hidden = Text("--hidden", "hidden layer widths, e.g. 64,64; empty (--hidden=) for a linear model [default: 64,64]", "W1,W2,...");
    private readonly Option<string> _model = Text("--model", "the model as a spec, instead of --hidden and --activation: mlp:64,64, cnn, transformer:layers=L,d=D,heads=H[,ctx=T][,norm=pre|post], or layers joined by - from conv:O,k=K[,s=S][,p=P], maxpool:K[,s=S], avgpool:K[,s=S], flatten, linear[:N], dropout:P, batchnorm, layernorm, embedding:D[,n=V], pos, attn:H, relu, tanh, sigmoid, gelu, identity, res(SPEC); e.g. conv:8,k=3-relu-flatten-linear", "SPEC");
    private readonly Option<string> _activation = Choice("--activation", "activation after each hidden layer", "relu", "relu", "tanh", "sigmoid", "gelu", "identity");
    private readonly Option<string> _loss = Choice("--loss", "loss", "cross-entropy", "cross-entropy", "bce", "mse");
    private readonly Option<string> _init = Text("--init", "starting weights: drawn as torch, he or xavier draws them, or loaded from a safetensors file named as the model's state_dict (fine-tuning, torch-made weights) [default: torch]", "torch|he|xavier|FILE");
    private readonly Option<string> _optimizer;
    private readonly Option<string> _adamwLr = Text("--adamw-lr", "with --optimizer muon: lr of the AdamW that updates what Muon does not (biases, norms, convolution kernels, embeddings, the output layer); follows the schedule in proportion to --lr [default: 1e-3, AdamW's]", "value");
    private readonly Option<string> _batch = Text("--batch", "minibatch size [default: 32]", "B");
    private readonly Option<bool> _dropLast = new("--drop-last") { Description = "skip the incomplete last batch of each epoch" };
    private readonly Option<string> _clipNorm = Text("--clip-norm", "clip the global gradient norm [default: off]", "v");
    private readonly Option<string> _clipValue = Text("--clip-value", "clip each gradient entry to [-v, v] [default: off]", "v");
    private readonly Option<string> _seed = Text("--seed", "seed of every random draw [default: 0]", "S");

    /// <summary>Creates the options.</summary>
    public TrainingArguments()
    {
        _optimizer = Choice("--optimizer", "optimizer", "adam", [.. Descent.Optim.Optimizers.Names]);
        _optimizer.Aliases.Add("-o");
    }

    /// <summary>The optimizer's hyperparameter options (<c>--lr</c>, <c>--momentum</c>, ...).</summary>
    public OptimizerArguments Hyperparameters { get; } = new();

    /// <summary>The data and model options, in help order (before the command's own).</summary>
    public Option[] Model => [_data, _dataDir, _csv, _text, _context, _n, _noise, _flip, _stretch, _hidden, _model, _activation, _loss, _init, _optimizer, _adamwLr];

    /// <summary>The minibatch, clipping and seed options, in help order (after the command's length options).</summary>
    public Option[] Steps => [_batch, _dropLast, _clipNorm, _clipValue, _seed];

    /// <summary>
    /// The config these options describe, every value checked (a bad one is a <see cref="UsageException"/> naming its
    /// option); the run's length, schedule and evaluation intervals keep <see cref="TrainingConfig"/>'s defaults.
    /// </summary>
    public TrainingConfig Read(ParseResult parsed)
    {
        bool Given(Option o) => parsed.GetResult(o) is { Implicit: false };
        if (Given(_model) && (Given(_hidden) || Given(_activation))) throw new UsageException("--model describes the whole network; give it without --hidden and --activation.");
        string dataName = Given(_data) ? parsed.GetValue(_data)! : Given(_csv) ? "csv" : Given(_text) ? "text" : parsed.GetValue(_data)!;   // --csv FILE alone means --data csv, --text FILE --data text
        RejectIgnored(dataName, Given);
        string initName = parsed.GetValue(_init) ?? "torch";
        if (!Descent.Nn.Initializations.TryParse(initName, out _))
        {
            if (!File.Exists(initName) && !Directory.Exists(initName))
                throw new UsageException($"--init {initName}: neither an initialization (torch, he, xavier) nor an existing file of weights; check the name or the path.");
            initName = Path.GetFullPath(Paths.InputFile(initName, "--init"));
        }
        if (parsed.GetValue(_hidden) is { } hs && string.IsNullOrWhiteSpace(hs) && Given(_activation))
            throw new UsageException("--activation has no effect on a linear model (--hidden= gives no hidden layer); drop --activation or give hidden widths.");
        string optimizerName = parsed.GetValue(_optimizer)!;
        var options = Hyperparameters.Read(parsed, optimizerName);
        if (Given(_adamwLr) && optimizerName != "muon")
            throw new UsageException($"--adamw-lr sets the AdamW beside Muon and applies to --optimizer muon only; {optimizerName}'s learning rate is --lr.");
        var defaults = Descent.Optim.Optimizers.DefaultOptions(optimizerName);
        var hyperparameters = options.Hyperparameters.Where(h => h.Get(options) != h.Get(defaults)).ToDictionary(h => h.Name, h => h.Get(options));
        var (sx, sy) = parsed.GetValue(_stretch) is { } s ? Numbers.Point(s, "--stretch") : (1.0, 1.0);
        return new TrainingConfig
        {
            Data = dataName,
            DataDir = parsed.GetValue(_dataDir) is { } dd ? Paths.InputDirectory(dd, "--data-dir") : null,
            Csv = parsed.GetValue(_csv) is { } cf ? Paths.InputFile(cf, "--csv") : null,
            Text = parsed.GetValue(_text) is { } tf ? Path.GetFullPath(Paths.InputFile(tf, "--text")) : null,
            Context = parsed.GetValue(_context) is { } cx ? Numbers.Whole(cx, "--context", 1, 1_000_000) : 0,
            N = parsed.GetValue(_n) is { } nn ? Numbers.Whole(nn, "--n", 2, 10_000_000) : 500,
            Noise = parsed.GetValue(_noise) is { } nz ? Numbers.Real(nz, "--noise") : 0.1,
            Flip = parsed.GetValue(_flip) is { } f ? Numbers.Real(f, "--flip") : 0,
            StretchX = sx,
            StretchY = sy,
            Hidden = parsed.GetValue(_hidden) is { } h ? Widths(h) : [64, 64],
            Model = parsed.GetValue(_model),
            Activation = parsed.GetValue(_activation)!,
            Loss = parsed.GetValue(_loss)!,
            Init = initName,
            Optimizer = optimizerName,
            Hyperparameters = hyperparameters,
            Batch = parsed.GetValue(_batch) is { } b ? Numbers.Whole(b, "--batch", 1, int.MaxValue) : 32,
            DropLast = parsed.GetValue(_dropLast),
            ClipNorm = parsed.GetValue(_clipNorm) is { } cn ? Numbers.Real(cn, "--clip-norm") : 0,
            ClipValue = parsed.GetValue(_clipValue) is { } cv ? Numbers.Real(cv, "--clip-value") : 0,
            Seed = parsed.GetValue(_seed) is { } sd ? (ulong)Long(sd, "--seed", 0) : 0,
            AdamWLr = parsed.GetValue(_adamwLr) is { } al ? Numbers.Real(al, "--adamw-lr") : null,
        };
    }

    /// <summary>Whether <c>--batch</c> was given (a batch above the training set is then an error, not a silent full batch).</summary>
    public bool BatchGiven(ParseResult parsed) => parsed.GetResult(_batch) is { Implicit: false };

    /// <summary>Rejects options the chosen data set does not read, naming the data set they belong to.</summary>
    private void RejectIgnored(string data, Func<Option, bool> given)
    {
        if (data != "csv" && given(_csv))
            throw new UsageException($"--csv is read only with --data csv, not --data {data}; add --data csv or drop --csv.");
        if (data is not ("mnist" or "fashion-mnist") && given(_dataDir))
            throw new UsageException($"--data-dir is read only with --data mnist or fashion-mnist, not --data {data}; drop it{(data == "csv" ? " (--csv names the file)" : "")}.");
        if (data != "text" && (given(_text) ? _text : given(_context) ? _context : null) is { } textOnly)
            throw new UsageException($"{textOnly.Name} is read only with --data text, not --data {data}; add --data text or drop {textOnly.Name}.");
        if (data != "moons" && new Option[] { _n, _noise, _flip, _stretch }.FirstOrDefault(given) is { } o)
            throw new UsageException($"{o.Name} shapes the moons data and has no effect on --data {data}; drop {o.Name}.");
    }

    /// <summary>An option taking a text value, parsed and checked by the command.</summary>
    public static Option<string> Text(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName };

    /// <summary>An option taking one of <paramref name="values"/>.</summary>
    public static Option<string> Choice(string name, string description, string fallback, params string[] values)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => fallback, HelpName = string.Join('|', values) };
        o.AcceptOnlyFromAmong(values);
        return o;
    }

    /// <summary>A whole number of at least <paramref name="min"/>, or an error naming <paramref name="option"/>.</summary>
    public static long Long(string text, string option, long min)
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
