using System.Globalization;
using System.Numerics;
using Descent.Numerics;

namespace Descent.Nn;

/// <summary>
/// Models described in one line (<c>descent train --model SPEC</c>), each the twin of a PyTorch module
/// defined in <c>tools/reference/models.py</c>: a module holding an <c>nn.Sequential</c> as its attribute
/// <c>layers</c>, so parameters are named <c>layers.0.weight</c>, <c>layers.0.bias</c>, ... as its
/// <c>state_dict()</c> names them.
/// </summary>
/// <remarks>
/// A spec is a preset or layers joined by <c>-</c>:
/// <list type="bullet">
/// <item><c>mlp:W1,W2,...[,act=relu]</c>: dense layers of those hidden widths with the activation between them
/// (examples of any shape are read as vectors);</item>
/// <item><c>cnn</c>: the small CNN of the optimizer exercise for 1x28x28 digits,
/// <c>conv:32,k=3,p=1-relu-maxpool:2-conv:64,k=3,p=1-relu-maxpool:2-flatten-linear:128-relu-linear</c>;</item>
/// <item><c>conv:O,k=K[,s=S][,p=P][,alg=auto|unfold|winograd|winograd4x4|winograd6x6]</c> (<see cref="ConvolutionAlgorithm"/>),
/// <c>maxpool:K[,s=S]</c>, <c>avgpool:K[,s=S]</c>, <c>flatten</c>,
/// <c>linear[:N]</c> (N defaults to the model's outputs), <c>dropout:P</c>, <c>batchnorm</c> (BatchNorm1d or
/// BatchNorm2d by the shape), <c>relu</c>, <c>tanh</c>, <c>sigmoid</c>, <c>gelu</c>, <c>identity</c>, and
/// <c>res(SPEC)</c>, a residual connection around a chain;</item>
/// <item>for sequences of token indices <c>[T]</c>: <c>embedding:D[,n=V]</c> (V defaults to the outputs), <c>pos</c>
/// (learned positions), <c>layernorm</c>, <c>attn:H</c> (causal self-attention with H heads), and the preset
/// <c>transformer:layers=L,d=D,heads=H[,ctx=T][,norm=pre|post]</c>; a final <c>linear</c> gives logits per position.</item>
/// </list>
/// </remarks>
public static class ModelSpec
{
    /// <summary>The presets and the chains they stand for.</summary>
    public static IReadOnlyDictionary<string, string> Presets { get; } = new Dictionary<string, string>
    {
        ["cnn"] = "conv:32,k=3,p=1-relu-maxpool:2-conv:64,k=3,p=1-relu-maxpool:2-flatten-linear:128-relu-linear",
    };

    /// <summary>
    /// Builds the model <paramref name="spec"/> for examples of <paramref name="inputShape"/> with
    /// <paramref name="outputs"/> outputs, its parameters drawn by <paramref name="initialization"/> from
    /// <paramref name="rng"/>; dropout layer <c>k</c> (from 0) draws its masks from stream <paramref name="firstDropoutStream"/> + k
    /// of <paramref name="dropoutSeed"/>.
    /// </summary>
    public static Sequential<T> Build<T>(string spec, IReadOnlyList<int> inputShape, int outputs, Initialization initialization, Rng rng, ulong dropoutSeed = 0, int firstDropoutStream = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        string s = spec.Trim().ToLowerInvariant();
        if (outputs < 1) throw new ArgumentException($"Model '{spec}': the number of outputs must be at least 1, got {outputs}.");
        if (s.StartsWith("mlp:", StringComparison.Ordinal) || s == "mlp")
        {
            var (widths, activation) = ParseMlp(spec, s);
            int inputs = 1;
            foreach (int d in inputShape) inputs *= d;
            return new Sequential<T>([inputs, .. widths, outputs], activation, initialization, rng);
        }
        if (Presets.TryGetValue(s, out var chain)) s = chain;
        if (s.StartsWith("transformer:", StringComparison.Ordinal)) s = Transformer(spec, s, inputShape);
        int dropouts = firstDropoutStream;
        var (layers, _) = Chain<T>(spec, s, inputShape, outputs, dropoutSeed, ref dropouts);
        var model = new Sequential<T>(layers);
        model.Rename("layers.");
        model.Initialize(initialization, rng);
        return model;
    }

    /// <summary>A <c>conv</c> item: the layer, with the algorithm it names with <c>alg=</c> (by default <see cref="ConvolutionAlgorithm.Auto"/>).</summary>
    private static Conv2d<T> Convolution<T>(string spec, string item, IReadOnlyList<int> shape, Arguments args) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var image = Image(spec, item, shape);
        int channels = args.Int(0), k = args.Int("k"), stride = args.Int("s", 1);
        var conv = new Conv2d<T>(image, channels, k, stride, args.Int("p", 0, min: 0));
        string name = args.Text("alg", "auto");
        var algorithm = name switch
        {
            "auto" => ConvolutionAlgorithm.Auto,
            "unfold" => ConvolutionAlgorithm.Unfold,
            "winograd" => ConvolutionAlgorithm.Winograd,
            "winograd4x4" => ConvolutionAlgorithm.Winograd4x4,
            "winograd6x6" => ConvolutionAlgorithm.Winograd6x6,
            _ => throw new ArgumentException($"Model '{spec}': '{item}' has alg={name}; use alg=auto, unfold, winograd, winograd4x4 or winograd6x6."),
        };
        if (Conv2d<T>.WinogradSide(algorithm) > 0 && !Winograd<T>.Fits(k, k, stride))
            throw new ArgumentException($"Model '{spec}': '{item}' asks for Winograd's algorithm, which takes 3x3 kernels at stride 1; use alg=unfold or alg=auto.");
        conv.Algorithm = algorithm;
        return conv;
    }

    /// <summary>The context length a <c>transformer:</c> spec names with <c>ctx=</c>; null for other specs or when it names none.</summary>
    public static int? Context(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string s = spec.Trim().ToLowerInvariant();
        if (!s.StartsWith("transformer:", StringComparison.Ordinal)) return null;
        var args = new Arguments(spec, s, s["transformer:".Length..]);
        int ctx = args.Int("ctx", 0, min: 1);
        return ctx > 0 ? ctx : null;
    }

    /// <summary>
    /// <c>transformer:layers=L,d=D,heads=H[,ctx=T][,norm=pre|post]</c> as a chain: token and position embeddings,
    /// L blocks of attention and a 4D-wide GELU feedforward, each in a residual connection with layer
    /// normalization before it (pre, GPT-2) or after the sum (post, the original transformer), and a final
    /// linear layer to the vocabulary (after one more layer normalization when pre).
    /// </summary>
    private static string Transformer(string spec, string s, IReadOnlyList<int> inputShape)
    {
        var args = new Arguments(spec, s, s["transformer:".Length..]);
        int layers = args.Int("layers"), d = args.Int("d"), heads = args.Int("heads");
        int ctx = args.Int("ctx", inputShape[0]);
        string norm = args.Text("norm", "pre");
        args.CheckAllUsed();
        if (inputShape.Count != 1 || ctx != inputShape[0])
            throw new ArgumentException($"Model '{spec}': a transformer reads sequences of ctx={ctx} tokens, but the examples are [{string.Join(", ", inputShape)}]; make ctx= the data's context length.");
        if (norm is not ("pre" or "post")) throw new ArgumentException($"Model '{spec}': norm={norm} is neither pre nor post.");
        var items = new List<string> { $"embedding:{d}", "pos" };
        for (int l = 0; l < layers; l++)
            items.Add(norm == "pre"
                ? $"res(layernorm-attn:{heads})-res(layernorm-linear:{4 * d}-gelu-linear:{d})"
                : $"res(attn:{heads})-layernorm-res(linear:{4 * d}-gelu-linear:{d})-layernorm");
        if (norm == "pre") items.Add("layernorm");
        items.Add("linear");
        return string.Join("-", items);
    }

    private static (int[] Widths, Activation Activation) ParseMlp(string spec, string s)
    {
        var widths = new List<int>();
        var activation = Activation.ReLU;
        foreach (var arg in s.Length > 4 ? s[4..].Split(',', StringSplitOptions.TrimEntries) : [])
        {
            if (arg.StartsWith("act=", StringComparison.Ordinal)) activation = Activations.Parse(arg[4..]);
            else if (int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out int w) && w >= 1) widths.Add(w);
            else throw new ArgumentException($"Model '{spec}': '{arg}' is not a hidden width; write mlp:64,64 (widths of at least 1) with an optional act=tanh.");
        }
        return ([.. widths], activation);
    }

    private static (List<Layer<T>> Layers, IReadOnlyList<int> Shape) Chain<T>(string spec, string chain, IReadOnlyList<int> shape, int outputs, ulong dropoutSeed, ref int dropouts)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var layers = new List<Layer<T>>();
        foreach (string item in Split(spec, chain))
        {
            Layer<T> layer;
            if (item.StartsWith("res(", StringComparison.Ordinal) && item.EndsWith(')'))
            {
                var (body, _) = Chain<T>(spec, item[4..^1], shape, outputs, dropoutSeed, ref dropouts);
                layer = new Residual<T>(new Sequential<T>(body));
            }
            else
            {
                int colon = item.IndexOf(':');
                string name = colon < 0 ? item : item[..colon];
                var args = new Arguments(spec, item, colon < 0 ? "" : item[(colon + 1)..]);
                layer = name switch
                {
                    "linear" => new Linear<T>(shape, args.Count > 0 ? args.Int(0) : outputs),
                    "conv" => Convolution<T>(spec, item, shape, args),
                    "maxpool" => new Pool2d<T>(Pooling.Max, Image(spec, item, shape), args.Int(0), args.Int("s", args.Int(0))),
                    "avgpool" => new Pool2d<T>(Pooling.Average, Image(spec, item, shape), args.Int(0), args.Int("s", args.Int(0))),
                    "flatten" => new Flatten<T>(shape),
                    "dropout" => new Dropout<T>(shape, args.Double(0), Rng.ForStream(dropoutSeed, (ulong)dropouts++)),
                    "batchnorm" => new BatchNorm<T>(shape),
                    "layernorm" => new LayerNorm<T>(shape),
                    "embedding" => new Embedding<T>(shape, args.Int("n", outputs), args.Int(0)),
                    "pos" => new PositionalEmbedding<T>(shape),
                    "attn" => new CausalSelfAttention<T>(shape, args.Int(0)),
                    "relu" or "tanh" or "sigmoid" or "gelu" or "identity" => new Nonlinearity<T>(Activations.Parse(name), shape),
                    _ when item.Length > 0 && (char.IsAsciiDigit(item[0]) || item[0] == '.') => throw new ArgumentException(
                        $"Model '{spec}': '{item}' is not a layer: a '-' separates layers, so a negative number ('linear:-1') splits the spec there; sizes, counts and rates in a model spec are at least 0."),
                    _ => throw new ArgumentException($"Model '{spec}': unknown layer '{item}'; choose conv, maxpool, avgpool, flatten, linear, dropout, batchnorm, layernorm, embedding, pos, attn, relu, tanh, sigmoid, gelu, identity, res(...), or a preset (mlp:W1,W2, cnn, transformer:...)."),
                };
                args.CheckAllUsed();
            }
            layers.Add(layer);
            shape = layer.OutputShape;
        }
        return (layers, shape);
    }

    private static IReadOnlyList<int> Image(string spec, string item, IReadOnlyList<int> shape) => shape.Count == 3 ? shape
        : throw new ArgumentException($"Model '{spec}': '{item}' needs images [C, H, W] but its input is [{string.Join(", ", shape)}]; put it before flatten, or use image data.");

    /// <summary>The items of a chain: <c>-</c> outside parentheses separates them.</summary>
    private static List<string> Split(string spec, string chain)
    {
        var items = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i <= chain.Length; i++)
        {
            if (i < chain.Length && chain[i] == '(') depth++;
            if (i < chain.Length && chain[i] == ')' && --depth < 0) break;
            if (i == chain.Length || chain[i] == '-' && depth == 0)
            {
                string item = chain[start..i].Trim();
                if (item.Length == 0) throw new ArgumentException($"Model '{spec}': an empty layer in '{chain}'; join layers with single dashes, as in conv:8,k=3-relu-flatten-linear.");
                items.Add(item);
                start = i + 1;
            }
        }
        if (depth != 0) throw new ArgumentException($"Model '{spec}': unbalanced parentheses in '{chain}'; write res(LAYERS).");
        return items;
    }

    /// <summary>The arguments of one layer: positional numbers, then <c>key=value</c> pairs.</summary>
    private sealed class Arguments
    {
        private readonly string _spec, _item;
        private readonly List<string> _positional = [];
        private readonly Dictionary<string, string> _named = [];
        private readonly HashSet<string> _used = [];

        public Arguments(string spec, string item, string text)
        {
            (_spec, _item) = (spec, item);
            foreach (var arg in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = arg.IndexOf('=');
                if (eq < 0) _positional.Add(arg);
                else if (!_named.TryAdd(arg[..eq], arg[(eq + 1)..]))
                    throw new ArgumentException($"Model '{spec}': '{item}' gives {arg[..eq]}= twice; give it once.");
            }
        }

        public int Count => _positional.Count;

        public int Int(int index) => index < _positional.Count ? ParseInt(_positional[index], $"argument {index + 1}", 1)
            : throw new ArgumentException($"Model '{_spec}': '{_item}' needs a number as argument {index + 1} (for example conv:32,k=3 or maxpool:2).");

        public int Int(string key) => _named.ContainsKey(key) ? Int(key, 0)
            : throw new ArgumentException($"Model '{_spec}': '{_item}' needs {key}= (for example {(_item.StartsWith("transformer", StringComparison.Ordinal) ? "transformer:layers=2,d=64,heads=4" : "conv:32,k=3")}).");

        public int Int(string key, int fallback, int min = 1)
        {
            _used.Add(key);
            return _named.TryGetValue(key, out var v) ? ParseInt(v, key, min) : fallback;
        }

        public string Text(string key, string fallback)
        {
            _used.Add(key);
            return _named.GetValueOrDefault(key, fallback);
        }

        public double Double(int index)
        {
            if (index >= _positional.Count || !double.TryParse(_positional[index], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new ArgumentException($"Model '{_spec}': '{_item}' needs a number as argument {index + 1} (for example dropout:0.5).");
            return v;
        }

        public void CheckAllUsed()
        {
            foreach (var key in _named.Keys)
                if (!_used.Contains(key)) throw new ArgumentException($"Model '{_spec}': '{_item}' has no option {key}=.");
        }

        private int ParseInt(string text, string what, int min) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= min ? v
            : throw new ArgumentException($"Model '{_spec}': {what} of '{_item}' must be a whole number of at least {min}, got '{text}'.");
    }
}
