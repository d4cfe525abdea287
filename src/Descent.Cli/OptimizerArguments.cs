using System.CommandLine;
using Descent.Optim;

namespace Descent.Cli;

/// <summary>
/// The command-line options that set optimizer hyperparameters (<c>--lr</c>, <c>--momentum</c>, ...),
/// shared by every command that runs an optimizer. Each maps to a hyperparameter by its PyTorch name; an
/// option the chosen optimizer does not have is an error, and unset options keep the optimizer's defaults.
/// </summary>
internal sealed class OptimizerArguments
{
    private readonly List<(Option Option, string Hyperparameter)> _options = [];

    /// <summary>
    /// One option per hyperparameter name found in the table of any of <paramref name="optimizers"/> (default: every
    /// registered one), in registration order; its help is the hyperparameter's description and the optimizers that have it.
    /// </summary>
    public OptimizerArguments(IEnumerable<string>? optimizers = null)
    {
        var tables = (optimizers ?? Optimizers.Names).Select(name => (Name: name, Table: Optimizers.DefaultOptions(name).Hyperparameters)).ToList();
        foreach (var h in tables.SelectMany(t => t.Table).DistinctBy(h => h.Name))
        {
            var owners = tables.Where(t => t.Table.Any(o => o.Name == h.Name)).Select(t => t.Name).ToList();
            string help = owners.Count == tables.Count ? h.Description : $"{h.Description} ({string.Join(", ", owners)})";
            Option option = h.Kind == HyperparameterKind.Flag
                ? new Option<bool>(h.CommandLineFlag) { Description = help }
                : new Option<string>(h.CommandLineFlag) { Description = help, HelpName = "value" };
            _options.Add((option, h.Name));
        }
    }

    /// <summary>The options, to add to a command.</summary>
    public IEnumerable<Option> Options => _options.Select(o => o.Option);

    /// <summary>The optimizer's default options with every given command-line value applied and validated.</summary>
    public OptimizerOptions Read(ParseResult parsed, string optimizer)
    {
        OptimizerOptions options;
        try
        {
            options = Optimizers.DefaultOptions(optimizer);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        foreach (var (option, name) in _options)
        {
            var result = parsed.GetResult(option);
            if (result is null || result.Implicit) continue;
            if (!options.Has(name))
            {
                var valid = _options.Where(o => options.Has(o.Hyperparameter)).Select(o => o.Option.Name);
                throw new UsageException($"{option.Name} does not apply to {optimizer}; its options are {string.Join(", ", valid)}.");
            }
            double value = option switch
            {
                Option<bool> flag => parsed.GetValue(flag) ? 1 : 0,
                Option<string> real => Numbers.Real(parsed.GetValue(real)!, option.Name),
                _ => throw new InvalidOperationException(option.Name),
            };
            try
            {
                options.Set(name, value);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"{e.Message.TrimEnd('.')} (set with {option.Name}).");
            }
        }
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return options;
    }
}
