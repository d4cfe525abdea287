using Descent.Nn;
using Descent.Optim;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// The conventions of other libraries, as options, against the golden values in those libraries' own test files
/// (Keras 3, keras-team/keras at keras/src/optimizers/*_test.py) and documentation (optax, google-deepmind/optax at
/// optax/_src/alias.py, whose docstring examples run as doctests). Keras and JAX compute in float32 and the checks
/// use their tolerances. Where those values cannot tell a convention from PyTorch's, the trajectory tests compare
/// it with a transcription of the library's own code in torch operations (tools/reference/generate.py).
/// </summary>
public class ConventionTests
{
    /// <summary>Keras Adam and RMSprop <c>test_weight_decay</c>: lr 1, weight_decay 0.004, zero gradients, three optimizers stepping the same variable once each.</summary>
    [Theory]
    [InlineData("adam")]      // keras/src/optimizers/adam_test.py
    [InlineData("rmsprop")]   // keras/src/optimizers/rmsprop_test.py
    [InlineData("adagrad")]   // keras/src/optimizers/adagrad_test.py
    [InlineData("adamax")]    // keras/src/optimizers/adamax_test.py
    [InlineData("nadam")]     // keras/src/optimizers/nadam_test.py
    public void Decoupled_weight_decay_matches_keras_golden_value(string name)
    {
        var w = Parameter<float>.FromValues("w", 2.0f);
        for (int i = 0; i < 3; i++)
        {
            var options = Optimizers.DefaultOptions(name);
            options.Set("lr", 1);
            options.Set("weight_decay", 0.004);
            options.Set("decoupled_weight_decay", 1);
            Optimizers.Create(name, [w], options).Step();
        }
        Assert.Equal(1.9760959, w.Value.Span[0], 6);
    }

    /// <summary>Keras <c>RMSprop</c> (rho 0.9, epsilon 1e-7 inside the square root): keras/src/optimizers/rmsprop_test.py, test_single_step.</summary>
    [Fact]
    public void Rmsprop_with_eps_inside_sqrt_matches_keras_single_step()
    {
        SingleStep(new RmsPropOptions { LearningRate = 0.5, Alpha = 0.9, Eps = 1e-7, EpsInsideSqrt = true }, [-0.5811, 0.4189, 1.4189, 2.4189]);
    }

    /// <summary>Keras <c>RMSprop(centered=True)</c>: keras/src/optimizers/rmsprop_test.py, test_correctness_with_golden.</summary>
    [Fact]
    public void Centered_rmsprop_with_eps_inside_sqrt_matches_keras_golden_values()
    {
        var options = new RmsPropOptions { LearningRate = 1e-3, Alpha = 0.9, Eps = 1e-7, EpsInsideSqrt = true, Centered = true };
        Golden(w => new RmsProp<float>([w], options), [0.9967, 0.9933, 0.9908, 0.9885, 0.9864]);
    }

    /// <summary>Keras <c>Adam(amsgrad=True)</c> (epsilon 1e-7 before bias correction): keras/src/optimizers/adam_test.py, test_correctness_with_golden.</summary>
    [Fact]
    public void Adam_with_eps_before_bias_correction_matches_keras_golden_values()
    {
        var options = new AdamOptions { LearningRate = 1e-3, Eps = 1e-7, Amsgrad = true, EpsBeforeBiasCorrection = true };
        Golden(w => new Adam<float>([w], options), [0.999, 0.9982, 0.9974, 0.9965, 0.9955]);
    }

    /// <summary>Keras <c>Adam(learning_rate=0.5)</c>: keras/src/optimizers/adam_test.py, test_single_step.</summary>
    [Fact]
    public void Adam_with_eps_before_bias_correction_matches_keras_single_step()
    {
        SingleStep(new AdamOptions { LearningRate = 0.5, Eps = 1e-7, EpsBeforeBiasCorrection = true }, [0.5, 1.5, 2.5, 3.5]);
    }

    /// <summary>Keras <c>Adamax(learning_rate=0.5)</c> (epsilon 1e-7 outside the maximum): keras/src/optimizers/adamax_test.py, test_single_step.</summary>
    [Fact]
    public void Adamax_with_eps_outside_max_matches_keras_single_step()
    {
        SingleStep(new AdamaxOptions { LearningRate = 0.5, Eps = 1e-7, EpsOutsideMax = true }, [0.5, 1.5, 2.5, 3.5]);
    }

    /// <summary>
    /// Keras <c>Adamax(learning_rate=0.2, beta_1=0.85, beta_2=0.95, epsilon=1e-6)</c>: keras/src/optimizers/adamax_test.py,
    /// test_correctness_with_golden. At Keras's tolerance PyTorch's placement passes too (eps 1e-6 is small against
    /// these gradients); the trajectory tests tell the two placements apart.
    /// </summary>
    [Fact]
    public void Adamax_with_eps_outside_max_matches_keras_golden_values()
    {
        var options = new AdamaxOptions { LearningRate = 0.2, Beta1 = 0.85, Beta2 = 0.95, Eps = 1e-6, EpsOutsideMax = true };
        Assert.Null(Golden(w => new Adamax<float>([w], options),
        [
            [0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8],
            [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
            [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
            [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
            [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126],
        ]));
    }

    /// <summary>Keras <c>Nadam(learning_rate=0.5)</c> (epsilon 1e-7): keras/src/optimizers/nadam_test.py, test_single_step; Keras 3's schedule is momentum_decay 1.</summary>
    [Fact]
    public void Nadam_with_momentum_decay_one_matches_keras_single_step()
    {
        SingleStep(new NAdamOptions { LearningRate = 0.5, Eps = 1e-7, MomentumDecay = 1 }, [0.4686, 1.4686, 2.4686, 3.4686]);
    }

    /// <summary>
    /// Keras <c>Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5)</c>: keras/src/optimizers/nadam_test.py,
    /// test_correctness_with_golden. Keras 3 computes <c>u_t = beta_1 (1 - 0.5 * 0.96^t)</c> (keras/src/optimizers/nadam.py),
    /// which is momentum_decay 1; PyTorch's 0.004 (the schedule_decay of Keras 2 and of Dozat's paper) misses these values.
    /// </summary>
    [Fact]
    public void Nadam_with_momentum_decay_one_matches_keras_golden_values_and_torchs_default_does_not()
    {
        double[][] golden =
        [
            [0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281],
            [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718, -0.1717],
            [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085, -0.7084],
            [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23, -1.2299],
            [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455, -1.7454],
        ];
        NAdamOptions Keras(double momentumDecay) => new() { LearningRate = 0.5, Beta1 = 0.5, Beta2 = 0.67, Eps = 1e-5, MomentumDecay = momentumDecay };
        Assert.Null(Golden(w => new NAdam<float>([w], Keras(1)), golden));
        Assert.NotNull(Golden(w => new NAdam<float>([w], Keras(4e-3)), golden));
    }

    /// <summary>
    /// optax's documented examples (optax/_src/alias.py, the Examples of <c>amsgrad</c>, <c>radam</c>, <c>rmsprop</c> and <c>nadam</c>,
    /// run as doctests): minimize <c>sum(x^2)</c> from [1, 2, 3] with learning rate 0.003 and print the objective to three
    /// digits after each of five steps. They are the only values optax's sources give for these rules (its tests check
    /// convergence, not values), and three digits cannot tell the conventions from PyTorch's: the trajectory tests
    /// compare each option with a transcription of optax's code (transform.py <c>scale_by_amsgrad</c>,
    /// <c>scale_by_radam</c>, <c>scale_by_rms</c> with <c>initial_scale</c>) in torch operations, and optax's NAdam
    /// (constant_momentum) is checked against its formula, optax's <c>scale_by_adam(nesterov=True)</c>, written the same way.
    /// </summary>
    [Theory]
    [InlineData("amsgrad", new[] { 14.0, 13.9, 13.9, 13.9, 13.8 })]
    [InlineData("radam", new[] { 13.8, 13.7, 13.5, 13.3, 13.2 })]
    [InlineData("rmsprop", new[] { 13.9, 13.8, 13.7, 13.7, 13.6 })]
    [InlineData("nadam", new[] { 13.9, 13.9, 13.9, 13.8, 13.8 })]
    public void Optax_conventions_match_optax_documented_examples(string alias, double[] printed)
    {
        OptimizerOptions options = alias switch
        {
            "amsgrad" => new AdamOptions { LearningRate = 0.003, Amsgrad = true, AmsgradBiasCorrected = true },
            "radam" => new RAdamOptions { LearningRate = 0.003, EpsAfterBiasCorrection = true },
            "nadam" => new NAdamOptions { LearningRate = 0.003, ConstantMomentum = true },   // optax.nadam = adam(nesterov=True)
            _ => new RmsPropOptions { LearningRate = 0.003, Alpha = 0.9, EpsInsideSqrt = true },   // optax.rmsprop: decay 0.9, eps_in_sqrt
        };
        var x = Parameter<float>.FromValues("x", 1, 2, 3);
        var optimizer = options.Create([x]);
        foreach (double expected in printed)
        {
            for (int i = 0; i < 3; i++) x.Grad.Span[i] = 2 * x.Value.Span[i];
            optimizer.Step();
            float f = x.Value.ToArray().Sum(v => v * v);
            Assert.True(Math.Abs(f - expected) <= 0.05, $"optax.{alias}: objective {f}, printed {expected:0.00E+00}");   // half a unit of the third digit
        }
    }

    /// <summary>
    /// Each convention option against a float64 transcription of its library's own code (tools/reference/generate.py,
    /// class Convention; the reference vectors name the transcription in "convention"), through the library: the
    /// exact check where the libraries' test values are too coarse, and the only one for optax's <c>initial_scale</c>
    /// and <c>threshold</c>, for which optax's sources give no values.
    /// </summary>
    [Theory]
    [InlineData("keras.Adamax", "adamax", "eps_outside_max")]                                // keras/src/optimizers/adamax.py
    [InlineData("keras.Adamax", "adamax", "decoupled_weight_decay")]                         // keras/src/optimizers/optimizer.py weight decay
    [InlineData("keras.Nadam", "nadam", "momentum_decay")]                                   // keras/src/optimizers/nadam.py
    [InlineData("keras.Nadam", "nadam", "decoupled_weight_decay")]
    [InlineData("optax.scale_by_amsgrad", "adam", "amsgrad_bias_corrected")]                 // optax/_src/transform.py
    [InlineData("optax.scale_by_radam", "radam", "eps_after_bias_correction")]
    [InlineData("optax.scale_by_radam", "radam", "threshold")]
    [InlineData("optax.scale_by_rms", "rmsprop", "initial_square_avg")]
    [InlineData("optax.scale_by_adam(nesterov=True)", "nadam", "constant_momentum")]
    public void Convention_matches_a_transcription_of_its_library(string convention, string optimizer, string option)
    {
        var cases = TorchReference.TrajectoryIndices().Select(i => (int)i[0])
            .Where(i => TorchReference.Trajectory(i) is var c && c.TryGetProperty("convention", out var name) && name.GetString() == convention
                && c.GetProperty("optimizer").GetString() == optimizer && c.GetProperty("options").TryGetProperty(option, out _))
            .ToList();
        Assert.NotEmpty(cases);
        foreach (int i in cases) new OptimizerTrajectoryTests().Trajectory_matches_torch(i);
    }

    /// <summary>Keras's <c>test_single_step</c>: variables [1, 2, 3, 4], gradients [1, 6, 7, 2], one step, within 1e-4.</summary>
    private static void SingleStep(OptimizerOptions options, double[] expected)
    {
        var w = Parameter<float>.FromValues("w", 1, 2, 3, 4);
        float[] g = [1, 6, 7, 2];
        g.CopyTo(w.Grad);
        options.Create([w]).Step();
        AssertClose(expected, w.Value.ToArray(), 1e-4);
    }

    /// <summary>
    /// Keras's golden-value protocol: ten ones, a first step with gradients 0.01, then gradients 0.1, 0.2, ..., 1.0;
    /// after each step the values must be within 5e-4 of the golden row. Returns the first miss, or null.
    /// </summary>
    private static string? Golden(Func<Parameter<float>, Optimizer<float>> create, double[][] golden)
    {
        var w = new Parameter<float>("x", 10);
        w.Value.Span.Fill(1);
        var optimizer = create(w);
        w.Grad.Span.Fill(0.01f);
        optimizer.Step();
        for (int i = 0; i < golden.Length; i++)
        {
            if (Miss(golden[i], w.Value.ToArray(), 5e-4) is { } miss) return $"row {i}: {miss}";
            for (int j = 0; j < 10; j++) w.Grad.Span[j] = 0.1f * (j + 1);
            optimizer.Step();
        }
        return null;
    }

    /// <summary>Keras's protocol with every element of a row equal to <paramref name="golden"/>[i].</summary>
    private static void Golden(Func<Parameter<float>, Optimizer<float>> create, double[] golden) =>
        Assert.Null(Golden(create, [.. golden.Select(g => Enumerable.Repeat(g, 10).ToArray())]));

    /// <summary>numpy's assert_allclose with rtol = atol = <paramref name="tolerance"/>, as Keras's tests call it.</summary>
    private static void AssertClose(double[] expected, float[] actual, double tolerance) => Assert.Null(Miss(expected, actual, tolerance));

    private static string? Miss(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance + tolerance * Math.Abs(expected[i]))) return $"[{i}] = {actual[i]}, golden {expected[i]}";
        return null;
    }
}
