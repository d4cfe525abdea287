namespace Descent.Lab;

/// <summary>
/// One of the classic optimizer experiments, as <c>descent reproduce</c> sees it: a name, a title, a description,
/// and a way to run on a <see cref="Workbench"/>. Write an experiment by deriving from <see cref="Experiment{TData}"/>.
/// </summary>
public abstract class Experiment
{
    /// <summary>The name on the command line (<c>rosenbrock</c>, ...).</summary>
    public abstract string Name { get; }

    /// <summary>A title for the report.</summary>
    public abstract string Title { get; }

    /// <summary>Two or three sentences: what is run and what it is expected to show.</summary>
    public abstract string Description { get; }

    /// <summary>Runs the experiment, adding figures, measurements and claims to <paramref name="bench"/>.</summary>
    public abstract void Run(Workbench bench);
}

/// <summary>
/// An experiment in parts: <see cref="Compute"/> does the work (training, trajectories) and returns the data;
/// <see cref="Draw"/> draws the figures and <see cref="Judge"/> records the measurements and claims, both from
/// that data alone. A result another experiment also needs is computed through <see cref="Workbench.Shared{T}"/>,
/// never read from the other experiment.
/// </summary>
/// <typeparam name="TData">Everything the figures and the claims need.</typeparam>
public abstract class Experiment<TData> : Experiment
{
    /// <summary>Does the work at the bench's scale and seeds, and returns what the figures and claims need.</summary>
    public abstract TData Compute(Workbench bench);

    /// <summary>Draws the figures of <paramref name="data"/> onto the bench.</summary>
    public abstract void Draw(Workbench bench, TData data);

    /// <summary>Records the measurements and claims of <paramref name="data"/> on the bench.</summary>
    public abstract void Judge(Workbench bench, TData data);

    /// <inheritdoc/>
    public sealed override void Run(Workbench bench)
    {
        var data = Compute(bench);
        Draw(bench, data);
        Judge(bench, data);
    }
}
