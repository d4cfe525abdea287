namespace Descent.Playground;

/// <summary>
/// Caps on what one request may ask for, so no request can tie up the server: each request's work is
/// capped as a whole (a product of its sizes), not only field by field, because a request whose every
/// field is within its own range can still multiply into minutes of computation.
/// </summary>
public static class Limits
{
    /// <summary>Most updates in one trajectory.</summary>
    public const int MaxSteps = 20000;

    /// <summary>Most optimizers in one request.</summary>
    public const int MaxOptimizers = 8;

    /// <summary>
    /// Most updates in one trajectory request, summed over its optimizers (steps x optimizers): 8 x 5000
    /// Adam updates on a 300-character formula took under 0.2 s of one core (2-core AMD EPYC), so this keeps a
    /// request well under a second while one optimizer may still run for <see cref="MaxSteps"/>.
    /// </summary>
    public const int MaxTrajectoryUpdates = 40000;

    /// <summary>
    /// Most loss and gradient evaluations in one trajectory request, summed over its optimizers: an update of most
    /// optimizers is one, an L-BFGS step up to its <see cref="Descent.Optim.LbfgsOptions.MaxEvaluationsPerStep"/>, so
    /// steps x optimizers alone would let one link run an L-BFGS step of any length. 8 x 5000 Adam updates are 40,000;
    /// 7,692 L-BFGS steps of 20 evaluations each (it never settles on a plane) on a 287-character formula took 0.24 s of
    /// one core (2-core AMD EPYC), so the cap is under a second and admits one L-BFGS run of 20,000 default steps.
    /// </summary>
    public const int MaxTrajectoryEvaluations = 600000;

    /// <summary>
    /// The playground's upper bounds on hyperparameters the library leaves open, which set the work and memory of one
    /// step: L-BFGS's iterations and evaluations per step (torch's defaults are 20 and 25) and its history (100).
    /// </summary>
    public static double? Cap(Descent.Optim.OptimizerOptions options, string hyperparameter) => options is Descent.Optim.LbfgsOptions
        ? hyperparameter switch
        {
            "max_iter" => 100,
            "max_eval" => 125,
            "history_size" => 1000,
            _ => null,
        }
        : null;

    /// <summary>Refuses a hyperparameter of <paramref name="options"/> above its <see cref="Cap"/>.</summary>
    public static void CheckCaps(string optimizer, Descent.Optim.OptimizerOptions options)
    {
        foreach (var h in options.Hyperparameters)
            if (Cap(options, h.Name) is { } cap && h.Get(options) > cap)
                throw new BadRequest($"{optimizer}.{h.Name} is {h.Get(options).ToString(System.Globalization.CultureInfo.InvariantCulture)}; the playground allows at most {cap} (it sets the work of one step).");
    }

    /// <summary>Loss and gradient evaluations one update of an optimizer with <paramref name="options"/> can take.</summary>
    public static long EvaluationsPerUpdate(Descent.Optim.OptimizerOptions options) =>
        options is Descent.Optim.LbfgsOptions l ? l.MaxEvaluationsPerStep : 1;

    /// <summary>Largest surface grid side.</summary>
    public const int MaxResolution = 200;

    /// <summary>Longest expression.</summary>
    public const int MaxExpressionLength = 300;

    /// <summary>Largest request body in bytes.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Largest coordinate magnitude of a start point or a view.</summary>
    public const double MaxCoordinate = 1e6;

    /// <summary>
    /// Most training work in one request, counted as steps x batch x <see cref="ExampleCost"/>. One core trains
    /// 0.7e10 to 1.6e10 of these units a second (Adam on two moons, networks from 16 to 256x256x256x256 units at
    /// batch 32 to 2000, on a 2-core AMD EPYC with AVX-512), so the cap is 1.2 to 2.9 seconds of work; a tiny
    /// network reaches <see cref="TrainingSessions.MaxStepsPerRequest"/> first. <see cref="MaxTrainingSeconds"/>
    /// stops a request that the estimate still underrates.
    /// </summary>
    public const double MaxTrainingWork = 2e10;

    /// <summary>Wall-clock budget of one training request: past it the request returns the steps it has done.</summary>
    public const double MaxTrainingSeconds = 4;

    /// <summary>
    /// The fixed cost of one example in a training step (drawing it, the loss), in units of one
    /// parameter: a 16-unit network at batch 2000 took 64 ns an example for its 82 parameters.
    /// </summary>
    public const int ExampleOverhead = 1000;

    /// <summary>
    /// Work of one example through a network, in units of one parameter: its parameters, the fixed overhead, and
    /// each hidden unit's activation forward and backward, which for the transcendental ones costs far more than a
    /// multiply-add (measured per unit and example, one hidden layer of 256 at batch 2000: GELU's two erf
    /// evaluations about 62 ns, tanh 8 ns, sigmoid 2.6 ns, against 0.1 ns a parameter).
    /// </summary>
    public static double ExampleCost(long parameters, long hiddenUnits, string activation) =>
        parameters + ExampleOverhead + hiddenUnits * activation switch
        {
            "gelu" => 700.0,
            "tanh" => 100.0,
            "sigmoid" => 40.0,
            _ => 2.0,
        };

    /// <summary>
    /// Training work of <paramref name="steps"/> updates of <paramref name="batch"/> examples of <paramref name="exampleCost"/>
    /// each, with <paramref name="gradients"/> minibatch gradients an update (several under gradient accumulation, two
    /// under SAM). Lookahead and weight averaging add one pass over the parameters an update, less than one example's.
    /// </summary>
    public static double TrainingWork(long steps, int batch, double exampleCost, long gradients = 1) => (double)steps * batch * gradients * exampleCost;
}
