using System.Diagnostics;
using Descent.Data;

namespace Descent.Training;

/// <summary>How a <see cref="TrainingLoop.Run"/> ended.</summary>
/// <param name="Steps">Steps taken in all (the trainer's step count at the end).</param>
/// <param name="Last">The last evaluation's row, or null if none was made.</param>
/// <param name="Seconds">Wall time of this call.</param>
/// <param name="TrainingSeconds">Wall time of this call without its evaluations and checkpoints: the steps (and the observers of every step).</param>
/// <param name="StepsPerSecond">Steps of this call per second of wall time.</param>
/// <param name="Divergence">Where the run diverged and stopped, or null.</param>
public sealed record TrainingOutcome(long Steps, MetricsRow? Last, double Seconds, double TrainingSeconds, double StepsPerSecond, Divergence? Divergence);

/// <summary>
/// The one training loop: steps a <see cref="Trainer"/> to a budget (the run's <see cref="Trainer.TotalSteps"/>, an
/// earlier step, a time limit, a cancellation), evaluates every <see cref="EvalEvery"/> steps and at the run's last step
/// (the schedule observes the test loss: reduce-on-plateau), and tells its observers of every step, evaluation and
/// checkpoint point. It stops when the run diverges, by one definition for every caller: a minibatch loss that is not
/// finite or above <see cref="DivergenceThreshold"/>, or weights that are not finite at an evaluation or checkpoint;
/// nothing is evaluated or checkpointed from a diverged state.
/// </summary>
/// <param name="trainer">The trainer to step.</param>
/// <param name="observers">Told of the run, in this order.</param>
public sealed class TrainingLoop(Trainer trainer, params IEnumerable<ITrainingObserver> observers)
{
    private readonly ITrainingObserver[] _observers = [.. observers];
    private readonly Stopwatch _clock = new();
    private long _startStep;

    /// <summary>The trainer stepped.</summary>
    public Trainer Trainer { get; } = trainer ?? throw new ArgumentNullException(nameof(trainer));

    /// <summary>Steps between evaluations (besides the run's last step); 0 for none at all. Defaults to the config's.</summary>
    public long EvalEvery { get; init; } = trainer.Config.EvalEvery;

    /// <summary>Steps between checkpoint points (besides the run's last step); 0 for none at all. Defaults to the config's.</summary>
    public long CheckpointEvery { get; init; } = trainer.Config.CheckpointEvery;

    /// <summary>The examples evaluated as the training set (<see cref="MetricsRow.TrainLoss"/>); null to skip them. Defaults to all of the trainer's.</summary>
    public Dataset? EvaluateTrain { get; init; } = trainer.Train;

    /// <summary>The examples evaluated as the test set (<see cref="MetricsRow.TestLoss"/>); null to skip them. Defaults to all of the trainer's.</summary>
    public Dataset? EvaluateTest { get; init; } = trainer.Test;

    /// <summary>A finite minibatch loss above this also counts as divergence (e.g. a multiple of chance level); infinity by default.</summary>
    public double DivergenceThreshold { get; init; } = double.PositiveInfinity;

    /// <summary>Wall time of the current (or last) <see cref="Run"/>.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Steps per second of wall time since the current (or last) <see cref="Run"/> started.</summary>
    public double StepsPerSecond => (Trainer.Step - _startStep) / Math.Max(1e-9, _clock.Elapsed.TotalSeconds);

    /// <summary>
    /// Steps until the trainer reaches <paramref name="until"/> (default and at most: <see cref="Trainer.TotalSteps"/>),
    /// <paramref name="timeLimit"/> has passed, or the run diverges. A cancelled <paramref name="cancel"/> throws
    /// <see cref="OperationCanceledException"/>; the cancellation is looked at before every step, and the time too when there is a limit.
    /// </summary>
    public TrainingOutcome Run(long? until = null, TimeSpan? timeLimit = null, CancellationToken cancel = default)
    {
        var t = Trainer;
        long end = Math.Min(until ?? t.TotalSteps, t.TotalSteps);
        _startStep = t.Step;
        _clock.Restart();
        long outsideSteps = 0;
        MetricsRow? last = null;
        Divergence? divergence = null;
        while (t.Step < end)
        {
            // Every step: one step can be long (an L-BFGS step evaluates the minibatch up to max_eval times).
            cancel.ThrowIfCancellationRequested();
            if (timeLimit is { } limit && _clock.Elapsed >= limit) break;
            double loss = t.TrainStep();
            // A non-finite loss stops the step before its update; a finite one too large was stepped on.
            if (!double.IsFinite(loss) || loss > DivergenceThreshold)
            {
                divergence = new Divergence(double.IsFinite(loss) ? t.Step : t.Step + 1, loss, false, t.LearningRate, t.Train.Name);
                break;
            }
            foreach (var o in _observers) o.OnStep(this, loss);
            bool final = t.Step == t.TotalSteps;
            bool evaluate = Due(EvalEvery, final), checkpoint = Due(CheckpointEvery, final);
            if (!evaluate && !checkpoint) continue;
            long before = Stopwatch.GetTimestamp();
            // An update can leave weights that are not finite although the loss it started from was (batch norm keeps the
            // loss finite a while): nothing is recorded or kept from them.
            if (!Finite(t.Model.Values))
            {
                divergence = new Divergence(t.Step, double.NaN, true, t.LearningRate, t.Train.Name);
                break;
            }
            if (evaluate)
            {
                last = t.Evaluation(EvaluateTrain, EvaluateTest);
                if (EvaluateTest is not null) t.Setup.ObserveTestLoss(t.Step, last.TestLoss);
                foreach (var o in _observers) o.OnEvaluation(this, last);
            }
            if (checkpoint)
                foreach (var o in _observers) o.OnCheckpoint(this);
            outsideSteps += Stopwatch.GetTimestamp() - before;   // only around evaluations and checkpoints: without a time limit a step stays free of clock reads
        }
        _clock.Stop();
        double seconds = _clock.Elapsed.TotalSeconds;
        return new TrainingOutcome(t.Step, last, seconds, seconds - Stopwatch.GetElapsedTime(0, outsideSteps).TotalSeconds, StepsPerSecond, divergence);
    }

    private bool Due(long every, bool final) => every > 0 && (final || Trainer.Step % every == 0);

    private static bool Finite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!float.IsFinite(v)) return false;
        return true;
    }
}
