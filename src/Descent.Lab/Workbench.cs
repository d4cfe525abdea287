using System.Collections.Concurrent;
using ScottPlot;

namespace Descent.Lab;

/// <summary>
/// The bench the experiments run on: their scale, seeds and cores, the results they share, and where they put
/// their results: figures (saved as PNG and SVG under <c>figures/</c>), claims
/// (headline numbers beside the published ones), and progress messages. Independent training runs go
/// through <see cref="RunAll{T}"/>, which uses every core and returns results in input order, so a
/// parallel run produces exactly what a serial one would.
/// </summary>
public sealed class Workbench
{
    private readonly ConcurrentQueue<Figure> _figures = new();
    private readonly ConcurrentQueue<Claim> _claims = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();
    private readonly ConcurrentQueue<Failure> _failures = new();
    private readonly ConcurrentQueue<Failure> _pending = new();
    private readonly ConcurrentDictionary<string, Lazy<object>> _shared = new();
    private readonly Action<string> _progress;

    /// <summary>
    /// Creates a bench writing into <paramref name="outDir"/>. Every input is checked here, before any work:
    /// <paramref name="mnistDir"/> must hold the four MNIST files, and <paramref name="seeds"/> is at least 1.
    /// </summary>
    public Workbench(string outDir, Scale scale, Action<string>? progress = null, string? mnistDir = null, int threads = 0, int seeds = 1,
        Descent.Sweeps.Shard? shard = null)
    {
        if (seeds < 1) throw new ArgumentException($"The number of seeds must be at least 1 (got {seeds}).");
        if (mnistDir is not null) Descent.Data.Mnist.Locate(mnistDir);
        OutDir = Path.GetFullPath(outDir);
        FiguresDir = Path.Combine(OutDir, "figures");
        Directory.CreateDirectory(FiguresDir);
        Scale = scale;
        MnistDir = mnistDir;
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        Seeds = seeds;
        _progress = progress ?? (_ => { });
        Runs = new RunStore(Path.Combine(OutDir, "runs"), scale, mnistDir, shard ?? Descent.Sweeps.Shard.All) { Unreadable = Say };
    }

    /// <summary>The training runs kept on disk (<c>runs/</c>), shared across experiments, reproductions and shards.</summary>
    public RunStore Runs { get; }

    /// <summary>The output directory.</summary>
    public string OutDir { get; }

    /// <summary>Where figures go.</summary>
    public string FiguresDir { get; }

    /// <summary>How much work to do.</summary>
    public Scale Scale { get; }

    /// <summary>A directory of full MNIST, if the user gave one.</summary>
    public string? MnistDir { get; }

    /// <summary>Parallel runs at most.</summary>
    public int Threads { get; }

    /// <summary>
    /// Independent repetitions of each stochastic experiment: repetition k (from 0) adds k to every seed the
    /// experiment uses, so the first repetition is the single-seed run.
    /// </summary>
    public int Seeds { get; }

    /// <summary>Figures so far, in the order they were added per experiment.</summary>
    public IReadOnlyList<Figure> Figures => [.. _figures];

    /// <summary>Claims so far.</summary>
    public IReadOnlyList<Claim> Claims => [.. _claims];

    /// <summary>Measured numbers reported without a claim attached.</summary>
    public IReadOnlyList<Measurement> Measurements => [.. _measurements];

    /// <summary>Experiments that stopped with an error, and why.</summary>
    public IReadOnlyList<Failure> Failures => [.. _failures];

    /// <summary>Experiments waiting for runs of other shards (or held by another process), and which.</summary>
    public IReadOnlyList<Failure> Pending => [.. _pending];

    /// <summary>Picks a value by scale.</summary>
    public T Pick<T>(T quick, T normal, T full) => Scale switch { Scale.Quick => quick, Scale.Default => normal, _ => full };

    /// <summary>Reports progress.</summary>
    public void Say(string message)
    {
        // One message at a time: RunAll's workers report as they finish, and the caller's writer need not be thread-safe
        // (a StringWriter is not; two workers appending at once had failed a run with "Destination is too short").
        lock (_progressLock) _progress(message);
    }

    private readonly Lock _progressLock = new();

    /// <summary>Saves <paramref name="plot"/> as <c>figures/NAME.png</c> and <c>.svg</c>.</summary>
    public void Add(Experiment experiment, string name, string caption, Plot plot, int width = 800, int height = 560)
    {
        string png = Descent.Lab.Figures.Save(plot, FiguresDir, name, width, height);
        _figures.Enqueue(new Figure(experiment.Name, name, caption, png, Path.ChangeExtension(png, ".svg")));
    }

    /// <summary>Saves <paramref name="panels"/>, in rows of <paramref name="columns"/>, as one figure <c>figures/NAME.png</c> and <c>.svg</c>.</summary>
    public void Add(Experiment experiment, string name, string caption, IReadOnlyList<Plot> panels, int columns, int panelWidth = 520, int panelHeight = 400)
    {
        string png = System.IO.Path.Combine(FiguresDir, name + ".png");
        Descent.Lab.Figures.Grid(panels, columns, panelWidth, panelHeight, null, 0, png, svg: false);
        Descent.Lab.Figures.Grid(panels, columns, panelWidth, panelHeight, null, 0, System.IO.Path.ChangeExtension(png, ".svg"), svg: true);
        _figures.Enqueue(new Figure(experiment.Name, name, caption, png, System.IO.Path.ChangeExtension(png, ".svg")));
    }

    /// <summary>
    /// Records a claim judged on every seed: <paramref name="perSeed"/> holds the measured statistic of each
    /// repetition, and the claim holds only if <paramref name="holds"/> is true for all of them (across the range).
    /// </summary>
    /// <param name="experiment">The experiment making the claim.</param>
    /// <param name="published">The published claim under test.</param>
    /// <param name="measure">The statistic measured, e.g. "test accuracy, best small batch minus full batch".</param>
    /// <param name="perSeed">The statistic in each repetition.</param>
    /// <param name="format">How to write one value of the statistic.</param>
    /// <param name="criterion">The threshold in words, e.g. "at least 1 point in every seed": what a wrong result would miss.</param>
    /// <param name="holds">The threshold as a test of one value.</param>
    /// <param name="detail">Optional context after the value (the compared numbers of the first seed, ...).</param>
    public void Claim(Experiment experiment, string published, string measure, IReadOnlyList<double> perSeed, Func<double, string> format,
        string criterion, Func<double, bool> holds, string? detail = null)
    {
        if (perSeed.Count == 0) throw new ArgumentException("A claim needs at least one measured value.", nameof(perSeed));
        string value = Spread.Of(perSeed).Format(format) + (detail is null ? "" : $" ({detail})");
        _claims.Enqueue(new Claim(experiment.Name, published, measure, value, criterion, perSeed.All(v => double.IsFinite(v) && holds(v))));
    }

    /// <summary>Records a measured number that tests no claim (it is reported beside the claims).</summary>
    public void Measure(Experiment experiment, string measure, string value) =>
        _measurements.Enqueue(new Measurement(experiment.Name, measure, value));

    /// <summary>Records that <paramref name="experiment"/> waits for runs it does not train itself.</summary>
    public void Wait(Experiment experiment, RunsPendingException pending) => _pending.Enqueue(new Failure(experiment.Name, pending.Message));

    /// <summary>Records that <paramref name="experiment"/> stopped with <paramref name="error"/>.</summary>
    public void Fail(Experiment experiment, Exception error)
    {
        // Parallel runs wrap their errors; report each distinct cause once.
        var causes = error is AggregateException a ? a.Flatten().InnerExceptions.Select(e => e.Message).Distinct() : [error.Message];
        _failures.Enqueue(new Failure(experiment.Name, string.Join(" ", causes).ReplaceLineEndings(" ")));
    }

    /// <summary>
    /// A result computed once per bench and shared by the experiments that need it (the noisy-moons networks feed
    /// the sharpness experiment); whichever experiment asks first computes it.
    /// </summary>
    public T Shared<T>(string key, Func<T> compute) where T : class =>
        (T)_shared.GetOrAdd(key, _ => new Lazy<object>(() => compute(), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    /// <summary>
    /// Runs <paramref name="work"/> on every item across cores; results come back in input order. Each core
    /// takes the next item as it frees up, the costliest first when <paramref name="cost"/> estimates them,
    /// so one long run does not start last and leave the other cores idle.
    /// </summary>
    public TResult[] RunAll<TItem, TResult>(IReadOnlyList<TItem> items, Func<TItem, TResult> work, Func<TItem, double>? cost = null)
    {
        var results = new TResult[items.Count];
        int[] order = [.. Enumerable.Range(0, items.Count)];
        if (cost is not null) order = [.. order.OrderByDescending(i => cost(items[i]))];
        int next = -1, finished = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Parallel.For(0, Math.Min(Threads, items.Count), new ParallelOptions { MaxDegreeOfParallelism = Threads }, _ =>
        {
            for (int k; (k = Interlocked.Increment(ref next)) < order.Length;)
            {
                int i = order[k];
                results[i] = work(items[i]);
                int n = Interlocked.Increment(ref finished);
                if (items.Count > 1) Say($"  run {n}/{items.Count} finished ({clock.Elapsed.TotalSeconds:F1} s)");
            }
        });
        return results;
    }

    /// <summary>
    /// <see cref="RunAll{TItem, TResult}"/> for training runs worth keeping: each result is kept in <see cref="Runs"/> under
    /// <paramref name="family"/> and read back whenever the same setting is asked for again; with a shard, only this shard's
    /// runs are trained (see <see cref="RunStore"/>). Settings and results must round-trip through JSON.
    /// </summary>
    public TResult[] RunKept<TSetting, TResult>(string family, IReadOnlyList<TSetting> settings, Func<TSetting, TResult> work, Func<TSetting, double>? cost = null) =>
        Runs.RunAll(this, family, settings, work, cost);

    /// <summary>Runs <paramref name="work"/> on every item across cores (see the generic overload).</summary>
    public T[] RunAll<T>(IReadOnlyList<Func<T>> work) => RunAll(work, w => w());
}
