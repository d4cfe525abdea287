using Descent.Numerics;
using System.CommandLine;
using System.Text.Json;
using Descent.Landscapes;

namespace Descent.Cli;

/// <summary>
/// <c>descent trajectory</c>: runs one optimizer on one 2-D landscape in double precision and prints the
/// path as CSV (<c>step,x,y,loss</c>; row 0 is the start, row k the point after k updates) or JSON.
/// </summary>
internal static class TrajectoryCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var function = new Option<string>("--function", "-f")
        {
            Description = $"landscape: {string.Join(", ", Landscape.Named.Select(l => l.Name))}, or an expression in x and y such as \"x^2 + 10*y^2\"",
            Required = true,
            HelpName = "name|expression",
        };
        var optimizer = new Option<string>("--optimizer", "-o")
        {
            Description = $"optimizer: {string.Join(", ", Trajectory.OptimizerNames)}",
            Required = true,
            HelpName = "name",
        };
        var steps = new Option<string>("--steps", "-n") { Description = "number of updates", Required = true, HelpName = "N" };
        var start = new Option<string>("--start") { Description = "starting point, e.g. --start=-1.5,2", Required = true, HelpName = "X,Y" };
        var format = new Option<string>("--format") { Description = "output format", DefaultValueFactory = _ => "csv", HelpName = "csv|json" };
        format.AcceptOnlyFromAmong("csv", "json");
        var hyper = new OptimizerArguments(Trajectory.OptimizerNames);

        var command = new Command("trajectory", "Run one optimizer on a 2-D landscape (double precision) and print its path.")
        {
            function, optimizer, steps, start, format,
        };
        foreach (var o in hyper.Options) command.Add(o);

        command.SetAction(parsed =>
        {
            string optimizerName = parsed.GetValue(optimizer)!.Trim().ToLowerInvariant();
            Trajectory.RequireOptimizer(optimizerName);
            var options = hyper.Read(parsed, optimizerName);
            int n = Numbers.Whole(parsed.GetValue(steps)!, "--steps", 0, int.MaxValue - 1);
            var origin = Numbers.Point(parsed.GetValue(start)!, "--start");
            var landscape = Landscape.Get(parsed.GetValue(function)!);
            Trajectory.RequireFiniteStart(landscape, origin);
            var path = Trajectory.Walk(landscape, xy => Descent.Optim.Optimizers.Create(optimizerName, [xy], options), origin, n);
            int? firstNonFinite = parsed.GetValue(format) == "json"
                ? WriteJson(stdout, landscape, optimizerName, options, path)
                : WriteCsv(stdout, path);
            if (firstNonFinite is int k)
                stderr.WriteLine($"descent: warning: the path left the finite numbers at step {k} (the learning rate is probably too high for this landscape, or the path left the function's domain).");
            return 0;
        });
        return command;
    }

    private static int? WriteCsv(TextWriter output, IEnumerable<PathPoint> path)
    {
        int? nonFinite = null;
        output.WriteLine("step,x,y,loss");
        foreach (var p in path)
        {
            output.WriteLine($"{p.Step},{Numbers.Format(p.X)},{Numbers.Format(p.Y)},{Numbers.Format(p.Loss)}");
            if (nonFinite is null && !(double.IsFinite(p.X) && double.IsFinite(p.Y) && double.IsFinite(p.Loss))) nonFinite = p.Step;
        }
        output.Flush();
        return nonFinite;
    }

    private static int? WriteJson(TextWriter output, Landscape landscape, string optimizer, Descent.Optim.OptimizerOptions options, IEnumerable<PathPoint> path)
    {
        int? nonFinite = null;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("function", landscape.Name);
            w.WriteString("formula", landscape.Formula);
            w.WriteString("optimizer", optimizer);
            w.WriteStartObject("hyperparameters");
            foreach (var h in options.Hyperparameters)
            {
                if (h.Kind == Descent.Optim.HyperparameterKind.Flag) w.WriteBoolean(h.Name, h.Get(options) != 0);
                else Number(w, h.Name, h.Get(options));
            }
            w.WriteEndObject();
            w.WriteStartArray("path");
            foreach (var p in path)
            {
                w.WriteStartObject();
                w.WriteNumber("step", p.Step);
                Number(w, "x", p.X);
                Number(w, "y", p.Y);
                Number(w, "loss", p.Loss);
                w.WriteEndObject();
                if (nonFinite is null && !(double.IsFinite(p.X) && double.IsFinite(p.Y) && double.IsFinite(p.Loss))) nonFinite = p.Step;
                if (w.BytesPending > 1 << 16) Drain(w, stream, output);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        output.Write(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
        output.WriteLine();
        output.Flush();
        return nonFinite;
    }

    private static void Drain(Utf8JsonWriter w, MemoryStream stream, TextWriter output)
    {
        w.Flush();
        output.Write(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
        stream.SetLength(0);
    }

    /// <summary>JSON has no NaN or infinity: non-finite values are written as null; finite ones as text that reads back to them (<see cref="RoundTrip"/>).</summary>
    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        w.WritePropertyName(name);
        if (double.IsFinite(value)) w.WriteRawValue(RoundTrip.Format(value), skipInputValidation: true);
        else w.WriteNullValue();
    }
}
