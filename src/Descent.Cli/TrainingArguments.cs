using Descent.Numerics;
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
    /// <summary>The defaults of every setting: the CLI's parsing and help read them here, never write them again.</summary>
    public static readonly TrainingConfig Defaults = new();

    private readonly Option<string> _data = Choice("--data", "data set (text: characters of a text, for a transformer)", Defaults.Data, "moons", "mnist", "fashion-mnist", "csv", "text");
    private readonly Option<string> _dataDir = Text("--data-dir", "directory of MNIST-format IDX files (mnist: default is the embedded 10,000 digits; fashion-mnist: default /usr/share/datasets/fashion-mnist)", "DIR");
    private readonly Option<string> _csv = Text("--csv", "CSV file of features and a label column (for --data csv)", "FILE");
    private readonly Option<string> _text = Text("--text", "UTF-8 text file for --data text; first 90% for training, last 10% for testing [default: the embedded fortunes corpus]", "FILE");
    private readonly Option<string> _context = Text("--context", $"text: characters per example window [default: the model's ctx=, else {TrainingConfig.DefaultContext}]", "T");
    private readonly Option<string> _classes = Text("--classes", "train and test on the examples of these classes only, e.g. 0-4 or 0,2,4; the model keeps an output for every class (pretrain on 0-4, fine-tune on 5-9) [default: all]", "LIST");
    private readonly Option<string> _n = Text("--n", $"moons: training points (the test set has as many) [default: {Shown(Defaults.N)}]", "N");
    private readonly Option<string> _noise = Text("--noise", $"moons: Gaussian noise [default: {Shown(Defaults.Noise)}]", "v");
    private readonly Option<string> _flip = Text("--flip", $"moons: probability of flipping each label [default: {Shown(Defaults.Flip)}]", "p");
    private readonly Option<string> _stretch = Text("--stretch", $"moons: factors on x and y, e.g. --stretch=0.1,10 [default: {Shown(Defaults.StretchX)},{Shown(Defaults.StretchY)}]", "SX,SY");
    private readonly Option<string> _hidden = Text("--hidden", $"hidden layer widths, e.g. 64,64; empty (--hidden=) for a linear model [default: {string.Join(',', Defaults.Hidden)}]", "W1,W2,...");
    private readonly Option<string> _model = Text("--model", "the model as a spec, instead of --hidden and --activation: mlp:64,64, cnn, transformer:layers=L,d=D,heads=H[,ctx=T][,norm=pre|post], or layers joined by - from conv:O,k=K[,s=S][,p=P][,alg=auto|unfold|winograd|winograd4x4|winograd6x6], maxpool:K[,s=S], avgpool:K[,s=S], flatten, linear[:N], dropout:P, batchnorm, layernorm, embedding:D[,n=V], pos, attn:H, relu, tanh, sigmoid, gelu, identity, res(SPEC); e.g. conv:8,k=3-relu-flatten-linear", "SPEC");
    private readonly Option<string> _activation = Choice("--activation", "activation after each hidden layer", Defaults.Activation, "relu", "tanh", "sigmoid", "gelu", "identity");
    private readonly Option<string> _loss = Choice("--loss", "loss", Defaults.Loss, "cross-entropy", "bce", "mse");
    private readonly Option<string> _init = Text("--init", $"starting weights: drawn as torch, he or xavier draws them, or loaded from a safetensors file named as the model's state_dict (fine-tuning, torch-made weights) [default: {Defaults.Init}]", "torch|he|xavier|FILE");
    // Not a Choice: a mistyped name gets the library's message (the names, and the nearest one), as trajectory gives it.
    private readonly Option<string> _optimizer = new("--optimizer", "-o")
    {
        Description = "optimizer",
        DefaultValueFactory = _ => Defaults.Optimizer,
        HelpName = string.Join('|', Descent.Optim.Optimizers.Names),
    };
    private readonly Option<string[]> _paramGroup = new("--param-group")
    {
        Description = "a parameter group with its own hyperparameters, as PyTorch's param_groups: the parameters whose state_dict names match PATTERN (* any characters, ? one), " +
            "not claimed by an earlier --param-group, e.g. 'layers.0.*:lr=1e-4' or '*.bias:weight_decay=0'; its lr follows the schedule from its own value, as a torch scheduler steps each group (repeat for more groups)",
        HelpName = "PATTERN:NAME=V[,NAME=V]",
        AllowMultipleArgumentsPerToken = false,
    };
    private readonly Option<string> _adamwLr = Text("--adamw-lr", $"with --optimizer muon: lr of the AdamW that updates what Muon does not (biases, norms, convolution kernels, embeddings, the output layer); follows the schedule from its own value [default: {Shown(new Descent.Optim.AdamWOptions().LearningRate)}, AdamW's]", "value");
    private readonly Option<string> _batch = Text("--batch", $"minibatch size [default: {Shown(Defaults.Batch)}]", "B");
    private readonly Option<bool> _dropLast = new("--drop-last") { Description = "skip the incomplete last batch of each epoch" };
    private readonly Option<string> _clipNorm = Text("--clip-norm", $"clip the global gradient norm [default: {Off(Defaults.ClipNorm)}]", "v");
    private readonly Option<string> _clipValue = Text("--clip-value", $"clip each gradient entry to [-v, v] [default: {Off(Defaults.ClipValue)}]", "v");
    private readonly Option<string> _seed = Text("--seed", $"seed of every random draw [default: {Shown(Defaults.Seed)}]", "S");

    /// <summary>The optimizer's hyperparameter options (<c>--lr</c>, <c>--momentum</c>, ...).</summary>
    public OptimizerArguments Hyperparameters { get; } = new();

    /// <summary>The data and model options, in help order (before the command's own).</summary>
    public Option[] Model => [_data, _dataDir, _csv, _text, _context, _classes, _n, _noise, _flip, _stretch, _hidden, _model, _activation, _loss, _init, _optimizer, _paramGroup, _adamwLr];

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
        if (dataName == "csv" && !Given(_csv)) throw new UsageException("--data csv needs --csv FILE.");
        string initName = parsed.GetValue(_init) ?? Defaults.Init;
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
        var (sx, sy) = parsed.GetValue(_stretch) is { } s ? Numbers.Point(s, "--stretch") : (Defaults.StretchX, Defaults.StretchY);
        return new TrainingConfig
        {
            Data = dataName,
            DataDir = parsed.GetValue(_dataDir) is { } dd ? Paths.InputDirectory(dd, "--data-dir") : null,
            Csv = parsed.GetValue(_csv) is { } cf ? Paths.InputFile(cf, "--csv") : null,
            Text = parsed.GetValue(_text) is { } tf ? Path.GetFullPath(Paths.InputFile(tf, "--text")) : null,
            Context = parsed.GetValue(_context) is { } cx ? Numbers.Whole(cx, "--context", 1, 1_000_000) : Defaults.Context,
            N = parsed.GetValue(_n) is { } nn ? Numbers.Whole(nn, "--n", 2, 10_000_000) : Defaults.N,
            Noise = parsed.GetValue(_noise) is { } nz ? Numbers.Real(nz, "--noise") : Defaults.Noise,
            Flip = parsed.GetValue(_flip) is { } f ? Numbers.Real(f, "--flip") : Defaults.Flip,
            StretchX = sx,
            StretchY = sy,
            Hidden = parsed.GetValue(_hidden) is { } h ? Widths(h) : Defaults.Hidden,
            Model = parsed.GetValue(_model),
            Activation = parsed.GetValue(_activation)!,
            Loss = parsed.GetValue(_loss)!,
            Init = initName,
            Optimizer = optimizerName,
            Hyperparameters = hyperparameters,
            Batch = parsed.GetValue(_batch) is { } b ? Numbers.Whole(b, "--batch", 1, int.MaxValue) : Defaults.Batch,
            DropLast = parsed.GetValue(_dropLast),
            ClipNorm = parsed.GetValue(_clipNorm) is { } cn ? Numbers.Real(cn, "--clip-norm") : Defaults.ClipNorm,
            ClipValue = parsed.GetValue(_clipValue) is { } cv ? Numbers.Real(cv, "--clip-value") : Defaults.ClipValue,
            Seed = parsed.GetValue(_seed) is { } sd ? (ulong)Long(sd, "--seed", 0) : Defaults.Seed,
            AdamWLr = parsed.GetValue(_adamwLr) is { } al ? Numbers.Real(al, "--adamw-lr") : Defaults.AdamWLr,
            Classes = parsed.GetValue(_classes) is { } cl ? Classes(cl) : null,
            ParameterGroups = [.. (parsed.GetValue(_paramGroup) ?? []).Select(g => ParameterGroup(g, optimizerName))],
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

    /// <summary>A default as the help shows it (invariant culture).</summary>
    public static string Shown(double value) =>
        RoundTrip.Format(value).Replace("E-0", "e-", StringComparison.Ordinal).Replace("E+0", "e", StringComparison.Ordinal)
            .Replace("E-", "e-", StringComparison.Ordinal).Replace("E+", "e", StringComparison.Ordinal);

    /// <summary>A default where 0 means off, as the help shows it.</summary>
    public static string Off(double value) => value == 0 ? "off" : Shown(value);

    /// <summary>
    /// The option that sets <see cref="TrainingConfig"/> property <paramref name="setting"/>: its name in kebab case
    /// (<c>EvalEvery</c> is <c>--eval-every</c>) but for the three spelled otherwise.
    /// </summary>
    public static string Flag(string setting) => setting switch
    {
        nameof(TrainingConfig.StretchX) or nameof(TrainingConfig.StretchY) => "--stretch",
        nameof(TrainingConfig.LookaheadK) => "--lookahead",
        nameof(TrainingConfig.AdamWLr) => "--adamw-lr",
        nameof(TrainingConfig.Hyperparameters) => "--lr",
        nameof(TrainingConfig.ParameterGroups) => "--param-group",
        _ => "--" + string.Concat(setting.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString())),
    };

    /// <summary>
    /// Builds the trainer of <paramref name="config"/>, wording a bad setting with the option that sets it
    /// (the library's message names the config property, not a flag).
    /// </summary>
    public static Trainer CreateTrainer(TrainingConfig config)
    {
        try
        {
            return new Trainer(config);
        }
        catch (ConfigException e)
        {
            throw new UsageException($"{e.Message.TrimEnd('.')} (set with {Flag(e.Setting)}{(e.ConflictsWith is { } other ? $" and {Flag(other)}" : "")}).");
        }
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

    /// <summary>A list of class numbers and ranges (<c>0-4</c>, <c>0,2,4</c>, <c>0-2,7</c>), sorted, each once.</summary>
    private static int[] Classes(string text)
    {
        var classes = new SortedSet<int>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var ends = item.Split('-', StringSplitOptions.TrimEntries);
            if (ends.Length is < 1 or > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                throw new UsageException($"Invalid --classes value '{text}': expected class numbers and ranges separated by commas, e.g. 0-4 or 0,2,4.");
            int from = int.Parse(ends[0], CultureInfo.InvariantCulture), to = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (to < from) throw new UsageException($"Invalid --classes range '{item}': it runs backwards; write {to}-{from}.");
            if (to - from > 100_000) throw new UsageException($"Invalid --classes range '{item}': more than 100,000 classes.");
            for (int c = from; c <= to; c++) classes.Add(c);
        }
        return [.. classes];
    }

    /// <summary>A <c>--param-group</c> value, <c>PATTERN:NAME=V[,NAME=V]</c>, each hyperparameter checked against <paramref name="optimizer"/>'s.</summary>
    private static ParameterGroupConfig ParameterGroup(string text, string optimizer)
    {
        int colon = text.LastIndexOf(':');
        string pattern = colon < 0 ? "" : text[..colon].Trim();
        if (colon < 0 || pattern.Length == 0 || text[(colon + 1)..].Trim().Length == 0)
            throw new UsageException($"Invalid --param-group '{text}': expected a name pattern, a colon and hyperparameters by PyTorch name, e.g. 'layers.0.*:lr=1e-4'.");
        var options = Descent.Optim.Optimizers.DefaultOptions(optimizer);
        var hyperparameters = new Dictionary<string, double>();
        foreach (var setting in text[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries))
        {
            int eq = setting.IndexOf('=');
            if (eq <= 0) throw new UsageException($"Invalid --param-group setting '{setting}' in '{text}': expected NAME=VALUE, e.g. lr=1e-4.");
            string name = setting[..eq].Trim();
            try { options.Find(name); }
            catch (ArgumentException e) { throw new UsageException($"--param-group '{text}': {e.Message}"); }
            double value = Numbers.Real(setting[(eq + 1)..].Trim(), $"--param-group {name}");
            options.Set(name, value);
            hyperparameters[name] = value;
        }
        return new ParameterGroupConfig { Pattern = pattern, Hyperparameters = hyperparameters };
    }

    private static int[] Widths(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        return [.. text.Split(',').Select(w => int.TryParse(w.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 1 ? v
            : throw new UsageException($"Invalid --hidden value '{text}': expected widths >= 1 separated by commas, e.g. 64,64 (or --hidden= for none)."))];
    }
}
