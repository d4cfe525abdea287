using Descent.Nn;
using Descent.Numerics;
using Descent.Optim;
using Descent.Training;
using Xunit;

namespace Descent.Tests;

/// <summary>A step split into ranges of elements, updated at once on several threads, as a data-parallel trainer takes it.</summary>
public class StepInPartsTests
{
    /// <summary>The rules that update each element from its own values alone; every other one steps whole.</summary>
    private static readonly string[] ElementWise = ["adadelta", "adagrad", "adam", "adamax", "adamw", "adopt", "lion", "radam", "rmsprop", "rprop", "sgd"];

    [Fact]
    public void Exactly_the_element_wise_rules_split_a_step_and_wrappers_stop_them()
    {
        // Muon takes matrices only; it is not element-wise either.
        var split = Optimizers.Names.Where(n => n != "muon" && Optimizers.Create(n, Parameters<float>(1)).CanStepInParts).Order();
        Assert.Equal(ElementWise, split);
        var sgd = Optimizers.Create("sgd", Parameters<float>(1));
        sgd.Wrap(new Lookahead<float>());
        Assert.False(sgd.CanStepInParts);
        Assert.Throws<InvalidOperationException>(() => sgd.BeginParts(2));
        // A user's subclass of Adam may change the rule: it steps whole unless it says otherwise.
        Assert.False(new OwnAdam(Parameters<float>(1)).CanStepInParts);
    }

    private sealed class OwnAdam(IEnumerable<Parameter<float>> parameters) : Adam<float>(parameters);

    public static TheoryData<string, string> Cases => new()
    {
        { "sgd", "" },
        { "sgd", "momentum=0.9,dampening=0.5,weight_decay=0.01" },   // the first step copies the gradient into the buffer, undamped
        { "sgd", "momentum=0.9,nesterov=1,maximize=1" },
        { "adam", "" },
        { "adam", "amsgrad=1,weight_decay=0.1" },
        { "adamw", "" },
        { "adagrad", "lr_decay=0.01,initial_accumulator_value=0.1" },
        { "rmsprop", "centered=1,momentum=0.5" },
        { "adamax", "" },
        { "radam", "" },
        { "adadelta", "" },
        { "lion", "" },
        { "rprop", "" },
        { "adopt", "" },
    };

    /// <summary>
    /// Ranges stepped on three threads at once end where the whole step ends, to the last bit, from the first step (when
    /// the slots are made, by whichever range asks first) on, at both precisions and at lengths that leave ragged tails.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void A_step_in_parts_is_the_whole_step_to_the_last_bit(string name, string settings)
    {
        Same<float>(name, settings, parts: 3);
        Same<double>(name, settings, parts: 2);
    }

    private static void Same<T>(string name, string settings, int parts) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var options = Optimizers.DefaultOptions(name);
        foreach (var setting in settings.Split(',', StringSplitOptions.RemoveEmptyEntries))
            options.Set(setting.Split('=')[0], double.Parse(setting.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture));
        Parameter<T>[] whole = Parameters<T>(7), inParts = Parameters<T>(7);
        var serial = Optimizers.Create(name, whole, options);
        var split = Optimizers.Create(name, inParts, options);
        var runner = new ShardRunner(parts);
        Action<int> part = split.StepPart;
        var rng = new Random(3);
        for (int step = 1; step <= 6; step++)
        {
            for (int k = 0; k < whole.Length; k++)
                for (int i = 0; i < whole[k].Length; i++)
                    whole[k].Grad.Span[i] = inParts[k].Grad.Span[i] = T.CreateTruncating(rng.NextDouble() - 0.4);
            serial.Step();
            split.BeginParts(parts);
            runner.Run(parts, part);
            split.EndParts();
            Assert.Equal(serial.StepCount, split.StepCount);
            for (int k = 0; k < whole.Length; k++)
                Assert.True(whole[k].Value.Span.SequenceEqual(inParts[k].Value.Span), $"{name} {settings}, {typeof(T).Name}, step {step}: {whole[k].Name} differs");
        }
        // The state too, every slot and step count, as saved.
        Assert.Equal(Saved(serial), Saved(split));
    }

    private static byte[] Saved<T>(Optimizer<T> optimizer) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var state = new State.StateDict();
        optimizer.SaveState(state);
        using var bytes = new MemoryStream();
        state.Write(bytes);
        return bytes.ToArray();
    }

    /// <summary>Parameters whose lengths leave every kind of range: shorter than one vector, ragged tails, several lines per core.</summary>
    private static Parameter<T>[] Parameters<T>(int seed) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        int[] lengths = [1, 7, 40, 1000, 37];
        return [.. lengths.Select((n, k) =>
        {
            var p = new Parameter<T>($"p{k}", n);
            for (int i = 0; i < n; i++) p.Value.Span[i] = T.CreateTruncating(rng.NextDouble() - 0.5);
            return p;
        })];
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 2)]
    [InlineData(17, 2)]
    [InlineData(1000, 3)]
    [InlineData(1001, 7)]
    public void Ranges_cover_the_elements_once_in_order_cut_at_cache_lines(int length, int parts)
    {
        int next = 0;
        for (int part = 0; part < parts; part++)
        {
            var (start, n) = Parts.Range<float>(length, part, parts);
            Assert.Equal(next, start);
            Assert.True(n >= 0);
            if (start + n < length) Assert.Equal(0, (start + n) % 16);   // 16 floats: one 64-byte line
            next = start + n;
        }
        Assert.Equal(length, next);
        Assert.Throws<ArgumentOutOfRangeException>(() => Parts.Range<float>(length, parts, parts));
    }
}
