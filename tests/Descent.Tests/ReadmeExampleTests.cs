using Descent.Nn;
using Descent.Optim;
using Descent.Schedules;
using Descent.State;
using Xunit;

namespace Descent.Tests;

/// <summary>The C# example of the README, kept compiling and working.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void Readme_example_fits_its_parameters()
    {
        string path = Path.Combine(Path.GetTempPath(), $"adamw-{Guid.NewGuid():N}.state");
        try
        {
            // --- README example begins
            // Two named parameters; fit them to targets by minimizing 0.5 * |p - target|^2.
            var weight = new Parameter<float>("layer.weight", 4, 3);
            var bias = new Parameter<float>("layer.bias", 4);
            float[] target = [.. Enumerable.Range(0, 16).Select(i => MathF.Sin(i))];

            var adamw = new AdamW<float>([weight, bias], new AdamWOptions { LearningRate = 0.05, WeightDecay = 1e-3 });
            adamw.AddGroup("*.bias", o => o.WeightDecay = 0);                  // no decay on biases
            adamw.Schedule("lr", new Warmup(50, new CosineDecay(0.05, 450)));   // any hyperparameter, by its PyTorch name
            adamw.Schedule("beta1", new Linear(0.95, 0.9, 500));

            for (int step = 0; step < 500; step++)
            {
                adamw.ZeroGrad();
                int k = 0;
                foreach (var p in new[] { weight, bias })          // your backward pass goes here
                    for (int i = 0; i < p.Length; i++, k++)
                        p.Grad.Span[i] = p.Value.Span[i] - target[k];
                GradientClipping.ClipByGlobalNorm([weight, bias], maxNorm: 1.0);
                adamw.Step();
            }

            var state = new StateDict();                           // optimizer + schedule state, by parameter name
            adamw.SaveState(state);
            state.Save(path);                                      // atomic: temporary file, then rename
            // --- README example ends

            for (int i = 0; i < 12; i++) Assert.Equal(target[i], weight.Value.Span[i], 2);
            for (int i = 0; i < 4; i++) Assert.Equal(target[12 + i], bias.Value.Span[i], 3);
            Assert.Equal(500, StateDict.Load(path).GetLong("optimizer.step_count"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
