namespace Descent.Training;

/// <summary>
/// Something a <see cref="TrainingLoop"/> tells about its run: every step, every evaluation and every checkpoint
/// point. Metrics files, checkpoints and TensorBoard (<see cref="RunWriter"/>), progress displays
/// (<see cref="ProgressObserver"/>) and curves kept in memory (<see cref="MetricsLog"/>) are observers; each method
/// does nothing unless implemented.
/// </summary>
public interface ITrainingObserver
{
    /// <summary>After every update, with the mean minibatch loss it started from.</summary>
    void OnStep(TrainingLoop loop, double loss)
    {
    }

    /// <summary>After an evaluation (every <see cref="TrainingLoop.EvalEvery"/> steps and at the run's last step).</summary>
    void OnEvaluation(TrainingLoop loop, MetricsRow row)
    {
    }

    /// <summary>At a checkpoint point (every <see cref="TrainingLoop.CheckpointEvery"/> steps and at the run's last step), after that step's evaluation.</summary>
    void OnCheckpoint(TrainingLoop loop)
    {
    }
}

/// <summary>Calls a function after every update (with the loop and the loss the update started from): measurements a run takes between steps.</summary>
public sealed class StepObserver(Action<TrainingLoop, double> onStep) : ITrainingObserver
{
    /// <inheritdoc/>
    public void OnStep(TrainingLoop loop, double loss) => onStep(loop, loss);
}

/// <summary>Calls a function with every evaluation's row and the steps per second since the loop started.</summary>
public sealed class ProgressObserver(Action<MetricsRow, double> report) : ITrainingObserver
{
    /// <inheritdoc/>
    public void OnEvaluation(TrainingLoop loop, MetricsRow row) => report(row, loop.StepsPerSecond);
}

/// <summary>Keeps every evaluation's row in memory: the curves of a run, for a figure or a table.</summary>
public sealed class MetricsLog : ITrainingObserver
{
    private readonly List<MetricsRow> _rows = [];

    /// <summary>The rows, in step order.</summary>
    public IReadOnlyList<MetricsRow> Rows => _rows;

    /// <inheritdoc/>
    public void OnEvaluation(TrainingLoop loop, MetricsRow row) => _rows.Add(row);
}
