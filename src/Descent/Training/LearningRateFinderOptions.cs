namespace Descent.Training;

/// <summary>Settings of the learning-rate range test (<see cref="LearningRateFinder"/>); the defaults are fastai's <c>lr_find</c>.</summary>
public sealed record LearningRateFinderOptions
{
    /// <summary>The learning rate of the first iteration.</summary>
    public double StartLr { get; init; } = 1e-7;

    /// <summary>The learning rate the range rises towards: iteration <c>i</c> (from 0) uses <c>start (end / start)^(i / iterations)</c>.</summary>
    public double EndLr { get; init; } = 10;

    /// <summary>Iterations (minibatches) at most.</summary>
    public int Iterations { get; init; } = 100;

    /// <summary>Weight of the past in the smoothed loss: <c>avg = beta avg + (1 - beta) loss</c>, reported as <c>avg / (1 - beta^n)</c>.</summary>
    public double Beta { get; init; } = 0.98;

    /// <summary>Stop once the smoothed loss exceeds this multiple of its minimum so far; 0 never stops early.</summary>
    public double StopFactor { get; init; } = 4;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (!(StartLr > 0) || !double.IsFinite(StartLr)) throw new ArgumentException($"Invalid start learning rate {StartLr}: must be a finite number above 0.");
        if (!(EndLr > StartLr) || !double.IsFinite(EndLr)) throw new ArgumentException($"Invalid end learning rate {EndLr}: must be finite and above the start learning rate {StartLr}.");
        if (Iterations < 6) throw new ArgumentException($"Invalid number of iterations {Iterations}: the range test needs at least 6 (fastai's minimum; 100 is the default).");
        if (!(Beta >= 0 && Beta < 1)) throw new ArgumentException($"Invalid smoothing beta {Beta}: must be in [0, 1).");
        if (!(StopFactor == 0 || StopFactor > 1) || !double.IsFinite(StopFactor)) throw new ArgumentException($"Invalid stop factor {StopFactor}: must be above 1, or 0 to never stop early.");
    }
}
