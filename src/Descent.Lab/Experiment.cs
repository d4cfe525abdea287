namespace Descent.Lab;

/// <summary>One of the classic optimizer experiments: it runs at a scale and reports figures and claims to the lab.</summary>
public abstract class Experiment
{
    /// <summary>The name on the command line (<c>rosenbrock</c>, ...).</summary>
    public abstract string Name { get; }

    /// <summary>A title for the report.</summary>
    public abstract string Title { get; }

    /// <summary>Two or three sentences: what is run and what it is expected to show.</summary>
    public abstract string Description { get; }

    /// <summary>Runs the experiment, adding figures and claims to <paramref name="lab"/>.</summary>
    public abstract void Run(Lab lab);
}
