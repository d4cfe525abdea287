using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Descent.Data;
using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.Training;

namespace Descent.Lab.Benchmarks;

/// <summary>One measured cell of a benchmark workload.</summary>
public sealed record BenchResult(string Workload, string Size, long Steps, double Seconds, double StepsPerSecond, double? LossInit, double? LossFinal, double? GbPerSecond, double? GflopPerSecond);

/// <summary>
/// The benchmark workloads of <c>descent bench</c>, defined exactly as the peer scripts in <c>bench/peers</c>
/// define them: each runs a warm-up, then as many steps as fit in the time budget.
/// </summary>
public static class Benchmark
{
    /// <summary>Workload names.</summary>
    public static IReadOnlyList<string> Workloads { get; } = ["moons-mlp", "moons-mlp-adam", "adam-step", "mnist-linear", "cnn-mnist", "transformer-char", "limits"];

    /// <summary>Default sizes (batch sizes or parameter counts) per workload.</summary>
    public static long[] DefaultSizes(string workload) => workload switch
    {
        "moons-mlp" => [1, 4, 16, 64, 500],
        "moons-mlp-adam" => [16, 500],
        "adam-step" => [1_000_000, 16_000_000],
        "mnist-linear" => [64, 1000],
        "cnn-mnist" => [64],
        "transformer-char" => [32],
        "limits" => [0],
        _ => throw new ArgumentException($"Unknown workload '{workload}': choose from {string.Join(", ", Workloads)}."),
    };

    /// <summary>The workloads that run through the trainer's own step, so that several cores can train their one run (and <see cref="Profile"/> applies).</summary>
    public static IReadOnlyList<string> TrainerWorkloads { get; } = ["cnn-mnist", "transformer-char"];

    /// <summary>Runs one cell; <paramref name="trainThreads"/> cores train the one run of a <see cref="TrainerWorkloads"/> workload.</summary>
    public static BenchResult Run(string workload, long size, double seconds, int trainThreads = 1)
    {
        if (trainThreads < 1) throw new ArgumentException($"A run needs at least one core, not {trainThreads}.");
        if (trainThreads > 1 && Workloads.Contains(workload) && !TrainerWorkloads.Contains(workload))
            throw new ArgumentException($"More than one core for the one run applies to {string.Join(" and ", TrainerWorkloads)} only, not {workload}.");
        return Cell(workload, size, seconds, trainThreads);
    }

    private static BenchResult Cell(string workload, long size, double seconds, int trainThreads) => workload switch
    {
        "moons-mlp" => Moons("moons-mlp", (int)size, "sgd", 0.15, seconds),
        "moons-mlp-adam" => Moons("moons-mlp-adam", (int)size, "adam", 0.01, seconds),
        "adam-step" => AdamStep((int)size, seconds),
        "mnist-linear" => MnistLinear((int)size, seconds),
        "cnn-mnist" => TrainerSteps("cnn-mnist", CnnTrainer((int)size, trainThreads), (int)size, CnnFlops, seconds),
        "transformer-char" => TransformerChar((int)size, seconds, trainThreads),
        "limits" => throw new ArgumentException("use Limits()"),
        _ => throw new ArgumentException($"Unknown workload '{workload}': choose from {string.Join(", ", Workloads)}."),
    };

    /// <summary>
    /// Two moons N = 500, noise 0.1, 10% flipped; 2-64-64-2 ReLU, softmax cross-entropy, float32; the optimizer with
    /// lr_t = lr0 / (1 + t / 50000); reshuffled every epoch.
    /// </summary>
    private static BenchResult Moons(string name, int batch, string optimizer, double lr, double seconds)
    {
        CheckBatch(name, batch, 500);
        var trainer = new Trainer(new TrainingConfig
        {
            Data = "moons",
            N = 500,
            Noise = 0.1,
            Flip = 0.1,
            Hidden = [64, 64],
            Optimizer = optimizer,
            Hyperparameters = new() { ["lr"] = lr },
            Schedule = "power:tau=50000,alpha=1",
            Batch = batch,
            Steps = long.MaxValue / 2,
            Seed = 1,
        });
        double lossInit = trainer.Evaluate(trainer.Train).Loss;
        long steps = Timed(() => trainer.TrainStep(), seconds, out double elapsed);
        return new BenchResult(name, $"B={batch}", steps, elapsed, steps / elapsed, lossInit, trainer.Evaluate(trainer.Train).Loss, null, null);
    }

    /// <summary>Refuses a batch larger than the workload's training set, which would be cut to the set while the figures counted it whole.</summary>
    private static void CheckBatch(string workload, int batch, int examples)
    {
        if (batch > examples)
            throw new ArgumentException($"{workload} trains on {examples} examples, so a batch of {batch} cannot be drawn: give a batch of at most {examples}.");
    }

    /// <summary>The Adam update alone on one float32 vector of <paramref name="p"/> parameters with a fixed gradient (28 bytes per parameter: read p, g, m, v; write p, m, v).</summary>
    private static BenchResult AdamStep(int p, double seconds)
    {
        var param = new Parameter<float>("w", p);
        var rng = new Rng(1);
        var g = param.Grad.Span;
        for (int i = 0; i < p; i++) g[i] = (float)rng.NextNormal();
        var adam = new Adam<float>([param], new AdamOptions { LearningRate = 1e-3 });
        long steps = Timed(adam.Step, seconds, out double elapsed);
        return new BenchResult("adam-step", $"P={p}", steps, elapsed, steps / elapsed, null, null, 28.0 * p * steps / elapsed / 1e9, null);
    }

    /// <summary>784-10 softmax classifier on 60,000 x 784 random inputs in [0, 1), SGD lr 0.01.</summary>
    private static BenchResult MnistLinear(int batch, double seconds)
    {
        CheckBatch("mnist-linear", batch, 60_000);
        var rng = new Rng(2);
        const int n = 60_000;
        var x = Descent.Data.FeatureMemory.Allocate(n * 784);
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var y = new int[n];
        for (int i = 0; i < n; i++) y[i] = rng.NextInt(10);
        var data = new Dataset("random-mnist", x, y, 784, 10);
        var model = new Sequential<float>([784, 10], Activation.Identity, Initialization.Torch, rng);
        var sgd = new Sgd<float>(model.Parameters, new SgdOptions { LearningRate = 0.01 });
        var batches = new Batches(data, batch, rng);
        var linear = (Linear<float>)model.Layers[0];
        var by = new int[batch];
        var rows = new int[batch];
        var dz = new float[batch * 10];
        double SampleLoss() => Losses.Evaluate(Descent.Nn.Loss.CrossEntropy, model.Forward(data.Features.AsSpan(0, 1000 * 784), 1000), data.Labels.AsSpan(0, 1000), 1000, [], out _);
        double lossInit = SampleLoss();
        long steps = Timed(() =>
        {
            // As the trainer's step for a softmax regression: the labels copied, the features fetched by the dense layer slice by slice.
            int b = batches.NextRows(rows);
            data.GatherLabels(rows.AsSpan(0, b), by);
            linear.CrossEntropyRows(x, rows.AsSpan(0, b), by.AsSpan(0, b), dz, 1f);
            sgd.Step();
        }, seconds, out double elapsed);
        // forward 2*B*784*10, weight gradient 2*B*784*10 (input gradient not needed): 4 * B * 7840 flops per step.
        double flops = 4.0 * batch * 7840 * steps;
        return new BenchResult("mnist-linear", $"B={batch}", steps, elapsed, steps / elapsed, lossInit, SampleLoss(), null, flops / elapsed / 1e9);
    }

    /// <summary>
    /// Training steps of <paramref name="trainer"/> through its own step (its data, model and optimizer), <paramref name="flops"/> per example:
    /// <c>cnn-mnist</c> is the exercise CNN (<c>--model cnn</c>: conv 32 - relu - maxpool - conv 64 - relu - maxpool - linear 128 - relu - linear)
    /// on the embedded digits, SGD lr 0.05 momentum 0.9; <c>transformer-char</c> (see <see cref="TransformerChar"/>).
    /// </summary>
    private static BenchResult TrainerSteps(string name, Trainer trainer, int batch, double flops, double seconds)
    {
        CheckBatch(name, batch, trainer.Train.Count);
        var sample = trainer.Train.Slice(0, Math.Min(trainer.Train.Count, 1000 / trainer.Train.LabelsPerExample));
        double lossInit = trainer.Evaluate(sample).Loss;
        long steps = Timed(() => trainer.TrainStep(), seconds, out double elapsed);
        return new BenchResult(name, $"B={batch}", steps, elapsed, steps / elapsed, lossInit, trainer.Evaluate(sample).Loss, null, flops * batch * steps / elapsed / 1e9);
    }

    private static Trainer CnnTrainer(int batch, int threads = 1) => new(new TrainingConfig
    {
        Threads = threads,
        Data = "mnist",
        Model = "cnn",
        Optimizer = "sgd",
        Hyperparameters = new() { ["lr"] = 0.05, ["momentum"] = 0.9 },
        Batch = batch,
        Steps = long.MaxValue / 2,
        Seed = 1,
    });

    /// <summary>
    /// Flops of one training example of the exercise CNN, counting the multiply-adds of the convolutions and dense
    /// layers (forward 1x28x28: 32 x 9 x 784 + 64 x 288 x 196 + 3136 x 128 + 128 x 10), three times (forward,
    /// weight gradient, input gradient) less the first convolution's input gradient, 2 flops each. This is the direct
    /// convolution's count: the second convolution runs by Winograd's F(6x6, 3x3) with 4.4 times fewer multiplications,
    /// so the rate derived from it is the direct-equivalent rate, not the rate of the multiply-adds carried out.
    /// </summary>
    public const double CnnFlops = 2.0 * (3.0 * (32 * 9 * 784 + 64 * 288 * 196 + 3136 * 128 + 128 * 10) - 32 * 9 * 784);

    /// <summary>Vocabulary, context and width of <c>transformer-char</c>.</summary>
    private const int Vocabulary = 65, Context = 64, Width = 128, Blocks = 2;

    /// <summary>
    /// Flops of one training sequence of <c>transformer-char</c>: per token the dense layers (12 D^2 per block, D V
    /// for the logits), per block the causal attention products (q k^T and p v over T(T+1)/2 pairs, D each), three
    /// times for forward and backward, 2 flops per multiply-add.
    /// </summary>
    public const double TransformerFlops = 2.0 * 3.0 * (Context * (Blocks * 12.0 * Width * Width + Width * Vocabulary) + Blocks * 2.0 * Context * (Context + 1) / 2 * Width);

    /// <summary>
    /// <c>transformer:layers=2,d=128,heads=4,ctx=64</c> (pre-LN) on a character stream of 65 symbols, AdamW lr 1e-3,
    /// next-token cross-entropy over every position, through the trainer's own step (so <c>--train-threads</c> applies):
    /// the stream, written as text of 65 characters, is the trainer's text data, cut into consecutive windows. It is a fixed
    /// Markov chain (each symbol followed by one of three, <c>next = (7 prev + 3 + r) mod 65</c>, r uniform in 0-2), so the
    /// loss falls from log 65 = 4.17 towards log 3 = 1.10 and shows the steps learn; only the speed is compared.
    /// </summary>
    private static BenchResult TransformerChar(int batch, double seconds, int trainThreads) =>
        TrainerSteps("transformer-char", TransformerTrainer(batch, trainThreads), batch, TransformerFlops, seconds);

    /// <summary>The trainer of <see cref="TransformerChar"/>.</summary>
    private static Trainer TransformerTrainer(int batch, int trainThreads)
    {
        string file = Path.Combine(Path.GetTempPath(), $"descent-bench-stream-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}.txt");
        File.WriteAllText(file, new string([.. MarkovStream(new Rng(3)).Select(v => (char)('!' + (int)v))]));
        try
        {
            return new Trainer(new TrainingConfig
            {
                Data = "text",
                Text = file,
                Context = Context,
                Model = $"transformer:layers={Blocks},d={Width},heads=4,ctx={Context}",
                Optimizer = "adamw",
                Hyperparameters = new() { ["lr"] = 1e-3 },
                Batch = batch,
                Steps = long.MaxValue / 2,
                Seed = 1,
                Threads = trainThreads,
            });
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The symbols of <c>transformer-char</c>'s Markov chain, 2^20 of them.</summary>
    private static float[] MarkovStream(Rng rng)
    {
        var stream = new float[1 << 20];
        for (int i = 1; i < stream.Length; i++) stream[i] = ((7 * (int)stream[i - 1]) + 3 + rng.NextInt(3)) % Vocabulary;
        return stream;
    }

    /// <summary>
    /// Where a training step of <paramref name="workload"/> (<c>cnn-mnist</c> or <c>transformer-char</c>, on
    /// <paramref name="trainThreads"/> cores) spends its time: milliseconds per step in the forward and backward passes of
    /// each layer of the model's top-level chain, as the trainer's own step runs them (a max pooling inside the convolution
    /// before it, so its time is the convolution's; on several cores the mean over the shards, each on its own replica),
    /// then the rest of the step (the batch's gather, the loss, on several cores the wait for the slower shard and the
    /// gradient sum, and the update), averaged over the steps that fit in <paramref name="seconds"/> after a warm-up.
    /// </summary>
    public static (IReadOnlyList<(string Layer, double ForwardMs, double BackwardMs)> Layers, double RestMs, double StepMs) Profile(string workload, int batch, double seconds,
        int trainThreads = 1)
    {
        var trainer = workload switch
        {
            "cnn-mnist" => CnnTrainer(batch, trainThreads),
            "transformer-char" => TransformerTrainer(batch, trainThreads),
            _ => throw new ArgumentException($"No layer profile for '{workload}': choose cnn-mnist or transformer-char."),
        };
        CheckBatch(workload, batch, trainer.Train.Count);
        Sequential<float>[] shards = [trainer.Model, .. trainer.Setup.Replicas];
        var clocks = shards.Select(m => m.Clock = new LayerClock(m.Layers.Count)).ToArray();
        long steps = Timed(() => trainer.TrainStep(), seconds, out double elapsed, () => Array.ForEach(clocks, c => c.Reset()));
        double stepMs = elapsed * 1000 / steps;
        var layers = trainer.Model.Layers;
        var parts = new List<(string, double, double)>();
        for (int i = 0; i < layers.Count; i++)
            parts.Add(($"{i} {Describe(layers[i])}", clocks.Average(c => c.ForwardMilliseconds(i)) / steps, clocks.Average(c => c.BackwardMilliseconds(i)) / steps));
        return (parts, stepMs - parts.Sum(p => p.Item2 + p.Item3), stepMs);
    }

    private static string Describe(Layer<float> layer) => layer switch
    {
        Residual<float> r when r.Body is Sequential<float> s => $"res({string.Join("-", s.Layers.Select(Describe))})",
        Nonlinearity<float> n => n.Activation.Name(),
        _ => layer.GetType().Name.Split('`')[0],
    };

    /// <summary>
    /// This machine's limits: triad bandwidth a = b + s c over 3 x 16M floats (12 bytes per element), the bandwidth of
    /// minibatches of rows drawn at random from a training set (<see cref="RandomRows"/>), single-core FMA throughput, and,
    /// with two cores or more, the bandwidth of stores over memory another core has just read (<see cref="Handoff"/>).
    /// </summary>
    public static BenchResult[] Limits(double seconds)
    {
        const int n = 16 * 1024 * 1024;
        var a = new float[n];
        var b = new float[n];
        var c = new float[n];
        b.AsSpan().Fill(1);
        c.AsSpan().Fill(2);
        long sweeps = Timed(() => Triad(a, b, c, 3f), seconds, out double elapsed);
        var triad = new BenchResult("limits", "triad", sweeps, elapsed, sweeps / elapsed, null, null, 12.0 * n * sweeps / elapsed / 1e9, null);
        // The peak with the widest vectors the processor accelerates (Vector512 where AVX-512 is present),
        // whatever width Vector<T> is configured to: the machine's limit, not the runtime's.
        var fma = Vector512.IsHardwareAccelerated ? FmaPeak<Width512, Vector512<float>>(seconds) : FmaPeak<Width256, Vector256<float>>(seconds);
        return Environment.ProcessorCount >= 2 && Vector256.IsHardwareAccelerated ? [triad, RandomRows(seconds), fma, Handoff(seconds)] : [triad, RandomRows(seconds), fma];
    }

    /// <summary>
    /// What one core's stores cost over memory another core has just read, as a data-parallel step's update pays for the
    /// parameters every replica read: a thread sums 2 MB of floats, then another thread (on the other core when one is
    /// free: it is not pinned) overwrites them, in turns, after one untimed round; the writes' bandwidth, and the writes'
    /// time alone as the cell's seconds. Each line the writer takes must first leave the reader's caches. On the 2-core
    /// host of family 25 this read 50 GB/s in some minutes and 2.3 GB/s in others (2026-12-05), which moved the two-core
    /// CNN step's update from 0.3 to 1.7 ms of the cores' time. Left out where 256-bit vectors are not accelerated.
    /// </summary>
    private static BenchResult Handoff(double seconds)
    {
        const int n = 1 << 19;   // 2 MB of floats
        var buffer = new float[n];
        int turn = 0;   // 0: the reader's, 1: the writer's, 2: stop
        long rounds = 0;
        double writing = 0;
        var writer = new Thread(() =>
        {
            var clock = new Stopwatch();
            for (float value = 0; ; value++)
            {
                var spinner = new SpinWait();
                int t;
                while ((t = Volatile.Read(ref turn)) == 0) spinner.SpinOnce(sleep1Threshold: -1);
                if (t == 2) return;
                clock.Restart();
                Overwrite(buffer, value);
                if (value > 0)   // the first round untimed: compiling, and the buffer's first writes
                {
                    writing += clock.Elapsed.TotalSeconds;
                    rounds++;
                }
                Volatile.Write(ref turn, 0);
            }
        })
        { IsBackground = true };
        writer.Start();
        float sum = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || rounds < 2)
        {
            sum += Kernels.Sum<float>(buffer);
            Volatile.Write(ref turn, 1);
            var spinner = new SpinWait();
            while (Volatile.Read(ref turn) == 1) spinner.SpinOnce(sleep1Threshold: -1);
        }
        Volatile.Write(ref turn, 2);
        writer.Join();
        if (float.IsNaN(sum)) throw new InvalidOperationException("The buffer's sum cannot be NaN.");   // keeps the reads
        return new BenchResult("limits", "handoff-2MB", rounds, writing, rounds / writing, null, null, 4.0 * n * rounds / writing / 1e9, null);
    }

    /// <summary>Every float of <paramref name="buffer"/> set to <paramref name="value"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Overwrite(float[] buffer, float value)
    {
        var v = MemoryMarshal.Cast<float, Vector256<float>>(buffer.AsSpan());
        var x = Vector256.Create(value);
        for (int i = 0; i < v.Length; i++) v[i] = x;
    }

    /// <summary>
    /// What mnist-linear's features cost to fetch, with no arithmetic on them: minibatches of 1,000 rows of 784 floats drawn
    /// at random from 60,000 (as that workload's table, in <see cref="FeatureMemory"/>), each row read whole and each
    /// requested from memory four rows ahead (with two, the distance that read fastest in a sweep of 2 to 32 rows and the
    /// three prefetch hints: BENCHMARKS.md, "2026-12-04, morning"). Its minibatches per second bound a step that reads such a
    /// minibatch once: mnist-linear at batch 1,000 cannot run faster, whatever its arithmetic costs.
    /// </summary>
    private static BenchResult RandomRows(double seconds)
    {
        const int count = 60_000, width = 784, batch = 1000;
        var table = FeatureMemory.Allocate(count * width);
        table.AsSpan().Fill(1);
        var rng = new Rng(3);
        var rows = new int[batch];
        float sum = 0;
        long minibatches = Timed(() =>
        {
            for (int i = 0; i < batch; i++) rows[i] = rng.NextInt(count);
            sum += SumRows(table, rows, width);
        }, seconds, out double elapsed);
        if (sum < 0) throw new InvalidOperationException("The rows' sum cannot be negative.");   // keeps the reads
        return new BenchResult("limits", $"rows-{batch}x{width}", minibatches, elapsed, minibatches / elapsed, null, null,
            4.0 * batch * width * minibatches / elapsed / 1e9, null);
    }

    /// <summary>The sum of rows <paramref name="rows"/> of <paramref name="table"/>, each requested from memory four rows before it is read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe float SumRows(float[] table, int[] rows, int width)
    {
        const int ahead = 4;
        int perLine = 64 / sizeof(float), lanes = Vector256<float>.Count;
        Vector256<float> s0 = default, s1 = default;
        fixed (float* t = table)
            for (int i = 0; i < rows.Length; i++)
            {
                if (i + ahead < rows.Length && System.Runtime.Intrinsics.X86.Sse.IsSupported)
                {
                    // A line per 16 floats from the row's start, and its last float's: a row that starts inside a line ends in one more.
                    float* next = t + (long)rows[i + ahead] * width;
                    for (int o = 0; o < width; o += perLine) System.Runtime.Intrinsics.X86.Sse.Prefetch0(next + o);
                    System.Runtime.Intrinsics.X86.Sse.Prefetch0(next + width - 1);
                }
                float* row = t + (long)rows[i] * width;
                int j = 0;
                for (; j + 2 * lanes <= width; j += 2 * lanes)
                {
                    s0 += Vector256.Load(row + j);
                    s1 += Vector256.Load(row + j + lanes);
                }
                for (; j < width; j++) s0 += Vector256.CreateScalar(row[j]);
            }
        return Vector256.Sum(s0 + s1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Triad(float[] a, float[] b, float[] c, float s)
    {
        var va = MemoryMarshal.Cast<float, Vector256<float>>(a.AsSpan());
        var vb = MemoryMarshal.Cast<float, Vector256<float>>(b.AsSpan());
        var vc = MemoryMarshal.Cast<float, Vector256<float>>(c.AsSpan());
        var vs = Vector256.Create(s);
        for (int i = 0; i < va.Length; i++) va[i] = Vector256.FusedMultiplyAdd(vs, vc[i], vb[i]);
    }

    /// <summary>Single-core FMA throughput: ten independent chains of <typeparamref name="TV"/> fused multiply-adds, 2 flops per lane.</summary>
    private static BenchResult FmaPeak<TW, TV>(double seconds) where TW : struct, IWidth<TV>
    {
        long iterations = 0;
        FmaChains<TW, TV>(1000); // warm up
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            FmaChains<TW, TV>(1_000_000);
            iterations += 1_000_000;
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        return new BenchResult("limits", $"fma-1-core-{TW.Lanes * 32}bit", iterations, elapsed, iterations / elapsed, null, null, null, iterations * 10.0 * TW.Lanes * 2 / elapsed / 1e9);
    }

    /// <summary>Ten independent chains of fused multiply-adds, so the FMA units never wait on a result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaChains<TW, TV>(long iterations) where TW : struct, IWidth<TV>
    {
        TV m = TW.Splat(0.999999f), k = TW.Splat(1e-7f);
        TV x0 = TW.Splat(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = TW.Fma(x0, m, k);
            x1 = TW.Fma(x1, m, k);
            x2 = TW.Fma(x2, m, k);
            x3 = TW.Fma(x3, m, k);
            x4 = TW.Fma(x4, m, k);
            x5 = TW.Fma(x5, m, k);
            x6 = TW.Fma(x6, m, k);
            x7 = TW.Fma(x7, m, k);
            x8 = TW.Fma(x8, m, k);
            x9 = TW.Fma(x9, m, k);
        }
        return TW.Sum(x0) + TW.Sum(x1) + TW.Sum(x2) + TW.Sum(x3) + TW.Sum(x4) + TW.Sum(x5) + TW.Sum(x6) + TW.Sum(x7) + TW.Sum(x8) + TW.Sum(x9);
    }

    /// <summary>The operations the FMA peak needs, for one hardware vector width.</summary>
    private interface IWidth<TV>
    {
        static abstract int Lanes { get; }
        static abstract TV Splat(float value);
        static abstract TV Fma(TV a, TV b, TV c);
        static abstract float Sum(TV v);
    }

    private readonly struct Width256 : IWidth<Vector256<float>>
    {
        public static int Lanes => Vector256<float>.Count;
        public static Vector256<float> Splat(float value) => Vector256.Create(value);
        public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    }

    private readonly struct Width512 : IWidth<Vector512<float>>
    {
        public static int Lanes => Vector512<float>.Count;
        public static Vector512<float> Splat(float value) => Vector512.Create(value);
        public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    }

    /// <summary>
    /// Runs <paramref name="step"/> for a warm-up second (or a quarter of the budget, if less), then <paramref name="warmed"/>
    /// when given, then as often as fits in <paramref name="seconds"/>, 16 steps at a time.
    /// </summary>
    private static long Timed(Action step, double seconds, out double elapsed, Action? warmed = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < Math.Min(1, seconds / 4)) step();
        warmed?.Invoke();
        long steps = 0;
        clock.Restart();
        do
        {
            for (int i = 0; i < 16; i++) step();
            steps += 16;
        } while (clock.Elapsed.TotalSeconds < seconds);
        elapsed = clock.Elapsed.TotalSeconds;
        return steps;
    }
}
