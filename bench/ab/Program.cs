using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;

// Usage: ab DIR_A DIR_B WORKLOAD SECONDS ROUNDS [SIZE [TRAIN_THREADS]]
// Loads the Descent.Lab of two builds (each directory a `dotnet build src/Descent.Cli -o DIR`) side by side, each in its
// own load context, and times WORKLOAD (as `descent bench` does, one thread, or TRAIN_THREADS cores for one run as
// `descent bench --train-threads`; SIZE 0 is the workload's usual size) alternately, A B then B A, ROUNDS times after a
// warm-up of each. The host's state drifts over seconds by more than the differences worth measuring, so separate
// processes timed one after the other compare the drift; here both builds take turns within every round, and the ratio of
// each round is taken before the median.
if (args.Length is < 5 or > 7)
{
    Console.Error.WriteLine("usage: ab DIR_A DIR_B WORKLOAD SECONDS ROUNDS [SIZE [TRAIN_THREADS]]");
    return 2;
}
var culture = CultureInfo.InvariantCulture;
string workload = args[2];
// Each argument checked on its own, so the message names the one that is wrong and quotes it.
string? problem = null;
int rounds = 0;
if (!double.TryParse(args[3], NumberStyles.Float, culture, out double seconds)) problem = $"SECONDS is a number, not '{args[3]}'";
else if (!int.TryParse(args[4], NumberStyles.Integer, culture, out rounds)) problem = $"ROUNDS is a whole number, not '{args[4]}'";
long size = 0;
int trainThreads = 1;
if (problem is null && args.Length > 5 && (!long.TryParse(args[5], NumberStyles.Integer, culture, out size) || size < 0))
    problem = $"SIZE is a whole number, 0 for the workload's usual size, not '{args[5]}'";
if (problem is null && args.Length > 6 && (!int.TryParse(args[6], NumberStyles.Integer, culture, out trainThreads) || trainThreads < 1))
    problem = $"TRAIN_THREADS is a whole number of at least 1, not '{args[6]}'";
if (problem is not null)
{
    Console.Error.WriteLine($"ab: {problem} (usage: ab DIR_A DIR_B WORKLOAD SECONDS ROUNDS [SIZE [TRAIN_THREADS]]).");
    return 2;
}
if (workload == "limits")
{
    Console.Error.WriteLine("ab: the limits workload measures the machine, not a build; choose a training workload.");
    return 2;
}
if (rounds < 1 || !(seconds > 0))
{
    Console.Error.WriteLine($"ab: give at least one round of a positive number of seconds, not {args[4]} of {args[3]}.");
    return 2;
}
Func<double> a, b;
try
{
    a = Benchmark.Load(args[0], workload, size, seconds, trainThreads);
    b = Benchmark.Load(args[1], workload, size, seconds, trainThreads);
    a();
    b();
}
catch (Exception e) when (e is TargetInvocationException { InnerException: ArgumentException } or InvalidOperationException or FileNotFoundException)
{
    Console.Error.WriteLine($"ab: {(e is TargetInvocationException t ? t.InnerException!.Message : e.Message)}");
    return 2;
}
var ratios = new List<double>();
for (int i = 0; i < rounds; i++)
{
    double x, y;
    if (i % 2 == 0) (x, y) = (a(), b());
    else (y, x) = (b(), a());
    ratios.Add(y / x);
    Console.WriteLine(string.Create(culture, $"round {i + 1}: A {x:F1} B {y:F1} steps/s, B/A {y / x:F3}"));
}
ratios.Sort();
double median = (ratios[(rounds - 1) / 2] + ratios[rounds / 2]) / 2;
Console.WriteLine(string.Create(culture, $"B/A median {median:F3} (min {ratios[0]:F3}, max {ratios[^1]:F3}) over {rounds} rounds of {workload}{(trainThreads > 1 ? $" on {trainThreads} cores" : "")}"));
return 0;

/// <summary>One build's benchmark, loaded from its directory.</summary>
internal static class Benchmark
{
    /// <summary>
    /// A function that times <paramref name="workload"/> once with the build in <paramref name="directory"/> on
    /// <paramref name="trainThreads"/> cores for the one run and returns its steps per second.
    /// </summary>
    public static Func<double> Load(string directory, string workload, long size, double seconds, int trainThreads)
    {
        string dir = Path.GetFullPath(directory);
        var lab = new BuildContext(dir).LoadFromAssemblyPath(Path.Combine(dir, "Descent.Lab.dll"));
        var type = lab.GetType("Descent.Lab.Benchmarks.Benchmark") ?? throw new InvalidOperationException($"{dir}: no Descent.Lab.Benchmarks.Benchmark.");
        var run = type.GetMethod("Run", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(long), typeof(double), typeof(int)])
            ?? throw new InvalidOperationException($"{dir}: no Benchmark.Run(string, long, double, int).");
        // The workload's usual size when none is given: its first in `descent bench`'s list of sizes.
        long actual = size > 0 ? size : DefaultSize(type, workload);
        return () =>
        {
            var result = run.Invoke(null, [workload, actual, seconds, trainThreads])!;
            return (double)result.GetType().GetProperty("StepsPerSecond")!.GetValue(result)!;
        };
    }

    private static long DefaultSize(Type benchmark, string workload) =>
        benchmark.GetMethod("DefaultSizes", BindingFlags.Public | BindingFlags.Static, [typeof(string)])?.Invoke(null, [workload]) is long[] { Length: > 0 } sizes
            ? sizes[0]
            : throw new InvalidOperationException($"No default size for {workload}: give one.");

    /// <summary>Resolves a build's assemblies from its own directory, so two builds of the same assemblies load side by side.</summary>
    private sealed class BuildContext(string directory) : AssemblyLoadContext(isCollectible: false)
    {
        protected override Assembly? Load(AssemblyName name)
        {
            string path = Path.Combine(directory, name.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
