using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Why transformers need warmup: post-LN against pre-LN transformers, Adam with and without warmup, and RAdam.</summary>
public sealed class TransformerWarmup : Experiment<TransformerWarmup.Results>
{
    /// <summary>The gap in final validation loss (nats per character) that counts as training worse.</summary>
    private const double Gap = 0.05;

    /// <inheritdoc/>
    public override string Name => "transformer-warmup";

    /// <inheritdoc/>
    public override string Title => "Why transformers need warmup: post-LN and pre-LN, Adam with and without warmup, RAdam";

    /// <inheritdoc/>
    public override string Description =>
        "Character-level language models on the embedded fortunes text: a post-LN and a pre-LN transformer of equal size (6 layers, d 32, 4 heads, " +
        "context 32, batch 16 by default; d 64, context 64, batch 32 and 3 seeds with --full), trained by Adam without warmup, Adam with a linear warmup over " +
        "the first 100 steps, and RAdam without warmup, all at lr 3e-3 (constant after the warmup) with betas (0.9, 0.98) as in the transformer " +
        "papers. The warmup length is 2 / (1 - beta2), the horizon over which Adam's second-moment estimate and RAdam's rectification settle. " +
        "The gradient norms per block are those of the first update (at the initialization); the update size is the root mean square of the change " +
        "of all weights in each of the first 200 updates. Each run takes 821 steps (1,621 with --full), as long as the stable phase of three-phases, " +
        "which shares the pre-LN Adam + warmup run. Validation is on the first 256 windows of the test text (8,192 characters; all of it with --full).";

    private static readonly (string Optimizer, bool Warmup, string Label)[] Optimizers =
        [("adam", false, "Adam"), ("adam", true, "Adam + warmup"), ("radam", false, "RAdam")];

    private static readonly (string Norm, string Label)[] Norms = [("post", "post-LN"), ("pre", "pre-LN")];

    /// <summary>The runs of every norm and optimizer.</summary>
    /// <param name="Runs">The runs, <c>[seed][norm: post, pre][optimizer: Adam, Adam + warmup, RAdam]</c>.</param>
    public sealed record Results(TransformerRuns.Run[][][] Runs);

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        int seeds = TransformerRuns.Seeds(bench);
        var settings = new List<TransformerRuns.Setting>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var trunk = TransformerRuns.Trunk(bench, seed);
            foreach (var (norm, _) in Norms)
                foreach (var (optimizer, warmup, _) in Optimizers)
                    // The pre-LN Adam + warmup run is the schedule experiment's stable phase; the others are as long.
                    settings.Add(norm == "pre" && warmup ? trunk : new(norm, optimizer, warmup ? trunk.Warmup : 0, "constant", trunk.Steps, seed));
        }
        bench.Say($"{Name}: {settings.Count} transformer runs of {settings[0].Steps} steps ({Norms.Length} norms x {Optimizers.Length} optimizers x {seeds} seed(s))");
        var runs = TransformerRuns.Of(bench, settings);
        return new Results([.. runs.Chunk(Norms.Length * Optimizers.Length).Select(s => s.Chunk(Optimizers.Length).ToArray())]);
    }

    private static TransformerRuns.Run[] Seeds(Results data, int norm, int optimizer) => [.. data.Runs.Select(s => s[norm][optimizer])];

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        string seedsNote = data.Runs.Length > 1 ? $"; median over {data.Runs.Length} seeds, their range as a band" : "";
        var loss = Figures.New("Transformer on text: validation loss", "step", "cross-entropy (nats per character)");
        for (int n = 0; n < Norms.Length; n++)
            for (int o = 0; o < Optimizers.Length; o++)
            {
                var runs = Seeds(data, n, o);
                string label = $"{Norms[n].Label}, {Optimizers[o].Label}";
                // A run stopped early is drawn alone, seed by seed: its curve is shorter than the others'.
                var lines = runs.Any(r => r.DivergedAt > 0)
                    ? runs.Select((r, k) => Figures.Line(loss, r.Steps, r.ValidationLoss, Figures.Palette[o], k == 0 ? label + " (loss exploded)" : "")).ToArray()
                    : [Figures.SeedCurves(loss, runs[0].Steps, [.. runs.Select(r => r.ValidationLoss)], Figures.Palette[o], label)];
                foreach (var line in lines) line.LinePattern = n == 0 ? LinePattern.Solid : LinePattern.Dashed;
            }
        Figures.LegendOutside(loss);
        bench.Add(this, "transformer-warmup-loss", "Validation loss of the post-LN (solid) and pre-LN (dashed) transformers under Adam without warmup, " +
            $"Adam with a linear warmup over the first {data.Runs[0][0][1].Setting.Warmup} steps, and RAdam without warmup, all at lr {Numbers.Format(TransformerRuns.Lr)}{seedsNote}.", loss, 1000, 520);

        int blocks = data.Runs[0][0][0].BlockGradients.Length;
        var gradients = Figures.New("Gradient norm at initialization, by layer", "block (1 = nearest the input)", "gradient norm");
        double[] xs = [.. Enumerable.Range(1, blocks).Select(b => (double)b)];
        for (int n = 0; n < Norms.Length; n++)
        {
            var runs = Seeds(data, n, 0);
            Figures.SeedCurves(gradients, xs, [.. runs.Select(r => r.BlockGradients)], Figures.Palette[n == 0 ? 3 : 0], $"{Norms[n].Label}: feedforward weights of each block", Math.Log10, markers: true);
            var output = gradients.Add.ScatterPoints(new double[] { blocks + 0.5 }, new double[] { Math.Log10(Spread.Of(runs.Select(r => r.OutputGradient)).Median) });
            output.Color = Figures.Palette[n == 0 ? 3 : 0];
            output.MarkerShape = MarkerShape.FilledDiamond;
            output.MarkerSize = 12;
            output.LegendText = $"{Norms[n].Label}: output layer weight";
        }
        Figures.LogY(gradients);
        gradients.Axes.Bottom.SetTicks([.. xs, blocks + 0.5], [.. xs.Select(x => Numbers.Format(x)), "output"]);
        Figures.LegendOutside(gradients);
        bench.Add(this, "transformer-warmup-gradients", "Norm of the gradient of each block's feedforward weights (both matrices) and of the output layer's weight, " +
            $"on the first minibatch at the initialization (Xiong et al.'s Figure 3 at our scale){seedsNote}.", gradients, 1000, 520);

        var updates = Figures.New("Size of the first updates", "update", "RMS change of the weights");
        for (int n = 0; n < Norms.Length; n++)
            for (int o = 0; o < Optimizers.Length; o++)
            {
                var first = data.Runs[0][n][o].FirstUpdates;
                // The warmup's first update has lr 0 and moves nothing: a log axis starts at the first that moves.
                var points = first.Select((u, i) => (Step: i + 1.0, u.Rms)).Where(p => p.Rms > 0).ToArray();
                var line = Figures.Line(updates, [.. points.Select(p => p.Step)], [.. points.Select(p => Math.Log10(p.Rms))], Figures.Palette[o], $"{Norms[n].Label}, {Optimizers[o].Label}");
                line.LinePattern = n == 0 ? LinePattern.Solid : LinePattern.Dashed;
            }
        var lr = updates.Add.HorizontalLine(Math.Log10(TransformerRuns.Lr));
        lr.Color = Colors.Gray;
        lr.LinePattern = LinePattern.Dotted;
        lr.LegendText = $"lr {Numbers.Format(TransformerRuns.Lr)}";
        Figures.LogY(updates);
        Figures.LegendOutside(updates);
        bench.Add(this, "transformer-warmup-updates", "Root mean square of the change of all weights in each of the first updates (first seed), post-LN solid, pre-LN dashed: " +
            "Adam's first updates move every weight by about lr at once; the warmup and RAdam's rectification start small.", updates, 1000, 520);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        for (int n = 0; n < Norms.Length; n++)
            for (int o = 0; o < Optimizers.Length; o++)
            {
                var runs = Seeds(data, n, o);
                var early = runs.Select(r => r.FirstUpdates.Take((int)data.Runs[0][0][1].Setting.Warmup).Average(u => u.Rms));
                bench.Measure(this, $"{Norms[n].Label}, {Optimizers[o].Label}: final validation loss; RMS update of step 1 and mean over the warmup's length",
                    (runs.Any(r => r.DivergedAt > 0) ? $"the loss exploded (stopped at step {string.Join(", ", runs.Select(r => r.DivergedAt))})" : Spread.Of(runs.Select(r => r.Final)).Format(v => Numbers.Format(v))) +
                    $"; {Spread.Of(runs.Select(r => r.FirstUpdates[0].Rms)).Format(v => Numbers.Format(v))}, {Spread.Of(early).Format(v => Numbers.Format(v))}");
            }
        for (int n = 0; n < Norms.Length; n++)
        {
            var runs = Seeds(data, n, 0);
            bench.Measure(this, $"{Norms[n].Label}: gradient norm at initialization, feedforward weights of blocks 1..{runs[0].BlockGradients.Length}; output layer weight",
                string.Join(", ", Enumerable.Range(0, runs[0].BlockGradients.Length).Select(b => Spread.Of(runs.Select(r => r.BlockGradients[b])).Format(v => Numbers.Format(v)))) +
                $"; {Spread.Of(runs.Select(r => r.OutputGradient)).Format(v => Numbers.Format(v))}");
        }
        int layers = data.Runs[0][0][0].BlockGradients.Length;
        bench.Measure(this, $"last block's feedforward gradient at initialization, post-LN / pre-LN (Xiong et al.'s bounds differ by sqrt(layers) = {Numbers.Format(Math.Sqrt(layers))})",
            Spread.Of(data.Runs.Select(s => s[0][0].BlockGradients[^1] / s[1][0].BlockGradients[^1])).Format(Numbers.Times));

        // Per seed: how much the warmup helps each norm (final loss without it minus with it; a run that exploded counts as untrained).
        double Help(TransformerRuns.Run[] seed) => seed[0].Final - seed[1].Final;
        string Finals(TransformerRuns.Run[] seed) => $"{Numbers.Format(seed[0].Final)} without warmup vs {Numbers.Format(seed[1].Final)} with it in the first seed";
        bench.Claim(this, "post-LN transformers train badly or diverge under Adam without warmup (Xiong et al., 2020)",
            "post-LN final validation loss, Adam without warmup minus with warmup (nats per character)", [.. data.Runs.Select(s => Help(s[0]))], v => Numbers.Format(v),
            $"at least {Numbers.Format(Gap)} in every seed (or the loss explodes)", v => v >= Gap, Finals(data.Runs[0][0]));
        bench.Claim(this, "pre-LN transformers train without warmup (Xiong et al., 2020)",
            "pre-LN final validation loss, Adam without warmup minus with warmup (nats per character)", [.. data.Runs.Select(s => Help(s[1]))], v => Numbers.Format(v),
            $"below {Numbers.Format(Gap)} in every seed", v => v < Gap, Finals(data.Runs[0][1]));

        // Xiong et al.'s Figure 3: for post-LN the gradient grows towards the output; for pre-LN it stays level across layers.
        static double Growth(TransformerRuns.Run r) => r.BlockGradients[^1] / r.BlockGradients[0];
        bench.Claim(this, "at initialization the gradients of the layers near the output are large for post-LN, not for pre-LN (Xiong et al., 2020, Figure 3)",
            "gradient norm of the last block's feedforward weights over the first block's, post-LN / pre-LN", [.. data.Runs.Select(s => Growth(s[0][0]) / Growth(s[1][0]))], Numbers.Times,
            "at least 1.5x in every seed", v => v >= 1.5,
            $"last / first block {Numbers.Times(Growth(data.Runs[0][0][0]))} post-LN, {Numbers.Times(Growth(data.Runs[0][1][0]))} pre-LN in the first seed");

        // Liu et al.: RAdam's rectification does what the warmup does, so RAdam without warmup ends where Adam with warmup does.
        bench.Claim(this, "RAdam without warmup trains like Adam with warmup (Liu et al., 2020)",
            "largest difference in final validation loss, RAdam minus Adam + warmup, over post-LN and pre-LN (nats per character)",
            [.. data.Runs.Select(s => s.Max(norm => Math.Abs(norm[2].Final - norm[1].Final)))], v => Numbers.Format(v),
            $"below {Numbers.Format(Gap)} in every seed", v => v < Gap,
            $"post-LN {Numbers.Format(data.Runs[0][0][2].Final)} vs {Numbers.Format(data.Runs[0][0][1].Final)}, pre-LN {Numbers.Format(data.Runs[0][1][2].Final)} vs {Numbers.Format(data.Runs[0][1][1].Final)} in the first seed");
    }
}
