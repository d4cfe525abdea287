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

    public OptimizerArguments()
    {
        Real("--lr", "lr", "learning rate");
        Real("--momentum", "momentum", "momentum factor (sgd, rmsprop)");
        Real("--dampening", "dampening", "dampening of momentum (sgd); equal to --momentum gives the moving-average form");
        Flag("--nesterov", "nesterov", "Nesterov momentum (sgd)");
        Real("--weight-decay", "weight_decay", "weight decay (L2 term, or decoupled for adamw and lion)");
        Real("--alpha", "alpha", "smoothing constant of the squared-gradient average (rmsprop)");
        Real("--eps", "eps", "term added to the denominator");
        Real("--beta1", "beta1", "decay rate of the gradient average (adam family, lion)");
        Real("--beta2", "beta2", "decay rate of the second moment (adam family; lion's momentum)");
        Flag("--amsgrad", "amsgrad", "AMSGrad variant (adam, adamw)");
        Flag("--centered", "centered", "centered RMSProp (rmsprop)");
        Real("--lr-decay", "lr_decay", "learning-rate decay (adagrad)");
        Real("--initial-accumulator", "initial_accumulator_value", "initial sum of squared gradients (adagrad)");
        Real("--momentum-decay", "momentum_decay", "momentum schedule constant psi (nadam)");
        Flag("--maximize", "maximize", "maximize the objective");
        Flag("--decoupled-weight-decay", "decoupled_weight_decay", "shrink weights by (1 - lr*wd) instead of an L2 term (adam, nadam, radam)");
        Flag("--independent-weight-decay", "independent_weight_decay", "decoupled decay not scaled by lr: p *= 1 - wd (adam, adamw, nadam, radam, lion)");
        Flag("--eps-inside-sqrt", "eps_inside_sqrt", "divide by sqrt(v + eps) instead of sqrt(v) + eps (adagrad, rmsprop, adam, adamw, nadam)");
        Flag("--constant-momentum", "constant_momentum", "optax's NAdam: constant momentum beta1 (nadam)");
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

    private void Real(string name, string hyperparameter, string description) =>
        _options.Add((new Option<string>(name) { Description = description, HelpName = "value" }, hyperparameter));

    private void Flag(string name, string hyperparameter, string description) =>
        _options.Add((new Option<bool>(name) { Description = description }, hyperparameter));
}
