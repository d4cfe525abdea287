using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Descent.Training;

/// <summary>
/// Everything that defines a training run; saved as <c>config.json</c> in the output directory so a
/// run can be resumed (and reproduced) from it alone.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary><c>moons</c>, <c>mnist</c>, <c>fashion-mnist</c>, <c>csv</c> or <c>text</c>.</summary>
    public string Data { get; init; } = "moons";

    /// <summary>Directory of MNIST-format IDX files (for <c>mnist</c> and <c>fashion-mnist</c>); null for the defaults.</summary>
    public string? DataDir { get; init; }

    /// <summary>CSV file for <c>csv</c> data.</summary>
    public string? Csv { get; init; }

    /// <summary>UTF-8 text file for <c>text</c> data; null for the embedded corpus (<see cref="Data.CharText.Embedded"/>).</summary>
    public string? Text { get; init; }

    /// <summary>Text: characters per example window; 0 for the model's <c>ctx=</c>, or <see cref="DefaultContext"/> when it gives none.</summary>
    public int Context { get; init; }

    /// <summary>Characters per window of text data when neither <see cref="Context"/> nor the model's <c>ctx=</c> gives it.</summary>
    public const int DefaultContext = 64;

    /// <summary>
    /// The classes to train and test on (the examples of every other class are left out of both sets, the model keeps an
    /// output for every class); null for all. Pretrain on digits 0-4 and fine-tune on 5-9 this way.
    /// </summary>
    public int[]? Classes { get; init; }

    /// <summary>Moons: number of training points (the test set has as many).</summary>
    public int N { get; init; } = 500;

    /// <summary>Moons: standard deviation of the Gaussian noise.</summary>
    public double Noise { get; init; } = 0.1;

    /// <summary>Moons: probability that a label is flipped.</summary>
    public double Flip { get; init; }

    /// <summary>Moons: factor on x.</summary>
    public double StretchX { get; init; } = 1;

    /// <summary>Moons: factor on y.</summary>
    public double StretchY { get; init; } = 1;

    /// <summary>
    /// The model as a spec (<see cref="Nn.ModelSpec"/>: <c>mlp:64,64</c>, <c>cnn</c>, a chain of layers); null for the dense
    /// network of <see cref="Hidden"/> and <see cref="Activation"/>.
    /// </summary>
    public string? Model { get; init; }

    /// <summary>Hidden layer widths (empty for a linear model).</summary>
    public int[] Hidden { get; init; } = [64, 64];

    /// <summary>Activation after each hidden layer.</summary>
    public string Activation { get; init; } = "relu";

    /// <summary>Loss: <c>cross-entropy</c>, <c>bce</c> or <c>mse</c>.</summary>
    public string Loss { get; init; } = "cross-entropy";

    /// <summary>
    /// Weight initialization: <c>torch</c>, <c>he</c> or <c>xavier</c>, or the path of a safetensors file whose
    /// tensors (named as the model's <c>state_dict()</c>) are the starting weights and buffers.
    /// </summary>
    public string Init { get; init; } = "torch";

    /// <summary>Optimizer name.</summary>
    public string Optimizer { get; init; } = "adam";

    /// <summary>Hyperparameters set explicitly, by PyTorch name; the rest keep the optimizer's defaults.</summary>
    public Dictionary<string, double> Hyperparameters { get; init; } = [];

    /// <summary>
    /// Parameter groups with their own hyperparameters, as PyTorch's <c>param_groups</c>: each selects the parameters not
    /// claimed by an earlier group whose <c>state_dict()</c> names match its pattern. A group's <c>lr</c> follows the
    /// schedule built from its own value, as a PyTorch scheduler steps each group from its <c>initial_lr</c> (floors such
    /// as cosine's <c>final</c> are the same for every group; <c>onecycle</c> and <c>cyclic</c> peak at each group's rate).
    /// </summary>
    public ParameterGroupConfig[] ParameterGroups { get; init; } = [];

    /// <summary>
    /// With <see cref="Optimizer"/> <c>muon</c>: the learning rate of the AdamW that updates what Muon does not take
    /// (biases, norms, convolution kernels, embeddings, the output layer; see <see cref="Optim.MuonSplit"/>), which follows
    /// the schedule built from its own rate, as a second PyTorch scheduler would. Null: AdamW's default, 1e-3.
    /// </summary>
    [JsonPropertyName(AdamWLrKey)]
    public double? AdamWLr { get; init; }

    private const string AdamWLrKey = "adamw_lr", EarlierAdamWLrKey = "adam_w_lr";

    /// <summary>
    /// <see cref="AdamWLr"/> under the name earlier versions wrote it as (the snake case of the property's name), so their
    /// <c>config.json</c> files and checkpoints still read; never written.
    /// </summary>
    [JsonInclude, JsonPropertyName(EarlierAdamWLrKey), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private double? EarlierAdamWLr { get => null; init => AdamWLr = value; }

    /// <summary>Names of settings as earlier versions wrote them, each with its name now: they still read.</summary>
    internal static IReadOnlyDictionary<string, string> EarlierKeys { get; } = new Dictionary<string, string> { [EarlierAdamWLrKey] = AdamWLrKey };

    /// <summary>
    /// Each setting's name in <c>config.json</c> and sweep files, by property: the property's name in snake case
    /// (<c>EvalEvery</c> is <c>eval_every</c>) unless it gives its own (<c>AdamWLr</c> is <c>adamw_lr</c>).
    /// </summary>
    internal static IReadOnlyDictionary<PropertyInfo, string> Keys { get; } = typeof(TrainingConfig).GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .ToDictionary(p => p, p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));

    /// <summary>Learning-rate schedule (see <see cref="Schedules.ScheduleSpec"/>).</summary>
    public string Schedule { get; init; } = "constant";

    /// <summary>Steps of linear warmup before the schedule.</summary>
    public long Warmup { get; init; }

    /// <summary>Examples per minibatch.</summary>
    public int Batch { get; init; } = 32;

    /// <summary>Skip the incomplete last batch of each epoch.</summary>
    public bool DropLast { get; init; }

    /// <summary>Number of optimizer steps (ignored when <see cref="Epochs"/> is set).</summary>
    public long Steps { get; init; } = 1000;

    /// <summary>Number of passes over the training set; when above 0 it sets the step count.</summary>
    public long Epochs { get; init; }

    /// <summary>Clip the global gradient norm to this value (0: off).</summary>
    public double ClipNorm { get; init; }

    /// <summary>Clip every gradient entry to [-v, v] (0: off).</summary>
    public double ClipValue { get; init; }

    /// <summary>Seed of every random draw (data, initialization, batches).</summary>
    public ulong Seed { get; init; }

    /// <summary>Steps between evaluations (a metrics row).</summary>
    public long EvalEvery { get; init; } = 100;

    /// <summary>Steps between checkpoints.</summary>
    public long CheckpointEvery { get; init; } = 1000;

    /// <summary>
    /// Cores that train this one run (data parallel): each minibatch is split into this many consecutive shards, whose
    /// forward and backward passes run at once on replicas of the model sharing its weights, and their gradients are
    /// summed. Without dropout the same update as on one core up to float rounding (sums in another order), not bit for
    /// bit; with dropout each replica draws its masks from a stream of its own, so the run differs as another seed's masks
    /// would. A run resumes on the same number of cores only. Not with batch normalization, whose statistics would be the
    /// shards'. 1: one core.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>Minibatches whose mean gradient makes one update (<see cref="Optim.GradientAccumulation{T}"/>; 1: every minibatch updates).</summary>
    public int Accumulate { get; init; } = 1;

    /// <summary>Lookahead's sync period k (<see cref="Optim.Lookahead{T}"/>; 0: no Lookahead).</summary>
    public int LookaheadK { get; init; }

    /// <summary>Lookahead's slow step size alpha.</summary>
    public double LookaheadAlpha { get; init; } = 0.5;

    /// <summary>Decay of an exponential moving average of the weights, used for evaluation and the exported model (0: none).</summary>
    public double Ema { get; init; }

    /// <summary>Warm the EMA's decay up as <c>min(decay, (1 + n) / (10 + n))</c>.</summary>
    public bool EmaWarmup { get; init; }

    /// <summary>Sharpness-aware minimization's radius rho (<see cref="Optim.Sam{T}"/>; 0: none): each update takes a second gradient at the worst nearby point.</summary>
    public double Sam { get; init; }

    /// <summary>Adaptive SAM (ASAM): the perturbation scaled by the parameters.</summary>
    public bool SamAdaptive { get; init; }

    /// <summary>Update after which stochastic weight averaging starts, its average used for evaluation and the exported model (-1: none).</summary>
    public long SwaStart { get; init; } = -1;

    /// <summary>
    /// With <see cref="SwaStart"/>, the learning rate the SWALR schedule anneals to from update <c>SwaStart + 1</c>
    /// (<see cref="Schedules.SwaLR"/>; null: the regular schedule runs on).
    /// </summary>
    public double? SwaLr { get; init; }

    /// <summary>Updates SWALR takes to anneal to <see cref="SwaLr"/> (PyTorch's <c>anneal_epochs</c>).</summary>
    public long SwaAnnealSteps { get; init; } = 10;

    /// <summary>The shape of SWALR's anneal: <c>cos</c> or <c>linear</c> (PyTorch's <c>anneal_strategy</c>).</summary>
    public string SwaAnneal { get; init; } = "cos";

    /// <summary>
    /// Minibatches of training data (in order, of <see cref="Batch"/> examples) over which batch normalization's statistics are
    /// recomputed whenever the model is evaluated or exported at a point it was not trained at (an EMA or SWA average,
    /// Lookahead's slow weights, schedule-free's <c>x</c>), as <c>torch.optim.swa_utils.update_bn</c>
    /// (<see cref="Nn.BatchNormStatistics"/>); null: one pass over the whole training set, as <c>update_bn</c> over the
    /// training loader; 0: evaluate with the training run's statistics.
    /// </summary>
    public int? UpdateBn { get; init; }
}
