using Descent.Training;

namespace Descent.Lab.Experiments;

/// <summary>
/// The networks trained on noisy two moons at each batch size, a result shared by the batch-size and the sharpness
/// experiments: whichever asks first trains them, once per bench.
/// </summary>
/// <param name="BatchSizes">The batch sizes, smallest first.</param>
/// <param name="Runs">The trained networks, <c>[seed][batch size]</c>.</param>
public sealed record NoisyMoonsNetworks(int[] BatchSizes, Classifiers.Run[][] Runs)
{
    /// <summary>The networks at <paramref name="bench"/>'s scale and seeds, trained on first use.</summary>
    public static NoisyMoonsNetworks Of(Workbench bench) => bench.Shared("noisy-moons-networks", () =>
    {
        long steps = bench.Pick(1500L, 60_000L, 1_500_000L);
        int[] sizes = bench.Pick<int[]>([1, 8, 64, 500], [1, 2, 4, 8, 16, 32, 64, 128, 250, 500], [1, 2, 4, 8, 16, 32, 64, 128, 250, 500]);
        var runs = Enumerable.Range(0, bench.Seeds).SelectMany(seed => sizes.Select(b => (Seed: seed, Batch: b))).ToArray();
        bench.Say($"noisy-moons-batch-size: training {runs.Length} networks ({sizes.Length} batch sizes x {bench.Seeds} seed(s)) for {steps:N0} steps each on {bench.Threads} thread(s)");
        var trained = Classifiers.TrainAll(bench, [.. runs.Select(r => Config(r.Batch, steps, r.Seed))], cost: c => c.Batch);   // a step's cost grows with the batch
        return new NoisyMoonsNetworks(sizes, trained.Chunk(sizes.Length).ToArray());
    });

    /// <summary>
    /// Two moons, N = 500, noise 0.1, 10% of labels flipped; a 2-64-64-2 ReLU network trained by SGD with
    /// lr_t = 0.15 / (1 + t / 5e4) at batch size <paramref name="batch"/>.
    /// </summary>
    private static TrainingConfig Config(int batch, long steps, int seed) => new()
    {
        Data = "moons",
        N = 500,
        Noise = 0.1,
        Flip = 0.1,
        Hidden = [64, 64],
        Activation = "relu",
        Loss = "cross-entropy",
        Optimizer = "sgd",
        Hyperparameters = new() { ["lr"] = 0.15 },
        Schedule = "power:tau=50000,alpha=1",
        Batch = batch,
        Steps = steps,
        Seed = 1 + (ulong)seed,
    };
}
