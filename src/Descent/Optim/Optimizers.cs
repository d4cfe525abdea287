using System.Numerics;
using Descent.Nn;

namespace Descent.Optim;

/// <summary>Creates optimizers by name, for the command line and for configuration files.</summary>
public static class Optimizers
{
    /// <summary>The optimizer names, as on the command line.</summary>
    public static IReadOnlyList<string> Names { get; } = ["sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "radam", "adamax", "lion"];

    /// <summary>Default hyperparameters of the optimizer called <paramref name="name"/>.</summary>
    public static OptimizerOptions DefaultOptions(string name) => name switch
    {
        "sgd" => new SgdOptions(),
        "adagrad" => new AdagradOptions(),
        "rmsprop" => new RmsPropOptions(),
        "adam" => new AdamOptions(),
        "adamw" => new AdamWOptions(),
        "nadam" => new NAdamOptions(),
        "radam" => new RAdamOptions(),
        "adamax" => new AdamaxOptions(),
        "lion" => new LionOptions(),
        _ => throw new ArgumentException($"Unknown optimizer '{name}': choose one of {string.Join(", ", Names)}."),
    };

    /// <summary>Creates the optimizer called <paramref name="name"/> with <paramref name="options"/> (from <see cref="DefaultOptions"/>).</summary>
    public static Optimizer<T> Create<T>(string name, IEnumerable<Parameter<T>> parameters, OptimizerOptions? options = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        options ??= DefaultOptions(name);
        return (name, options) switch
        {
            ("sgd", SgdOptions o) => new Sgd<T>(parameters, o),
            ("adagrad", AdagradOptions o) => new Adagrad<T>(parameters, o),
            ("rmsprop", RmsPropOptions o) => new RmsProp<T>(parameters, o),
            ("adam", AdamOptions o) => new Adam<T>(parameters, o),
            ("adamw", AdamWOptions o) => new AdamW<T>(parameters, o),
            ("nadam", NAdamOptions o) => new NAdam<T>(parameters, o),
            ("radam", RAdamOptions o) => new RAdam<T>(parameters, o),
            ("adamax", AdamaxOptions o) => new Adamax<T>(parameters, o),
            ("lion", LionOptions o) => new Lion<T>(parameters, o),
            _ when !Names.Contains(name) => throw new ArgumentException($"Unknown optimizer '{name}': choose one of {string.Join(", ", Names)}."),
            _ => throw new ArgumentException($"Options of type {options.GetType().Name} do not belong to optimizer '{name}'."),
        };
    }
}
