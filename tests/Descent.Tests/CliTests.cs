using System.Globalization;
using System.Text.Json;
using Xunit;

namespace Descent.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Csv_has_a_header_and_steps_plus_one_rows_in_round_trip_precision()
    {
        var (code, output, err) = Run("trajectory", "--function", "rosenbrock", "--optimizer", "adam", "--lr", "0.05", "--steps", "25", "--start=-1.5,2");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        var lines = output.TrimEnd().Split('\n');
        Assert.Equal("step,x,y,loss", lines[0]);
        Assert.Equal(27, lines.Length);
        Assert.Equal("0,-1.5,2,12.5", lines[1]);
        foreach (var line in lines.Skip(1))
            foreach (var field in line.Split(',').Skip(1))
            {
                double v = double.Parse(field, CultureInfo.InvariantCulture);
                Assert.Equal(field, v.ToString("R", CultureInfo.InvariantCulture));
            }
    }

    [Fact]
    public void Json_holds_the_path_and_the_hyperparameters_actually_used()
    {
        var (code, output, _) = Run("trajectory", "-f", "x^2 + 10*y^2", "-o", "sgd", "--momentum", "0.9", "--nesterov", "-n", "10", "--start", "1,1", "--format", "json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("x^2 + 10*y^2", root.GetProperty("function").GetString());
        Assert.Equal(0.001, root.GetProperty("hyperparameters").GetProperty("lr").GetDouble());
        Assert.True(root.GetProperty("hyperparameters").GetProperty("nesterov").GetBoolean());
        Assert.Equal(11, root.GetProperty("path").GetArrayLength());
        Assert.Equal(11, root.GetProperty("path")[0].GetProperty("loss").GetDouble());
    }

    [Theory]
    [InlineData("does not apply to adam", "-o", "adam", "--momentum", "0.9")]
    [InlineData("does not apply to sgd", "-o", "sgd", "--beta1", "0.9")]
    [InlineData("Invalid beta1: 1.5", "-o", "adam", "--beta1", "1.5")]
    [InlineData("Invalid lr: -1", "-o", "sgd", "--lr", "-1")]
    [InlineData("Invalid --lr value 'fast'", "-o", "sgd", "--lr", "fast")]
    [InlineData("Invalid eps: -1E-08", "-o", "rmsprop", "--eps", "-1e-8")]
    [InlineData("Nesterov momentum requires", "-o", "sgd", "--nesterov")]
    [InlineData("Unknown optimizer 'adamm' (did you mean 'adam'?): choose one of sgd,", "-o", "adamm")]
    [InlineData("Unknown optimizer 'xyzzy': choose one of sgd,", "-o", "xyzzy")]
    [InlineData("--decoupled-weight-decay is a switch and takes no value (got '0'): give --decoupled-weight-decay alone to turn it on, or --decoupled-weight-decay=true or --decoupled-weight-decay=false.", "-o", "adamw", "--decoupled-weight-decay=0")]
    [InlineData("--nesterov is a switch and takes no value (got 'yes')", "-o", "sgd", "--momentum", "0.9", "--nesterov", "yes")]
    [InlineData("Unrecognized command or argument 'extra' (see 'descent trajectory --help')", "-o", "adam", "extra")]
    [InlineData("muon updates 2-D weight matrices only and cannot move a point on a landscape", "-o", "muon")]
    [InlineData("Invalid weight_decay: -0.1", "-o", "adamw", "--weight-decay", "-0.1")]
    [InlineData("--eps-outside-max does not apply to adam", "-o", "adam", "--eps-outside-max")]
    [InlineData("--threshold does not apply to nadam", "-o", "nadam", "--threshold", "6")]
    [InlineData("--amsgrad-bias-corrected does not apply to radam", "-o", "radam", "--amsgrad-bias-corrected")]
    [InlineData("--eps-after-bias-correction does not apply to adam", "-o", "adam", "--eps-after-bias-correction")]
    [InlineData("Invalid threshold: 3 (threshold must be a finite number in [4, inf))", "-o", "radam", "--threshold", "3")]
    [InlineData("Invalid amsgrad_bias_corrected: it changes AMSGrad's maximum only; also set amsgrad.", "-o", "adam", "--amsgrad-bias-corrected")]
    [InlineData("Invalid amsgrad_bias_corrected", "-o", "adamw", "--amsgrad", "--amsgrad-bias-corrected", "--eps-before-bias-correction")]
    [InlineData("Invalid eps_after_bias_correction", "-o", "radam", "--eps-after-bias-correction", "--eps-inside-sqrt")]
    [InlineData("Invalid independent_weight_decay", "-o", "adam", "--weight-decay", "0.1", "--independent-weight-decay")]
    public void Bad_hyperparameters_and_names_give_one_error_line_and_a_nonzero_exit(string message, params string[] extra)
    {
        string[] args = ["trajectory", "-f", "rosenbrock", "--steps", "3", "--start=1,2", .. extra];
        var (code, output, err) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.StartsWith("descent: error: ", err);
        Assert.Contains(message, err);
    }

    [Theory]
    [InlineData("1", "two finite numbers separated by a comma")]
    [InlineData("1,2,3", "two finite numbers")]
    [InlineData("a,b", "two finite numbers")]
    [InlineData("1;2", "two finite numbers")]
    [InlineData("NaN,1", "two finite numbers")]
    [InlineData(",", "two finite numbers")]
    public void Malformed_start_values_are_rejected(string start, string message)
    {
        var (code, _, err) = Run("trajectory", "-f", "rosenbrock", "-o", "adam", "--steps", "3", $"--start={start}");
        Assert.Equal(2, code);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Contains($"Invalid --start value '{start}'", err);
        Assert.Contains(message, err);
    }

    [Theory]
    [InlineData("rosenbrok", "neither a named landscape")]
    [InlineData("x^2 + * y", "at character 7 ('*')")]
    [InlineData("sin(x", "never closed")]
    [InlineData("x + q", "unknown name 'q'")]
    public void Unknown_functions_and_malformed_expressions_are_rejected(string function, string message)
    {
        var (code, _, err) = Run("trajectory", "-f", function, "-o", "adam", "--steps", "3", "--start=1,2");
        Assert.Equal(2, code);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Contains(message, err);
    }

    [Theory]
    [InlineData("--steps", "-1")]
    [InlineData("--steps", "1.5")]
    [InlineData("--format", "xml")]
    [InlineData("--bogus", "1")]
    public void Bad_flags_are_rejected(string flag, string value)
    {
        string[] args = ["trajectory", "-f", "rosenbrock", "-o", "adam", "--start=1,2", .. (flag == "--steps" ? Array.Empty<string>() : ["--steps", "3"]), flag, value];
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.StartsWith("descent: error: ", err);
    }

    [Fact]
    public void A_diverging_path_is_printed_with_a_warning()
    {
        var (code, output, err) = Run("trajectory", "-f", "rosenbrock", "-o", "sgd", "--lr", "1", "--steps", "20", "--start=-1.5,2");
        Assert.Equal(0, code);
        Assert.Contains("Infinity", output);
        Assert.Contains("warning: the path left the finite numbers", err);
    }

    [Theory]
    [InlineData("cnn-mnist", 64)]
    [InlineData("transformer-char", 32)]
    public void Bench_times_the_model_workloads_and_their_steps_learn(string workload, int batch)
    {
        var (code, output, err) = Run("bench", "--workload", workload, "--seconds", "0.5");
        Assert.True(code == 0, err);
        using var line = System.Text.Json.JsonDocument.Parse(output.Trim());
        var r = line.RootElement;
        Assert.Equal(workload, r.GetProperty("workload").GetString());
        Assert.Equal(batch, r.GetProperty("B").GetInt32());
        Assert.True(r.GetProperty("steps_per_s").GetDouble() > 0 && r.GetProperty("gflop_per_s").GetDouble() > 0);
        Assert.True(r.GetProperty("loss_final").GetDouble() < r.GetProperty("loss_init").GetDouble(), output);
    }

    [Fact]
    public void Bench_limits_measures_the_bandwidths_the_fma_peak_and_the_stores_across_cores()
    {
        var (code, output, err) = Run("bench", "--workload", "limits", "--seconds", "0.3");
        Assert.True(code == 0, err);
        var cells = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["triad", "rows-1000x784"], cells.Take(2).Select(c => c.GetProperty("cell").GetString()));
        Assert.StartsWith("fma-1-core-", cells[2].GetProperty("cell").GetString());
        Assert.All(cells.Take(2), c => Assert.True(c.GetProperty("gb_per_s").GetDouble() > 0 && c.GetProperty("steps").GetInt64() > 0, c.ToString()));
        Assert.True(cells[2].GetProperty("gflop_per_s").GetDouble() > 0);
        // With two cores, the stores over memory another core has just read.
        Assert.Equal(Environment.ProcessorCount >= 2 && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? 4 : 3, cells.Count);
        if (cells.Count == 4)
        {
            Assert.Equal("handoff-2MB", cells[3].GetProperty("cell").GetString());
            Assert.True(cells[3].GetProperty("gb_per_s").GetDouble() > 0 && cells[3].GetProperty("steps").GetInt64() >= 2, cells[3].ToString());
        }
    }

    [Fact]
    public void Bench_profile_lists_every_layer_and_needs_a_model_workload()
    {
        var (code, output, err) = Run("bench", "--workload", "cnn-mnist", "--profile", "--seconds", "0.5");
        Assert.True(code == 0, err);
        Assert.Contains("3 Conv2d", output);
        Assert.Contains("rest: gather, loss, update", output);
        // The step's parts add up to the step: the layers' forward and backward passes and the rest.
        double Last(string label) => double.Parse(output.Split('\n').First(l => l.StartsWith(label, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], CultureInfo.InvariantCulture);
        var layers = output.Split('\n').First(l => l.StartsWith("layers", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double sum = double.Parse(layers[1], CultureInfo.InvariantCulture) + double.Parse(layers[2], CultureInfo.InvariantCulture) + Last("rest");
        Assert.InRange(Last("step"), sum - 0.003, sum + 0.003);
        // The clocks time less than the whole step, and the convolutions' passes take time.
        Assert.True(Last("rest") > 0, output);
        Assert.True(Last("3 Conv2d") > 0 && Last("0 Conv2d") > 0, output);
        // The pooling runs inside the convolution before it, so its own row shows no time, nor does the ReLU it applies.
        Assert.Matches(@"2 Pool2d\s+0\.000\s+0\.000", output);
        Assert.Matches(@"1 relu\s+0\.000\s+0\.000", output);
        (code, output, err) = Run("bench", "--workload", "transformer-char", "--profile", "--train-threads", "2", "--seconds", "0.5");
        Assert.True(code == 0, err);
        Assert.Contains("rest: gather, loss, wait for the slower shard, gradient sum, update", output);
        // The replicas' clocks count too: every attention block's backward pass takes time.
        Assert.True(Last("2 res(LayerNorm-CausalSelfAttention)") > 0 && Last("rest") > 0, output);
        (code, _, err) = Run("bench", "--workload", "moons-mlp", "--profile", "--seconds", "0.5");
        Assert.NotEqual(0, code);
        Assert.Contains("cnn-mnist or transformer-char", err);
    }

    [Fact]
    public void Bench_refuses_a_batch_larger_than_the_workloads_data()
    {
        // Such a batch would be cut to the data while the figures counted it whole.
        var (code, _, err) = Run("bench", "--workload", "moons-mlp", "--batch", "100000", "--seconds", "0.2");
        Assert.Equal(2, code);
        Assert.Contains("moons-mlp trains on 500 examples, so a batch of 100000 cannot be drawn: give a batch of at most 500.", err);
    }
}
