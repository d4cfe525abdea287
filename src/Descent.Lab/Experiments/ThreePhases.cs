using ScottPlot;

namespace Descent.Lab.Experiments;

/// <summary>Warmup, stable and decay phases: a warmup-stable-decay schedule against cosine decay, and a stable phase continued to a longer budget.</summary>
public sealed class ThreePhases : Experiment<ThreePhases.Results>
{
    /// <summary>How much higher than cosine's a final validation loss may be and still count as "as low" (nats per character).</summary>
    private const double Tolerance = 0.01;

    /// <inheritdoc/>
    public override string Name => "three-phases";

    /// <inheritdoc/>
    public override string Title => "Warmup, stable, decay: WSD against cosine, and a stable phase continued to twice the budget";

    /// <inheritdoc/>
    public override string Description =>
        "The pre-LN transformer of transformer-warmup (Adam, betas (0.9, 0.98), peak lr 3e-3 after a linear warmup over 100 steps) on the embedded text, " +
        "at two budgets: B (500 steps by default, 1,000 with --full) and 2B. Cosine decay to 0 is trained from scratch at each budget. The " +
        "warmup-stable-decay schedule (wsd-sqrt: the peak until the last 20% of the steps after the warmup, then a 1 - sqrt cooldown to 0) is one " +
        "stable-phase run at the peak rate, whose state is kept where the run of budget B starts cooling down and where the run of budget 2B does; each " +
        "budget's cooldown continues from its kept state in a trainer configured for that budget (weights, Adam's moments, step count and the " +
        "sampler's position copied through their state dictionaries). So the 2B run is the B run's stable phase continued, not a restart.";

    /// <summary>The runs of each seed.</summary>
    /// <param name="Trunk">The stable-phase runs (warmup, then the peak), one per seed.</param>
    /// <param name="Cosine">Cosine decay from scratch, <c>[seed][B, 2B]</c>.</param>
    /// <param name="Wsd">The cooldowns continued from the trunk, <c>[seed][B, 2B]</c>.</param>
    public sealed record Results(TransformerRuns.Run[] Trunk, TransformerRuns.Run[][] Cosine, TransformerRuns.Run[][] Wsd);

    private static readonly string[] Budgets = ["B", "2B"];

    /// <inheritdoc/>
    public override Results Compute(Workbench bench)
    {
        var size = TransformerRuns.At(bench);
        int seeds = TransformerRuns.Seeds(bench);
        long[] budgets = [size.Budget, 2 * size.Budget];
        var first = Enumerable.Range(0, seeds).SelectMany(seed => new[] { TransformerRuns.Trunk(bench, seed) }
            .Concat(budgets.Select(b => new TransformerRuns.Setting("pre", "adam", size.Warmup, "cosine", b, seed)))).ToList();
        bench.Say($"{Name}: {first.Count} transformer runs (the stable phase, shared with transformer-warmup, and cosine at {budgets[0]} and {budgets[1]} steps x {seeds} seed(s)), then {2 * seeds} cooldowns");
        var runs = TransformerRuns.Of(bench, first).Chunk(1 + budgets.Length).ToArray();
        var trunks = runs.Select(r => r[0]).ToArray();
        var cooldowns = Enumerable.Range(0, seeds).SelectMany(seed => budgets.Select(b => (Seed: seed, Budget: b))).ToList();
        var wsd = bench.RunKept("transformer-cooldown", cooldowns, c => TransformerRuns.Continue(bench, new("pre", "adam", size.Warmup, "wsd-sqrt", c.Budget, c.Seed), trunks[c.Seed],
            TransformerRuns.CooldownStart(c.Budget, size.Warmup)), c => c.Budget);
        return new Results(trunks, [.. runs.Select(r => r[1..])], [.. wsd.Chunk(budgets.Length)]);
    }

    /// <inheritdoc/>
    public override void Draw(Workbench bench, Results data)
    {
        string seedsNote = data.Trunk.Length > 1 ? "; median over seeds, their range as a band" : "";
        var loss = Figures.New("Transformer on text: WSD against cosine at budgets B and 2B", "step", "validation loss (nats per character)");
        var trunk = data.Trunk.Select(r => r.ValidationLoss).ToArray();
        Figures.SeedCurves(loss, data.Trunk[0].Steps, trunk, Colors.Gray, "WSD stable phase (peak rate)");
        for (int b = 0; b < Budgets.Length; b++)
        {
            int k = b;
            var color = b == 0 ? Figures.Palette[0].WithAlpha(0.55) : Figures.Palette[0];
            Figures.SeedCurves(loss, data.Cosine[0][b].Steps, [.. data.Cosine.Select(s => s[k].ValidationLoss)], color, $"cosine to {Budgets[b]}, from scratch").LinePattern = LinePattern.Dashed;
            var branch = Figures.SeedCurves(loss, data.Wsd[0][b].Steps, [.. data.Wsd.Select(s => s[k].ValidationLoss)], b == 0 ? Figures.Palette[1].WithAlpha(0.65) : Figures.Palette[1],
                $"WSD cooldown to {Budgets[b]}, from the stable phase at step {data.Wsd[0][b].Steps[0]}");
            var start = loss.Add.Marker(data.Wsd[0][b].Steps[0], Spread.Of(data.Wsd.Select(s => s[k].ValidationLoss[0])).Median);
            start.Color = branch.Color;
            start.Size = 10;
        }
        // The differences that matter are at the end: show every curve from half way to B's cooldown on.
        double from = data.Wsd[0][0].Steps[0] / 2;
        var shown = data.Wsd.Concat(data.Cosine).SelectMany(s => s).Concat(data.Trunk)
            .SelectMany(r => r.Steps.Zip(r.ValidationLoss).Where(p => p.First >= from).Select(p => p.Second)).ToArray();
        double best = shown.Min(), top = shown.Max();
        loss.Axes.SetLimits(from, data.Wsd[0][1].Setting.Steps * 1.02, best - 0.05 * (top - best), top + 0.05 * (top - best));
        Figures.LegendOutside(loss);
        bench.Add(this, "three-phases-loss", "Validation loss of cosine decay trained from scratch at budgets B and 2B (dashed) and of the warmup-stable-decay schedule, " +
            $"one stable-phase run (gray) with a cooldown branching off for each budget (dots: where each continues from the stable phase){seedsNote}.", loss, 1000, 520);

        var rates = Figures.New("The schedules' learning rates", "update", "learning rate");
        for (int b = 0; b < Budgets.Length; b++)
        {
            var cosine = data.Cosine[0][b].Setting;
            var wsd = data.Wsd[0][b].Setting;
            Figures.Line(rates, [.. Enumerable.Range(1, (int)cosine.Steps).Select(t => (double)t)], TransformerRuns.Rates(cosine), b == 0 ? Figures.Palette[0].WithAlpha(0.55) : Figures.Palette[0], $"cosine, budget {Budgets[b]}")
                .LinePattern = LinePattern.Dashed;
            Figures.Line(rates, [.. Enumerable.Range(1, (int)wsd.Steps).Select(t => (double)t)], TransformerRuns.Rates(wsd), b == 0 ? Figures.Palette[1].WithAlpha(0.65) : Figures.Palette[1], $"WSD (1 - sqrt cooldown), budget {Budgets[b]}");
        }
        rates.Axes.SetLimitsY(0, 1.08 * TransformerRuns.Lr);
        Figures.LegendOutside(rates);
        bench.Add(this, "three-phases-rates", "The learning rate at every update: cosine decay at each budget against warmup-stable-decay, whose stable phase is the same for both budgets.", rates, 1000, 460);
    }

    /// <inheritdoc/>
    public override void Judge(Workbench bench, Results data)
    {
        int seeds = data.Trunk.Length;
        for (int b = 0; b < Budgets.Length; b++)
        {
            int k = b;
            var wsd = data.Wsd.Select(s => s[k]).ToArray();
            var cosine = data.Cosine.Select(s => s[k]).ToArray();
            long from = (long)wsd[0].Steps[0], steps = wsd[0].Setting.Steps;
            bench.Measure(this, $"budget {Budgets[b]} ({steps} steps): final validation loss, cosine from scratch vs WSD cooled down from the stable phase at step {from}",
                $"{Spread.Of(cosine.Select(r => r.Final)).Format(v => Numbers.Format(v))} vs {Spread.Of(wsd.Select(r => r.Final)).Format(v => Numbers.Format(v))}");
        }
        long b1 = data.Wsd[0][0].Setting.Steps, start1 = (long)data.Wsd[0][0].Steps[0], start2 = (long)data.Wsd[0][1].Steps[0], b2 = data.Wsd[0][1].Setting.Steps;
        bench.Measure(this, "steps to reach budget 2B given the run of budget B: WSD (continue the stable phase, cool down) vs cosine (from scratch)",
            $"{b2 - start1} ({start2 - start1} more at the peak from step {start1}, then a {b2 - start2}-step cooldown; the B run's own cooldown, {b1 - start1} steps, is not reused) vs {b2}");

        for (int b = 0; b < Budgets.Length; b++)
        {
            int k = b;
            bench.Claim(this, b == 0
                    ? "a warmup-stable-decay schedule ends at least as low as cosine decay at the same peak rate and budget (Hägele et al., 2024)"
                    : "a stable-phase state continued to a longer budget and cooled down there ends as low as cosine trained from scratch for that budget (Hägele et al., 2024)",
                $"final validation loss at budget {Budgets[b]}, WSD minus cosine (nats per character)",
                [.. Enumerable.Range(0, seeds).Select(s => data.Wsd[s][k].Final - data.Cosine[s][k].Final)], v => Numbers.Format(v),
                $"at most {Numbers.Format(Tolerance)} in every seed", v => v <= Tolerance,
                $"{Numbers.Format(data.Wsd[0][k].Final)} vs {Numbers.Format(data.Cosine[0][k].Final)} in the first seed");
        }
    }
}
