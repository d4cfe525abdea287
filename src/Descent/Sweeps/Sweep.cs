using System.Text.Json;
using System.Text.Json.Nodes;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.Schedules;
using Descent.Training;

namespace Descent.Sweeps;

/// <summary>
/// A sweep: a base training config and the axes to vary, read from a JSON file such as
/// <code>
/// {
///   "base": { "data": "moons", "hidden": [16, 16], "steps": 2000 },
///   "axes": {
///     "optimizer": ["sgd", "adam"],
///     "lr": { "log_uniform": [1e-4, 1e-1], "count": 4 },
///     "batch": [8, 64]
///   },
///   "seeds": 3,
///   "metric": "test_loss"
/// }
/// </code>
/// <c>base</c> takes any setting of <c>config.json</c> (<see cref="TrainingConfig"/> in snake case, <c>adamw_lr</c>). An axis is a setting or an
/// optimizer hyperparameter by its PyTorch name, with a list of values or a range (<c>log_uniform</c> or <c>uniform</c>) and a
/// count of grid points. The trials are every combination (the first axis varies slowest), each with every seed
/// (<c>seeds</c>: a count from 0 or a list). With <c>"sample": {"count": K, "seed": S}</c> the grid is replaced by K points
/// drawn at random from generator seed S: ranges (given without a count) log-uniformly or uniformly, lists uniformly.
/// </summary>
public sealed class Sweep
{
    private static readonly JsonSerializerOptions ConfigJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The settings of <see cref="TrainingConfig"/> by their <c>config.json</c> names, and whether each takes whole numbers.</summary>
    public static IReadOnlyDictionary<string, bool> Settings { get; } = TrainingConfig.Keys
        .ToDictionary(p => p.Value, p => p.Key.PropertyType == typeof(int) || p.Key.PropertyType == typeof(long) || p.Key.PropertyType == typeof(ulong));

    /// <summary>Every optimizer hyperparameter name (any optimizer's).</summary>
    public static IReadOnlyList<string> HyperparameterNames { get; } =
        [.. Optimizers.Names.SelectMany(n => Optimizers.DefaultOptions(n).Hyperparameters.Select(h => h.Name)).Distinct()];

    /// <summary>The hyperparameters that are counts wherever they appear (L-BFGS's max_iter, ...): a range axis of one draws whole numbers.</summary>
    private static readonly HashSet<string> WholeHyperparameters =
        [.. Optimizers.Names.SelectMany(n => Optimizers.DefaultOptions(n).Hyperparameters).GroupBy(h => h.Name).Where(g => g.All(h => h.Whole)).Select(g => g.Key)];

    /// <summary>The metrics a sweep can rank settings by, and whether larger is better.</summary>
    public static IReadOnlyDictionary<string, bool> Metrics { get; } = new Dictionary<string, bool>
    {
        ["test_loss"] = false,
        ["test_accuracy"] = true,
        ["train_loss"] = false,
        ["train_accuracy"] = true,
    };

    private Sweep(string source, JsonObject baseConfig, IReadOnlyList<Axis> axes, IReadOnlyList<ulong> seeds, int sampleCount, ulong sampleSeed, string metric, JsonObject document)
    {
        Source = source;
        Base = baseConfig;
        Axes = axes;
        Seeds = seeds;
        SampleCount = sampleCount;
        SampleSeed = sampleSeed;
        Metric = metric;
        Document = document;
    }

    /// <summary>Where the sweep was read from (named in messages).</summary>
    public string Source { get; }

    /// <summary>The base settings as written in the file.</summary>
    public JsonObject Base { get; }

    /// <summary>The axes, in file order (the first varies slowest).</summary>
    public IReadOnlyList<Axis> Axes { get; }

    /// <summary>The seeds every point runs with (the innermost axis); empty when the base or an axis sets <c>seed</c>.</summary>
    public IReadOnlyList<ulong> Seeds { get; }

    /// <summary>Random points drawn instead of the grid (0: the grid).</summary>
    public int SampleCount { get; }

    /// <summary>The seed of the random sampling (separate from the training seeds).</summary>
    public ulong SampleSeed { get; }

    /// <summary>The final metric settings are ranked by: <c>test_loss</c> (default), <c>test_accuracy</c>, <c>train_loss</c> or <c>train_accuracy</c>.</summary>
    public string Metric { get; }

    /// <summary>The whole file as parsed (saved with the results so that status and report need only the output directory).</summary>
    public JsonObject Document { get; }

    /// <summary>The resolved base config (the base settings alone, without the axes).</summary>
    public TrainingConfig BaseConfig => Resolve([]);

    /// <summary>Reads a sweep file; every mistake is an <see cref="ArgumentException"/> naming the file, the setting and the fix.</summary>
    public static Sweep Load(string path)
    {
        if (!File.Exists(path)) throw new ArgumentException($"Sweep file {path} not found.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses a sweep from JSON text; <paramref name="source"/> names it in messages.</summary>
    public static Sweep Parse(string json, string source)
    {
        JsonObject doc;
        try
        {
            doc = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new ArgumentException($"{source}: a sweep file is a JSON object with \"base\" and \"axes\".");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source}: not valid JSON ({e.Message}).");
        }
        string[] known = ["base", "axes", "seeds", "sample", "metric"];
        foreach (var (key, _) in doc)
            if (!known.Contains(key)) throw new ArgumentException($"{source}: unknown key \"{key}\"; a sweep file has {string.Join(", ", known.Select(k => $"\"{k}\""))}.");

        var baseConfig = doc["base"] switch
        {
            null => new JsonObject(),
            JsonObject o => (JsonObject)o.DeepClone(),
            _ => throw new ArgumentException($"{source}: \"base\" must be an object of training settings, e.g. {{\"data\": \"moons\", \"steps\": 2000}}."),
        };
        foreach (var (key, _) in baseConfig)
            if (!Settings.ContainsKey(key) && !TrainingConfig.EarlierKeys.ContainsKey(key))   // an earlier name reads as the setting's (TrainingConfig)
                throw new ArgumentException($"{source}: unknown setting \"{key}\" in \"base\"; the settings are {string.Join(", ", Settings.Keys)} (hyperparameters go in \"hyperparameters\" or on an axis).");

        var axes = new List<Axis>();
        if (doc["axes"] is { } axesNode)
        {
            if (axesNode is not JsonObject axesObject) throw new ArgumentException($"{source}: \"axes\" must be an object mapping a setting to its values, e.g. {{\"lr\": [0.001, 0.01]}}.");
            foreach (var (name, node) in axesObject) axes.Add(ParseAxis(source, TrainingConfig.EarlierKeys.GetValueOrDefault(name, name), node));
        }

        bool sampling = doc["sample"] is not null;
        int sampleCount = 0;
        ulong sampleSeed = 0;
        if (doc["sample"] is { } sampleNode)
        {
            if (sampleNode is not JsonObject s || s["count"] is null || s.Any(p => p.Key is not ("count" or "seed")))
                throw new ArgumentException($"{source}: \"sample\" must be {{\"count\": K, \"seed\": S}} (K random points drawn with generator seed S).");
            sampleCount = Whole(source, "sample.count", s["count"], 1);
            sampleSeed = s["seed"] is { } ss ? (ulong)Whole(source, "sample.seed", ss, 0) : 0;
        }
        foreach (var axis in axes)
        {
            if (sampling && axis.Kind != AxisKind.List && axis.Count > 0)
                throw new ArgumentException($"{source}: axis \"{axis.Name}\" gives a count, but with \"sample\" ranges are drawn at random: remove \"count\" (the number of points is sample.count).");
            if (!sampling && axis.Kind != AxisKind.List && axis.Count == 0)
                throw new ArgumentException($"{source}: axis \"{axis.Name}\" needs a \"count\" of grid points (or a \"sample\" section to draw it at random).");
        }

        var seeds = new List<ulong>();
        if (doc["seeds"] is { } seedsNode)
        {
            if (axes.Any(a => a.Name == "seed") || baseConfig.ContainsKey("seed"))
                throw new ArgumentException($"{source}: \"seeds\" and a \"seed\" setting both give seeds; keep one.");
            if (seedsNode is JsonArray list)
            {
                if (list.Count == 0) throw new ArgumentException($"{source}: \"seeds\" is empty; give at least one seed.");
                seeds.AddRange(list.Select(v => (ulong)Whole(source, "seeds", v, 0)));
            }
            else
            {
                int count = Whole(source, "seeds", seedsNode, 1);
                for (int i = 0; i < count; i++) seeds.Add((ulong)i);
            }
            if (seeds.Distinct().Count() != seeds.Count) throw new ArgumentException($"{source}: \"seeds\" lists a seed twice.");
        }

        string metric = doc["metric"] is { } m ? (m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : "") : "test_loss";
        if (!Metrics.ContainsKey(metric))
            throw new ArgumentException($"{source}: unknown metric \"{metric}\"; choose {string.Join(", ", Metrics.Keys)}.");

        var sweep = new Sweep(source, baseConfig, axes, seeds, sampleCount, sampleSeed, metric, doc);
        sweep.Validate(sweep.BaseConfig, "base");
        return sweep;
    }

    private static Axis ParseAxis(string source, string name, JsonNode? node)
    {
        bool hyper = HyperparameterNames.Contains(name);
        if (!Settings.TryGetValue(name, out bool integer) && !hyper)
            throw new ArgumentException($"{source}: unknown setting \"{name}\" on an axis; an axis is a setting ({string.Join(", ", Settings.Keys.Where(k => k != "hyperparameters"))}) or a hyperparameter ({string.Join(", ", HyperparameterNames)}).");
        integer |= hyper && WholeHyperparameters.Contains(name);
        if (name == "hyperparameters") throw new ArgumentException($"{source}: put each hyperparameter on its own axis (e.g. \"lr\": [0.01, 0.1]).");
        switch (node)
        {
            case JsonArray list:
                if (list.Count == 0) throw new ArgumentException($"{source}: axis \"{name}\" is empty; give at least one value.");
                return new Axis(name, AxisKind.List, [.. list.Select(v => v?.DeepClone() ?? throw new ArgumentException($"{source}: axis \"{name}\" lists null; give values."))], 0, 0, 0, integer);
            case JsonObject range:
                var kinds = range.Where(p => p.Key is "log_uniform" or "uniform").ToList();
                if (kinds.Count != 1 || range.Any(p => p.Key is not ("log_uniform" or "uniform" or "count")))
                    throw new ArgumentException($"{source}: axis \"{name}\": a range is {{\"log_uniform\": [low, high], \"count\": n}} or {{\"uniform\": [low, high], \"count\": n}}.");
                var kind = kinds[0].Key == "log_uniform" ? AxisKind.LogUniform : AxisKind.Uniform;
                if (kinds[0].Value is not JsonArray { Count: 2 } ends || ends.Any(e => e?.GetValueKind() != JsonValueKind.Number))
                    throw new ArgumentException($"{source}: axis \"{name}\": \"{kinds[0].Key}\" takes two numbers [low, high].");
                double low = ends[0]!.GetValue<double>(), high = ends[1]!.GetValue<double>();
                if (!(low <= high) || !double.IsFinite(low) || !double.IsFinite(high))
                    throw new ArgumentException($"{source}: axis \"{name}\": the range [{low}, {high}] needs finite ends with low <= high.");
                if (kind == AxisKind.LogUniform && low <= 0)
                    throw new ArgumentException($"{source}: axis \"{name}\": a log-uniform range needs low > 0 (got {low}).");
                int count = range["count"] is { } c ? Whole(source, $"axes.{name}.count", c, 0) : 0;
                if (range["count"] is not null && count == 0) throw new ArgumentException($"{source}: axis \"{name}\" is empty (count 0); give a count of at least 1.");
                return new Axis(name, kind, [], low, high, count, integer);
            default:
                throw new ArgumentException($"{source}: axis \"{name}\" must be a list of values or a range such as {{\"log_uniform\": [1e-4, 1e-1], \"count\": 4}}.");
        }
    }

    private static int Whole(string source, string what, JsonNode? node, int min)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d) && d == Math.Floor(d) && d >= min && d <= int.MaxValue)
            return (int)d;
        throw new ArgumentException($"{source}: \"{what}\" must be a whole number >= {min} (got {node?.ToJsonString() ?? "null"}).");
    }

    /// <summary>The most trials one sweep plans (each is a run directory).</summary>
    public const int MaxTrials = 1_000_000;

    /// <summary>
    /// The trials in order: the grid (or the random points), each with every seed. Trials that resolve to the same config are
    /// kept once. Every trial's config is checked here (names, hyperparameters and their ranges, schedule), before any work.
    /// </summary>
    public IReadOnlyList<Trial> Plan()
    {
        // Counted before anything is built: a count typo (a 1e10-point grid) would otherwise fill memory for minutes.
        double count = (SampleCount > 0 ? SampleCount : Axes.Aggregate(1.0, (n, a) => n * (a.Kind == AxisKind.List ? a.Values.Count : a.Count)))
            * Math.Max(1, Seeds.Count);
        if (count > MaxTrials)
            throw new ArgumentException($"{Source}: the sweep has {count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} trials, more than the {MaxTrials.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} one plan may hold; use fewer values or a random \"sample\", or split it into several sweeps.");
        var points = new List<List<(string Axis, JsonNode Value)>>();
        if (SampleCount > 0)
        {
            var rng = new Rng(SampleSeed);
            for (int k = 0; k < SampleCount; k++) points.Add([.. Axes.Select(a => (a.Name, a.Draw(rng)))]);
        }
        else
        {
            points.Add([]);
            foreach (var axis in Axes)
                points = [.. points.SelectMany(p => axis.Grid().Select(v => new List<(string, JsonNode)>([.. p, (axis.Name, v)])))];
        }
        var trials = new List<Trial>();
        var seen = new HashSet<string>();
        foreach (var point in points)
            foreach (var seed in Seeds.Count > 0 ? Seeds.Select(s => (ulong?)s) : [null])
            {
                var settings = seed is null ? point : [.. point, ("seed", JsonValue.Create(seed.Value))];
                var config = Resolve(settings);
                string id = TrialId.Of(config);
                if (!seen.Add(id)) continue;
                Validate(config, string.Join(", ", settings.Select(s => $"{s.Axis}={Display(s.Value)}")));
                trials.Add(new Trial(trials.Count, id, [.. settings.Select(s => new KeyValuePair<string, string>(s.Axis, Display(s.Value)))], config));
            }
        return trials;
    }

    /// <summary>The names of the trials' axes in order (the seed last when the sweep gives seeds).</summary>
    public IReadOnlyList<string> AxisNames => [.. Axes.Select(a => a.Name), .. Seeds.Count > 0 ? ["seed"] : Array.Empty<string>()];

    private TrainingConfig Resolve(IReadOnlyList<(string Axis, JsonNode Value)> settings)
    {
        var node = (JsonObject)Base.DeepClone();
        foreach (var (axis, value) in settings)
        {
            if (Settings.ContainsKey(axis))
            {
                node[axis] = value.DeepClone();
                continue;
            }
            if (node["hyperparameters"] is not JsonObject h) node["hyperparameters"] = h = [];
            h[axis] = value.DeepClone();
        }
        try
        {
            return node.Deserialize<TrainingConfig>(ConfigJson) ?? throw new ArgumentException($"{Source}: \"base\" is empty.");
        }
        catch (JsonException e)
        {
            string where = e.Path is { Length: > 2 } p ? $"setting \"{p[2..]}\"" : "a setting";
            throw new ArgumentException($"{Source}: {where} has a value of the wrong type ({e.Message.Split(". Path")[0]}).");
        }
    }

    /// <summary>Checks what can be checked without loading data; a mistake names the trial.</summary>
    private void Validate(TrainingConfig c, string trial)
    {
        try
        {
            if (c.Data.Trim().ToLowerInvariant() is not ("moons" or "mnist" or "fashion-mnist" or "csv" or "text"))
                throw new ArgumentException($"Unknown data '{c.Data}': choose moons, mnist, fashion-mnist, csv or text.");
            Activations.Parse(c.Activation);
            Losses.Parse(c.Loss);
            if (!Initializations.TryParse(c.Init, out _) && !File.Exists(c.Init))
                throw new ArgumentException($"Unknown initialization '{c.Init}': choose torch, he or xavier, or give an existing .safetensors file of starting weights.");
            var options = Optimizers.DefaultOptions(c.Optimizer);
            foreach (var (name, value) in c.Hyperparameters) options.Set(name, value);
            options.Validate();
            TrainingSetup.Check(c);
            if (c.Batch < 1) throw new ArgumentException($"Invalid batch size {c.Batch}: must be at least 1.");
            string data = c.Data.Trim().ToLowerInvariant();
            // The training set's size is known without loading only for the moons; a larger batch would be cut to it.
            if (data == "moons" && c.Batch > c.N && c.Batch != Defaults.Batch)
                throw new ArgumentException($"batch {c.Batch} is larger than the training set ({c.N} moons examples): give at most n.");
            if (c.Epochs == 0) TrainingSetup.CheckSwaStart(c.SwaStart, c.Steps);   // an epoch run's length needs its data
            ScheduleSpec.Parse(c.Schedule, options.LearningRate, Math.Max(1, c.Steps), c.Warmup);
            if (ScheduleSpec.Momentum(c.Schedule, Math.Max(1, c.Steps), c.Warmup) is not null) TrainingSetup.MomentumName(options, c.Optimizer, c.Schedule);
            CheckModel(c, data);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{Source}: trial {trial}: {e.Message}");
        }
    }

    private static readonly TrainingConfig Defaults = new();

    /// <summary>Model specs already built for their data (a grid repeats each many times).</summary>
    private readonly HashSet<(string Spec, string Data, int Context)> _models = [];

    /// <summary>
    /// Builds the trial's model spec for its data's example shape (not known for csv, whose width is in the file), so a
    /// mistyped layer or key is reported when the sweep is planned rather than as every trial's failure.
    /// </summary>
    private void CheckModel(TrainingConfig c, string data)
    {
        // An IDX directory may hold images of another size than MNIST's.
        if (c.Model is not { } spec || c.DataDir is not null) return;
        int context = c.Context > 0 ? c.Context : ModelSpec.Context(spec) ?? TrainingConfig.DefaultContext;
        int[]? shape = data switch
        {
            "moons" => [2],
            "mnist" or "fashion-mnist" => [1, 28, 28],
            "text" => [context],
            _ => null,
        };
        if (shape is null || !_models.Add((spec, data, context))) return;
        ModelSpec.Build<float>(spec, shape, data == "moons" ? 2 : 10, Initialization.Torch, new Rng(0));
    }

    /// <summary>An axis value as text: strings bare, numbers and lists as JSON.</summary>
    public static string Display(JsonNode value) =>
        value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
}
