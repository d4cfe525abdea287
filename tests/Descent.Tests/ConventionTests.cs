using Descent.Nn;
using Descent.Optim;
using Xunit;

namespace Descent.Tests;

/// <summary>
/// The conventions of other libraries, as options, against the golden values in those libraries' own test files
/// (Keras 3, keras-team/keras at keras/src/optimizers/*_test.py). Keras computes in float32 and its tests compare
/// with the tolerances repeated here.
/// </summary>
public class ConventionTests
{
    /// <summary>Keras Adam and RMSprop <c>test_weight_decay</c>: lr 1, weight_decay 0.004, zero gradients, three optimizers stepping the same variable once each.</summary>
    [Theory]
    [InlineData("adam")]      // keras/src/optimizers/adam_test.py
    [InlineData("rmsprop")]   // keras/src/optimizers/rmsprop_test.py
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
        var w = Parameter<float>.FromValues("w", 1, 2, 3, 4);
        float[] g = [1, 6, 7, 2];
        g.CopyTo(w.Grad);
        new RmsProp<float>([w], new RmsPropOptions { LearningRate = 0.5, Alpha = 0.9, Eps = 1e-7, EpsInsideSqrt = true }).Step();
        AssertClose([-0.5811, 0.4189, 1.4189, 2.4189], w.Value.ToArray(), 1e-4);
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
        var w = Parameter<float>.FromValues("w", 1, 2, 3, 4);
        float[] g = [1, 6, 7, 2];
        g.CopyTo(w.Grad);
        new Adam<float>([w], new AdamOptions { LearningRate = 0.5, Eps = 1e-7, EpsBeforeBiasCorrection = true }).Step();
        AssertClose([0.5, 1.5, 2.5, 3.5], w.Value.ToArray(), 1e-4);
    }

    /// <summary>
    /// Keras's golden-value protocol: ten ones, a first step with gradients 0.01, then gradients 0.1, 0.2, ..., 1.0;
    /// after each step the values must be within 5e-4 of the golden row (the same for every element).
    /// </summary>
    private static void Golden(Func<Parameter<float>, Optimizer<float>> create, double[] golden)
    {
        var w = new Parameter<float>("x", 10);
        w.Value.Span.Fill(1);
        var optimizer = create(w);
        w.Grad.Span.Fill(0.01f);
        optimizer.Step();
        for (int i = 0; i < golden.Length; i++)
        {
            AssertClose(Enumerable.Repeat(golden[i], 10).ToArray(), w.Value.ToArray(), 5e-4);
            for (int j = 0; j < 10; j++) w.Grad.Span[j] = 0.1f * (j + 1);
            optimizer.Step();
        }
    }

    /// <summary>numpy's assert_allclose with rtol = atol = <paramref name="tolerance"/>, as Keras's tests call it.</summary>
    private static void AssertClose(double[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance + tolerance * Math.Abs(expected[i]), $"[{i}] = {actual[i]}, golden {expected[i]}");
    }
}
