using Descent.Landscapes;
using Descent.Nn;
using Descent.Optim;
using Descent.Schedules;
using Descent.State;
using Xunit;

namespace Descent.Tests;

public class OptimizerTests
{
    public static IEnumerable<object[]> Names => Optimizers.Names.Select(n => new object[] { n });

    /// <summary>The optimizers with a fused per-parameter rule: L-BFGS (a closure, a curvature history not in the saved state) is tested on its own.</summary>
    public static IEnumerable<object[]> FusedNames => Optimizers.Names.Where(n => n != "lbfgs").Select(n => new object[] { n });

    public static IEnumerable<object[]> GroupCases => TorchReference.Indices("groups");

    [Theory]
    [MemberData(nameof(GroupCases))]
    public void Parameter_groups_and_global_norm_clipping_match_torch(int index)
    {
        var c = TorchReference.Root.GetProperty("groups")[index];
        var names = c.GetProperty("names").EnumerateArray().Select(n => n.GetString()!).ToArray();
        var shapes = c.GetProperty("shapes").EnumerateArray().Select(s => s.EnumerateArray().Select(d => d.GetInt32()).ToArray()).ToArray();
        var init = c.GetProperty("init").EnumerateArray().Select(a => a.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var targets = c.GetProperty("targets").EnumerateArray().Select(a => a.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var parameters = names.Select((n, i) => new Parameter<double>(n, shapes[i])).ToArray();
        for (int i = 0; i < parameters.Length; i++) init[i].CopyTo(parameters[i].Value);

        string name = c.GetProperty("optimizer").GetString()!;
        var defaults = Optimizers.DefaultOptions(name);
        foreach (var p in c.GetProperty("defaults").EnumerateObject()) defaults.Set(p.Name, p.Value.GetDouble());
        var optimizer = Optimizers.Create(name, parameters, defaults);
        var group = c.GetProperty("group");
        var bias = name == "adam"
            ? ((Adam<double>)optimizer).AddGroup(c.GetProperty("group_pattern").GetString()!, o => Override(o, group))
            : ((Sgd<double>)optimizer).AddGroup(c.GetProperty("group_pattern").GetString()!, o => Override(o, group));
        Assert.Equal(["layers.0.bias", "layers.1.bias"], bias.Parameters.Select(p => p.Name));

        var norms = c.GetProperty("norms").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        for (int step = 0; step < c.GetProperty("steps").GetInt32(); step++)
        {
            optimizer.ZeroGrad();
            for (int i = 0; i < parameters.Length; i++)
            {
                var w = parameters[i].Value.Span;
                var g = parameters[i].Grad.Span;
                // loss = sum_i (i + 1) * sum (w - t)^2 + 0.3 * sum sin(3 w)
                for (int j = 0; j < w.Length; j++) g[j] = (i + 1) * 2 * (w[j] - targets[i][j]) + 0.3 * 3 * Math.Cos(3 * w[j]);
            }
            double norm = GradientClipping.ClipByGlobalNorm(parameters, c.GetProperty("clip").GetDouble());
            Assert.True(TorchReference.RelativeError(norm, norms[step]) < 1e-12, $"step {step}: norm {norm:R}, torch {norms[step]:R}");
            optimizer.Step();
        }
        var final = c.GetProperty("final").EnumerateArray().Select(a => a.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        for (int i = 0; i < parameters.Length; i++)
            for (int j = 0; j < final[i].Length; j++)
                Assert.True(TorchReference.RelativeError(parameters[i].Value.Span[j], final[i][j]) < 1e-9,
                    $"{names[i]}[{j}] = {parameters[i].Value.Span[j]:R}, torch {final[i][j]:R}");
    }

    private static void Override(OptimizerOptions o, System.Text.Json.JsonElement values)
    {
        foreach (var p in values.EnumerateObject())
            o.Set(p.Name, p.Value.ValueKind == System.Text.Json.JsonValueKind.True ? 1 : p.Value.GetDouble());
    }

    [Fact]
    public void Torchs_pairs_are_named_as_the_two_numbers_they_are_here()
    {
        var e = Assert.Throws<ArgumentException>(() => Optimizers.DefaultOptions("adam").Set("betas", 0.9));
        Assert.StartsWith("Unknown hyperparameter 'betas' for adam: torch's betas is written as beta1 and beta2 here; valid names are lr,", e.Message);
        Assert.Contains("torch's etas is written as etaminus and etaplus here", Assert.Throws<ArgumentException>(() => Optimizers.DefaultOptions("rprop").Find("etas")).Message);
        Assert.Contains("torch's line_search_fn is written as strong_wolfe", Assert.Throws<ArgumentException>(() => Optimizers.DefaultOptions("lbfgs").Find("line_search_fn")).Message);
        // An optimizer without the pair gets no hint.
        Assert.DoesNotContain("torch's", Assert.Throws<ArgumentException>(() => Optimizers.DefaultOptions("sgd").Find("betas")).Message);
    }

    [Fact]
    public void A_gradient_norm_is_the_euclidean_norm_of_one_parameters_gradient()
    {
        var a = Parameter<float>.FromValues("a", 0, 0, 0);
        float[] g = [3, -4, 12];
        g.CopyTo(a.Grad);
        Assert.Equal(13, a.GradNorm(), 12);
        Assert.Equal(0, Parameter<double>.FromValues("b", 5).GradNorm());
    }

    [Fact]
    public void An_update_size_is_the_rms_and_largest_change_and_adams_first_update_moves_every_entry_by_about_lr()
    {
        var size = UpdateSize.Between<double>([1, 2, 3, 4], [1, 2.5, 2, 4]);   // changes 0, 0.5, -1, 0
        Assert.Equal(Math.Sqrt(1.25 / 4), size.Rms, 15);
        Assert.Equal(1, size.Max, 15);
        // Adam's first update is lr g / (|g| + eps): about lr for every entry, gradients of 1e-6 and 300 alike.
        var p = Parameter<float>.FromValues("p", 1, -2, 3);
        float[] g = [1e-6f, -5, 300];
        g.CopyTo(p.Grad);
        float[] before = p.Value.ToArray();
        new Adam<float>([p], new AdamOptions { LearningRate = 0.01 }).Step();
        var first = UpdateSize.Between<float>(before, p.Value.Span);
        Assert.Equal(0.01, first.Rms, 4);
        Assert.Equal(0.01, first.Max, 5);
        var error = Assert.Throws<ArgumentException>(() => UpdateSize.Between<float>([1, 2], [1]));
        Assert.Contains("differ in length (2 and 1)", error.Message);
    }

    [Theory]
    [MemberData(nameof(FusedNames))]
    public void Resumed_optimizer_and_schedule_continue_bit_for_bit(string name)
    {
        var landscape = Landscape.Get("rosenbrock");
        var (a, pa) = Build(name);
        for (int t = 0; t < 40; t++) StepOn(a, pa);

        // Checkpoint: the weights and the optimizer (with its schedules' state), through a file.
        var state = new StateDict();
        state.Set("weights", pa.Value.Span);
        a.SaveState(state);
        string file = Path.Combine(Path.GetTempPath(), $"descent-{Guid.NewGuid():N}.state");
        state.Save(file);
        var (b, pb) = Build(name);
        try
        {
            var loaded = StateDict.Load(file);
            loaded.CopyTo<double>("weights", pb.Value.Span);
            b.LoadState(loaded);
        }
        finally
        {
            File.Delete(file);
        }

        Assert.Equal(a.StepCount, b.StepCount);
        for (int t = 40; t < 100; t++)
        {
            StepOn(a, pa);
            StepOn(b, pb);
            Assert.Equal(pa.Value.ToArray(), pb.Value.ToArray());
        }

        static (Optimizer<double>, Parameter<double>) Build(string n)
        {
            var p = new Parameter<double>("xy", Shape(n, 1, 2));   // Muon takes matrices only: the point as a 1 x 2 matrix
            p.Value.Span[0] = -1.5;
            p.Value.Span[1] = 2.0;
            var opt = Optimizers.Create(n, [p]);
            opt.Schedule("lr", new Warmup(10, new Sequence([new CosineDecay(1e-3, 30), new ReduceOnPlateau(5e-4, patience: 2)], [30])));
            if (opt.Defaults.Has("weight_decay")) opt.Schedule("weight_decay", new Linear(0, 0.01, 50));
            return (opt, p);
        }

        void StepOn(Optimizer<double> opt, Parameter<double> p)
        {
            var v = p.Value.Span;
            var g = p.Grad.Span;
            double loss = landscape.Evaluate(v[0], v[1], out g[0], out g[1]);
            opt.Step();
            foreach (var s in opt.Schedules) s.Observe(opt.StepCount, loss);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_real_hyperparameter_rejects_values_outside_its_range_with_its_name(string name)
    {
        var defaults = Optimizers.DefaultOptions(name);
        foreach (var h in defaults.Hyperparameters)
        {
            double bad = h.Kind == HyperparameterKind.Flag ? 0.5 : double.IsNegativeInfinity(h.Valid.Min) ? double.NaN : h.Valid.Min - 1;
            var options = Optimizers.DefaultOptions(name);
            var e = Assert.Throws<ArgumentException>(() => options.Set(h.Name, bad));
            Assert.StartsWith($"Invalid {h.Name}: ", e.Message);
            if (h.Kind == HyperparameterKind.Real) Assert.Contains(h.Valid.ToString(), e.Message);
            Assert.Throws<ArgumentException>(() => options.Set(h.Name, double.NaN));
        }
    }

    [Fact]
    public void Constructing_with_invalid_options_fails_with_the_torch_style_message()
    {
        var p = new[] { new Parameter<double>("w", 3) };
        var e = Assert.Throws<ArgumentException>(() => new Adam<double>(p, new AdamOptions { Beta1 = 1.2 }));
        Assert.Equal("Invalid beta1: 1.2 (beta1 must be a finite number in [0, 1)).", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Sgd<double>(p, new SgdOptions { Nesterov = true }));
        Assert.Contains("Nesterov momentum requires momentum > 0 and dampening = 0", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Sgd<double>(p, new SgdOptions { LearningRate = -0.1 }));
        Assert.StartsWith("Invalid lr: -0.1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Adam<double>(p, new AdamOptions { IndependentWeightDecay = true }));
        Assert.Contains("decoupled", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Adam<double>([p[0], new Parameter<double>("w", 2)]));
        Assert.Contains("Two parameters are named 'w'", e.Message);
    }

    [Fact]
    public void A_schedule_that_produces_an_invalid_value_stops_the_step_with_a_message()
    {
        var p = Parameter<double>.FromValues("w", 1.0);
        var adam = new Adam<double>([p]);
        adam.Schedule("beta1", new Linear(0.5, 1.5, 2));
        adam.Step();
        var e = Assert.Throws<ArgumentException>(adam.Step);
        Assert.StartsWith("Invalid beta1: 1 (", e.Message);
        Assert.Throws<ArgumentException>(() => adam.Schedule("amsgrad", new Constant(1)));
        Assert.Throws<ArgumentException>(() => adam.Schedule("momentum", new Constant(1)));
    }

    [Fact]
    public void Groups_select_by_glob_pattern_and_reject_patterns_that_match_nothing()
    {
        var ps = new[] { "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "head.weight" }
            .Select(n => new Parameter<float>(n, 2)).ToArray();
        var sgd = new Sgd<float>(ps, new SgdOptions { LearningRate = 0.1 });
        var biases = sgd.AddGroup("*.bias", o => o.WeightDecay = 0.5);
        var first = sgd.AddGroup("layers.?.weight", o => o.LearningRate = 0.01);
        Assert.Equal(["layers.0.bias", "layers.1.bias"], biases.Parameters.Select(p => p.Name));
        Assert.Equal(["layers.0.weight", "layers.1.weight"], first.Parameters.Select(p => p.Name));
        Assert.Equal(["head.weight"], sgd.Groups[0].Parameters.Select(p => p.Name));
        Assert.Equal(0.1, sgd.OptionsOf(1).LearningRate);
        Assert.Equal(0.5, sgd.OptionsOf(1).WeightDecay);
        Assert.Equal(0.01, sgd.OptionsOf(2).LearningRate);
        var e = Assert.Throws<ArgumentException>(() => sgd.AddGroup("*.gamma", _ => { }));
        Assert.Contains("matches no ungrouped parameter", e.Message);
    }

    [Fact]
    public void A_schedule_can_target_one_group()
    {
        var ps = new[] { Parameter<double>.FromValues("a", 1.0), Parameter<double>.FromValues("b", 1.0) };
        var sgd = new Sgd<double>(ps, new SgdOptions { LearningRate = 0.1 });
        var b = sgd.AddGroup("b", _ => { });
        sgd.Schedule("lr", new Constant(0.5), b);
        ps[0].Grad.Span[0] = 1;
        ps[1].Grad.Span[0] = 1;
        sgd.Step();
        Assert.Equal(0.9, ps[0].Value.Span[0], 15);
        Assert.Equal(0.5, ps[1].Value.Span[0], 15);
    }

    [Fact]
    public void Clipping_by_value_clamps_every_entry_and_by_norm_scales_all_together()
    {
        var a = Parameter<float>.FromValues("a", 0, 0);
        var b = Parameter<float>.FromValues("b", 0);
        float[] ga = [3, -4], gb = [12];
        ga.CopyTo(a.Grad);
        gb.CopyTo(b.Grad);
        double norm = GradientClipping.ClipByGlobalNorm([a, b], 6.5);
        Assert.Equal(13, norm, 5);
        Assert.Equal([1.5f, -2f], a.Grad.ToArray().Select(v => MathF.Round(v, 4)));
        Assert.Equal(6f, b.Grad.Span[0], 4);
        Assert.Equal(6.5, GradientClipping.ClipByGlobalNorm([a, b], 100), 4); // below the limit: unchanged
        GradientClipping.ClipByValue([a, b], 2);
        Assert.Equal([1.5f, -2f, 2f], a.Grad.ToArray().Concat(b.Grad.ToArray()).Select(v => MathF.Round(v, 4)));
        Assert.Equal(6, GradientClipping.ClipByGlobalNorm([Parameter<double>.FromValues("c", 0)], 1, double.PositiveInfinity) + 6);
    }

    [Theory]
    [MemberData(nameof(FusedNames))]
    public void Float_and_double_kernels_agree_and_the_step_allocates_nothing(string name)
    {
        const int n = 1003; // whole vectors and a padded tail, in both widths
        var pf = new Parameter<float>("w", Shape(name, 17, 59));
        var pd = new Parameter<double>("w", Shape(name, 17, 59));
        for (int i = 0; i < n; i++)
        {
            pf.Value.Span[i] = (float)(pd.Value.Span[i] = Math.Sin(i));
        }
        // Shampoo's default blocks would make this vector one 1003 x 1003 preconditioner, decomposed at every step: blocks of
        // 64 keep the test fast and take the same code paths (blocking, the eigendecomposition, grafting). Its default
        // epsilon 1e-12 lifts the null space of the early, rank-deficient factors to a 1e3 gain (the fourth root), which
        // blows float's input rounding up to percent-level differences; epsilon 1e-3 keeps the comparison about the kernels.
        var options = Optimizers.DefaultOptions(name);
        if (name == "shampoo")
        {
            options.Set("max_preconditioner_dim", 64);
            options.Set("epsilon", 1e-3);
        }
        var of = Optimizers.Create(name, [pf], options);
        var od = Optimizers.Create(name, [pd], options);
        of.Schedule("lr", new PowerLaw(of.Defaults.LearningRate, 100));
        od.Schedule("lr", new PowerLaw(od.Defaults.LearningRate, 100));
        void Grad()
        {
            for (int i = 0; i < n; i++)
            {
                pf.Grad.Span[i] = 2 * pf.Value.Span[i] + 0.1f;
                pd.Grad.Span[i] = 2 * pd.Value.Span[i] + 0.1;
            }
        }
        for (int t = 0; t < 160; t++) // the first step allocates the state slots; later ones run tiered-up code
        {
            Grad();
            of.Step();
            od.Step();
        }
        // The least of three windows of 30 steps, 250 steps in all (a full run of the suite once saw 4,312 bytes the runtime made
        // in one window).
        Assert.Equal(0, ModelTrainingTests.LeastAllocated(() =>
        {
            Grad();
            of.Step();
            od.Step();
        }).Caller);
        // Muon's Newton-Schulz iteration rounds to bfloat16 (8 significant bits) in both widths, so inputs that differ in
        // float's last bits sometimes round one bfloat16 step apart: its paths agree to 1e-3, the others' to 1e-4.
        double tolerance = name == "muon" ? 1e-3 : 1e-4;
        for (int i = 0; i < n; i++)
            Assert.True(Math.Abs(pf.Value.Span[i] - pd.Value.Span[i]) < tolerance, $"{name}: w[{i}] float {pf.Value.Span[i]} vs double {pd.Value.Span[i]}");
    }

    /// <summary>A vector of <paramref name="rows"/> x <paramref name="cols"/> elements, or that matrix for the optimizers of matrices only (Muon).</summary>
    private static int[] Shape(string optimizer, int rows, int cols) => optimizer == "muon" ? [rows, cols] : [rows * cols];

    [Fact]
    public void Lbfgs_needs_a_closure_and_one_group_and_works_in_float()
    {
        var w = Parameter<float>.FromValues("w", 3, -2);
        var lbfgs = Optimizers.Create("lbfgs", [w]);
        var e = Assert.Throws<InvalidOperationException>(lbfgs.Step);
        Assert.Contains("call Step(closure)", e.Message);
        double first = lbfgs.Step(() =>
        {
            var v = w.Value.Span;
            w.Grad.Span[0] = 2 * (v[0] - 1);
            w.Grad.Span[1] = 20 * (v[1] + 1);
            return (v[0] - 1) * (v[0] - 1) + 10 * (v[1] + 1) * (v[1] + 1);
        });
        Assert.Equal(4 + 10, first);
        Assert.Equal([1f, -1f], w.Value.ToArray().Select(v => MathF.Round(v, 4)));   // a quadratic: the minimum within one step
    }

    [Fact]
    public void Lbfgs_maximizing_returns_the_closures_own_loss_and_climbs()
    {
        var w = Parameter<double>.FromValues("w", 3, -2);
        var options = Optimizers.DefaultOptions("lbfgs");
        options.Set("maximize", 1);
        var lbfgs = Optimizers.Create("lbfgs", [w], options);
        double first = lbfgs.Step(() =>
        {
            var v = w.Value.Span;
            w.Grad.Span[0] = -2 * (v[0] - 1);
            w.Grad.Span[1] = -20 * (v[1] + 1);
            return -((v[0] - 1) * (v[0] - 1) + 10 * (v[1] + 1) * (v[1] + 1));
        });
        Assert.Equal(-(4 + 10), first);   // as torch's step returns the closure's first value, never its negation
        Assert.Equal([1.0, -1.0], w.Value.ToArray().Select(v => Math.Round(v, 4)));   // the maximum of the concave quadratic
    }

    [Fact]
    public void The_update_loop_rejects_state_that_does_not_match_the_parameter()
    {
        var ex = Assert.Throws<ArgumentException>(() => UpdateLoop.Run(new float[10], new float[10], new Scale(), new float[9]));
        Assert.Contains("state of 9, 0, 0 elements", ex.Message);
        Assert.Throws<ArgumentException>(() => UpdateLoop.Run(new float[10], new float[11], new Scale()));
        var p = new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
        var s = new float[11];
        UpdateLoop.Run(p, [.. p], new Scale(), s);
        Assert.Equal([2f, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22], p);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], s);
    }

    [Theory]
    [InlineData(0, true)]    // a parameter that starts a cache line
    [InlineData(1, true)]    // one that does not: the elements before its first aligned vector go through the tail's vector
    [InlineData(3, false)]   // a rule without slots (plain SGD)
    public void Streaming_stores_write_the_same_numbers_as_ordinary_ones(int offset, bool slots)
    {
        // 1,003 elements: whole vectors, then a tail at every width (of 3, 11 or 1 at 128, 256 and 512 bits).
        const int length = 1003;
        var random = new Random(7);
        float[] start = [.. Enumerable.Range(0, length).Select(_ => random.NextSingle() - 0.5f)];
        float[] grad = [.. Enumerable.Range(0, length).Select(_ => random.NextSingle() - 0.5f)];
        (float[] P, float[] Momentum, long Streamed) Updated(bool stream)
        {
            var memory = new Descent.Numerics.AlignedArray<float>(length + offset);
            var p = memory.AsSpan(offset, length);
            start.CopyTo(p);
            var momentum = new float[length];
            long before = UpdateLoop.StreamedVectors;
            UpdateLoop.StreamsParameters = stream;
            try
            {
                for (int step = 0; step < 3; step++)
                    if (slots) UpdateLoop.Run(p, grad, new HalfMomentum(), momentum);
                    else UpdateLoop.Run(p, grad, new Scale());   // a rule of no slot: p + g
            }
            finally
            {
                UpdateLoop.StreamsParameters = false;
            }
            return (p.ToArray(), momentum, UpdateLoop.StreamedVectors - before);
        }
        var ordinary = Updated(stream: false);
        var streamed = Updated(stream: true);
        Assert.Equal(ordinary.P, streamed.P);
        Assert.Equal(ordinary.Momentum, streamed.Momentum);
        // The rules ran: with the momentum, p + g (1 + 1.5 + 1.75); without, p + 3 g.
        Assert.Equal(start[0] + (slots ? 4.25f : 3f) * grad[0], ordinary.P[0], 5);
        Assert.Equal(0, ordinary.Streamed);
        // Streaming took every whole vector after the first aligned one (none with vectors of 128 bits).
        int lanes = System.Numerics.Vector<float>.Count, head = offset == 0 ? 0 : lanes - offset;
        Assert.Equal(lanes >= 8 ? (length - head) / lanes * 3 : 0, streamed.Streamed);
        Assert.False(UpdateLoop.StreamsParameters);
    }

    /// <summary>A rule with a momentum in slot 0: <c>m = m / 2 + g</c>, <c>p + m</c>.</summary>
    private readonly struct HalfMomentum : IUpdateRule<float>
    {
        public System.Numerics.Vector<float> Apply(System.Numerics.Vector<float> p, System.Numerics.Vector<float> grad,
            ref System.Numerics.Vector<float> s0, ref System.Numerics.Vector<float> s1, ref System.Numerics.Vector<float> s2)
        {
            s0 = s0 * 0.5f + grad;
            return p + s0;
        }
    }

    /// <summary>A rule that keeps the gradient in slot 0 and adds it to the parameter.</summary>
    private readonly struct Scale : IUpdateRule<float>
    {
        public System.Numerics.Vector<float> Apply(System.Numerics.Vector<float> p, System.Numerics.Vector<float> grad,
            ref System.Numerics.Vector<float> s0, ref System.Numerics.Vector<float> s1, ref System.Numerics.Vector<float> s2)
        {
            s0 = grad;
            return p + grad;
        }
    }

    [Fact]
    public void Loading_state_for_another_optimizer_or_model_fails_with_a_clear_message()
    {
        var state = new StateDict();
        new Adam<double>([new Parameter<double>("w", 2)]).SaveState(state);
        var e = Assert.Throws<InvalidDataException>(() => new Sgd<double>([new Parameter<double>("w", 2)]).LoadState(state));
        Assert.Contains("'adam', not 'sgd'", e.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => new Adam<double>([new Parameter<double>("v", 2)]).LoadState(state));
        Assert.Contains("no entry for parameter 'v'", e2.Message);
    }
}
