using System.Reflection;
using System.Text.RegularExpressions;
using Descent.Landscapes;
using Descent.Nn;
using Descent.Optim;
using Descent.State;
using Xunit;

namespace Descent.Tests;

/// <summary>No option is ever silently ignored: every setting an options type exposes changes what its rule does.</summary>
public class OptionTests
{
    public static IEnumerable<object[]> Names => Optimizers.Names.Select(n => new object[] { n });

    /// <summary>
    /// Settings that change nothing on the probe for a stated reason. Empty: every setting of every registered
    /// optimizer moves the probe path in some context. An entry needs its reason, and is a last resort.
    /// </summary>
    private static readonly Dictionary<(string Optimizer, string Hyperparameter), string> NoEffectOnProbe = [];

    /// <summary>
    /// For each hyperparameter of each registered optimizer: starting from the defaults, or the defaults with up to
    /// three other settings changed (weight decay that a decay switch acts on, momentum that dampening acts on, a
    /// learning rate other than Adadelta's 1 that makes independent decay differ from lr-scaled decay),
    /// some valid change of the hyperparameter alone must change the path on Rosenbrock. A setting the rule
    /// never reads cannot pass.
    /// </summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void Every_hyperparameter_changes_the_path_in_some_context(string name)
    {
        var table = Optimizers.DefaultOptions(name).Hyperparameters;
        var dead = new List<string>();
        foreach (var h in table)
        {
            if (NoEffectOnProbe.ContainsKey((name, h.Name))) continue;
            var others = table.Where(o => o != h).ToList();
            var contexts = new[] { Array.Empty<Hyperparameter>() }
                .Concat(others.Select(o => new[] { o }))
                .Concat(others.SelectMany((a, i) => others.Skip(i + 1).Select(b => new[] { a, b })))
                .Concat(others.SelectMany((a, i) => others.Skip(i + 1).SelectMany((b, j) => others.Skip(i + j + 2).Select(c => new[] { a, b, c }))));
            if (!contexts.Any(changed => ChangesPath(name, h, changed))) dead.Add(h.Name);
        }
        Assert.True(dead.Count == 0, $"{name} exposes settings that change nothing in any context: {string.Join(", ", dead)}");
    }

    /// <summary>Every public writable property of every options type is one of its table's hyperparameters (so the test above covers it).</summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void Every_public_setting_is_a_hyperparameter_of_the_table(string name)
    {
        var options = Optimizers.DefaultOptions(name);
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var copy = options.Clone();
            object? value = property.GetValue(copy);
            property.SetValue(copy, value switch
            {
                bool b => !b,
                double d => d + 0.25,
                int i => i + 1,
                _ => throw new InvalidOperationException($"{name}: setting {property.Name} of type {property.PropertyType.Name} is not a hyperparameter type"),
            });
            Assert.True(options.Hyperparameters.Any(h => h.Get(copy) != h.Get(options)),
                $"{name}: {options.GetType().Name}.{property.Name} is settable but no hyperparameter of the table reads it");
        }
    }

    /// <summary>A switch that would change nothing in the company it is given is refused at construction, naming it and the fix.</summary>
    [Theory]
    [InlineData("adam", "amsgrad_bias_corrected", "Invalid amsgrad_bias_corrected: it changes AMSGrad's maximum only; also set amsgrad.")]
    [InlineData("adam", "independent_weight_decay", "Invalid independent_weight_decay: it applies to decoupled weight decay only; also set decoupled_weight_decay.")]
    [InlineData("radam", "eps_after_bias_correction,eps_inside_sqrt", "Invalid eps_after_bias_correction: eps_inside_sqrt already adds eps after the correction, inside the root; turn one off.")]
    [InlineData("adamw", "amsgrad,amsgrad_bias_corrected,eps_before_bias_correction", "Invalid amsgrad_bias_corrected: the maximum of corrected values leaves no correction to put after eps; turn off eps_before_bias_correction.")]
    public void A_switch_its_rule_would_ignore_is_refused_at_construction(string name, string switches, string message)
    {
        var options = Optimizers.DefaultOptions(name);
        foreach (var s in switches.Split(',')) options.Set(s, 1);
        var w = Parameter<double>.FromValues("w", 1.0);
        var e = Assert.Throws<ArgumentException>(() => Optimizers.Create(name, [w], options));
        Assert.Equal(message, e.Message);
    }

    /// <summary>The issue's example: Adamax with w = 2, lr 1, weight_decay 0.004 and a zero gradient.</summary>
    [Fact]
    public void Adamax_applies_decoupled_weight_decay_when_asked()
    {
        double Step(bool decoupled)
        {
            var w = Parameter<double>.FromValues("w", 2.0);
            var adamax = new Adamax<double>([w], new AdamaxOptions { LearningRate = 1, WeightDecay = 0.004, DecoupledWeightDecay = decoupled });
            adamax.Step();
            return w.Value.Span[0];
        }
        Assert.Equal(2 * (1 - 0.004), Step(decoupled: true));                        // p *= 1 - lr wd; m = 0 moves nothing
        Assert.Equal(1.00000125, Step(decoupled: false), 1e-9);                       // L2: g = 0.008, p -= lr/(1-b1) * m/u
    }

    /// <summary>Lion with decoupled decay off adds an L2 term to the gradient before the sign, instead of dropping the decay.</summary>
    [Fact]
    public void Lion_without_decoupled_decay_adds_the_L2_term_to_the_gradient()
    {
        double Step(bool decoupled)
        {
            var w = Parameter<double>.FromValues("w", 2.0);
            w.Grad.Span[0] = -0.5;
            var lion = new Lion<double>([w], new LionOptions { LearningRate = 0.1, WeightDecay = 0.5, DecoupledWeightDecay = decoupled });
            lion.Step();
            return w.Value.Span[0];
        }
        Assert.Equal(2 * (1 - 0.1 * 0.5) + 0.1, Step(decoupled: true), 15);          // shrink, then sign(-0.05) = -1 moves up
        Assert.Equal(2 - 0.1, Step(decoupled: false), 15);                           // g = -0.5 + 0.5 * 2 = 0.5 > 0 moves down
    }

    /// <summary>The README's optimizer table is the one the registrations generate (paste the expected text to update it).</summary>
    [Fact]
    public void The_readme_optimizer_table_is_generated_from_the_registry()
    {
        string expected = Optimizers.MarkdownTable();
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")).ReplaceLineEndings("\n");
        int start = readme.IndexOf("| name | default hyperparameters | rule |", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no optimizer table");
        int end = readme.IndexOf("\n\n", start, StringComparison.Ordinal);
        Assert.True(expected == readme[start..(end + 1)], "README.md's optimizer table differs from the generated one; replace it with:\n" + expected);
    }

    /// <summary>
    /// The README's conventions table names, for each option, exactly the registered optimizers that have it; each Keras
    /// test file it cites is named in ConventionTests.cs, and each transcription it cites is in the reference generator.
    /// </summary>
    [Fact]
    public void The_readme_conventions_table_agrees_with_the_registry_and_names_real_checks()
    {
        string root = RepositoryRoot();
        string readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        string tests = File.ReadAllText(Path.Combine(root, "tests", "Descent.Tests", "ConventionTests.cs"));
        string generator = File.ReadAllText(Path.Combine(root, "tools", "reference", "generate.py"));
        int start = readme.IndexOf("| option | optimizers | reproduces | formula | checked against |", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no conventions table");
        var rows = readme[start..readme.IndexOf("\n\n", start, StringComparison.Ordinal)].Split('\n').Skip(2).ToList();
        Assert.NotEmpty(rows);
        var tables = Optimizers.All.ToDictionary(r => r.Name, r => r.Defaults());
        foreach (var row in rows)
        {
            var cells = row.Trim('|').Split(" | ");
            string option = Regex.Match(cells[0], "`([a-z0-9_]+)`").Groups[1].Value;
            var having = tables.Where(t => t.Value.Has(option)).Select(t => t.Key).Order().ToList();
            Assert.True(having.Count > 0, $"README conventions table: no optimizer has '{option}'");
            var every = Regex.Match(cells[1], "^every optimizer with `([a-z0-9_]+)`$");
            var listed = (every.Success ? tables.Where(t => t.Value.Has(every.Groups[1].Value)).Select(t => t.Key) : cells[1].Split(", ")).Order().ToList();
            Assert.True(having.SequenceEqual(listed), $"README conventions table: '{option}' belongs to {string.Join(", ", having)}, the table says {cells[1]}");
            foreach (Match m in Regex.Matches(cells[4], "`([a-z]+_test\\.py)`"))
                Assert.Contains("keras/src/optimizers/" + m.Groups[1].Value, tests);
            foreach (Match m in Regex.Matches(cells[4], "transcriptions? of (?:Keras's |optax's )?`([a-zA-Z_.()=]+)`"))
                Assert.Contains(m.Groups[1].Value, generator);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Descent.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("Descent.slnx not found above the test directory.");
    }

    private static bool ChangesPath(string name, Hyperparameter h, Hyperparameter[] changed) =>
        Contexts(Optimizers.DefaultOptions(name), changed).Any(context =>
        {
            if (!IsValid(context)) return false;
            var before = Probe(name, context);
            foreach (var v in Alternatives(h, h.Get(context)))
            {
                var options = context.Clone();
                h.Set(options, v);
                if (IsValid(options) && !Probe(name, options).SequenceEqual(before)) return true;
            }
            return false;
        });

    /// <summary>The defaults with each of <paramref name="changed"/> set to each of its alternatives.</summary>
    private static IEnumerable<OptimizerOptions> Contexts(OptimizerOptions start, Hyperparameter[] changed)
    {
        if (changed.Length == 0)
        {
            yield return start;
            yield break;
        }
        foreach (var v in Alternatives(changed[0], changed[0].Get(start)))
        {
            var options = start.Clone();
            changed[0].Set(options, v);
            foreach (var c in Contexts(options, changed[1..])) yield return c;
        }
    }

    private static IEnumerable<double> Alternatives(Hyperparameter h, double value)
    {
        double[] candidates = h.Kind == HyperparameterKind.Flag ? [1 - value] : [value * 2, value / 2, value + 0.5, 0.5, 0.1, 0.9, 3, 1];
        return candidates.Where(v => v != value && (h.Kind == HyperparameterKind.Flag || h.Valid.Contains(v) && (!h.Whole || v == Math.Floor(v))));
    }

    private static bool IsValid(OptimizerOptions options)
    {
        try
        {
            options.Validate();
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The path on Rosenbrock and the optimizer's saved state after it (ASGD's t0 moves only its average of the iterates).</summary>
    private static double[] Probe(string name, OptimizerOptions options)
    {
        Optimizer<double>? optimizer = null;
        // Muon takes matrices only: it moves the same point, seen as a 1 x 2 matrix.
        var path = Trajectory.Run(Landscape.Get("rosenbrock"), xy => optimizer = Optimizers.Create(name,
            [name == "muon" ? new Parameter<double>(xy.Name, [1, 2], xy.Value, xy.Grad) : xy], options), (-1.5, 2.0), 30);
        var state = new StateDict();
        optimizer!.SaveState(state);
        var slots = state.Keys.Where(k => k.Contains(".state.", StringComparison.Ordinal) && !k.EndsWith(".step", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .SelectMany(k => TryArray(state, k));
        return [.. path.SelectMany(p => new[] { p.X, p.Y }), .. slots, .. MatrixProbe(name, options)];
    }

    /// <summary>
    /// For the optimizers that treat a parameter's dimensions separately (SOAP, Shampoo), also the path of a 2 x 2 weight
    /// on least squares, where settings about how dimensions are merged act.
    /// </summary>
    private static double[] MatrixProbe(string name, OptimizerOptions options)
    {
        if (name is not ("soap" or "shampoo")) return [];
        double[] x = [1.0, -0.5, 2.0, 0.3, 1.5, -1.0], y = [0.5, 1.0, -2.0, 1.0, 0.0, 0.7];   // 2 x 3 inputs and targets
        var w = new Parameter<double>("weight", 2, 2);
        w.Value.Span[0] = 0.3;
        w.Value.Span[3] = -0.2;
        var optimizer = Optimizers.Create(name, [w], options);
        var path = new List<double>();
        for (int step = 0; step < 30; step++)
        {
            var g = w.Grad.Span;
            g.Clear();
            for (int r = 0; r < 2; r++)
                for (int j = 0; j < 3; j++)
                {
                    double residual = w.Value.Span[r * 2] * x[j] + w.Value.Span[r * 2 + 1] * x[3 + j] - y[r * 3 + j];
                    g[r * 2] += 2 * residual * x[j];
                    g[r * 2 + 1] += 2 * residual * x[3 + j];
                }
            optimizer.Step();
            path.AddRange(w.Value.ToArray());
        }
        return [.. path];
    }

    private static double[] TryArray(StateDict state, string key)
    {
        try
        {
            var values = new double[2];
            state.CopyTo<double>(key, values);
            return values;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            return [state.GetDouble(key)];
        }
    }
}
