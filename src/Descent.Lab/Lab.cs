using System.Collections.Concurrent;
using ScottPlot;

namespace Descent.Lab;

/// <summary>
/// Where experiments put their results: figures (saved as PNG and SVG under <c>figures/</c>), claims
/// (headline numbers beside the published ones), and progress messages. Independent training runs go
/// through <see cref="RunAll{T}"/>, which uses every core and returns results in input order, so a
/// parallel run produces exactly what a serial one would.
/// </summary>
public sealed class Lab
{
    private readonly ConcurrentQueue<Figure> _figures = new();
    private readonly ConcurrentQueue<Claim> _claims = new();
    private readonly Action<string> _progress;

    /// <summary>Creates a lab writing into <paramref name="outDir"/>.</summary>
    public Lab(string outDir, Scale scale, Action<string>? progress = null, string? mnistDir = null, int threads = 0)
    {
        OutDir = Path.GetFullPath(outDir);
        FiguresDir = Path.Combine(OutDir, "figures");
        Directory.CreateDirectory(FiguresDir);
        Scale = scale;
        MnistDir = mnistDir;
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        _progress = progress ?? (_ => { });
    }

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

    /// <summary>Figures so far, in the order they were added per experiment.</summary>
    public IReadOnlyList<Figure> Figures => [.. _figures];

    /// <summary>Claims so far.</summary>
    public IReadOnlyList<Claim> Claims => [.. _claims];

    /// <summary>Picks a value by scale.</summary>
    public T Pick<T>(T quick, T normal, T full) => Scale switch { Scale.Quick => quick, Scale.Default => normal, _ => full };

    /// <summary>Reports progress.</summary>
    public void Say(string message) => _progress(message);

    /// <summary>Saves <paramref name="plot"/> as <c>figures/NAME.png</c> and <c>.svg</c>.</summary>
    public void Add(Experiment experiment, string name, string caption, Plot plot, int width = 800, int height = 560)
    {
        string png = Path.Combine(FiguresDir, name + ".png"), svg = Path.Combine(FiguresDir, name + ".svg");
        plot.SavePng(png, width, height);
        plot.SaveSvg(svg, width, height);
        _figures.Enqueue(new Figure(experiment.Name, name, caption, png, svg));
    }

    /// <summary>Records a claim.</summary>
    public void Claim(Experiment experiment, string measure, string value, string published, bool? held) =>
        _claims.Enqueue(new Claim(experiment.Name, measure, value, published, held));

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

    /// <summary>Runs <paramref name="work"/> on every item across cores (see the generic overload).</summary>
    public T[] RunAll<T>(IReadOnlyList<Func<T>> work) => RunAll(work, w => w());
}
