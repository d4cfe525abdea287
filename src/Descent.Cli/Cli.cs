using System.CommandLine;
using System.CommandLine.Help;

namespace Descent.Cli;

/// <summary>
/// The <c>descent</c> command: builds the subcommands, runs one, and turns every failure into one line
/// on standard error (<c>descent: error: ...</c>) with a non-zero exit code: 2 for bad input (flags,
/// names, numbers, expressions, hyperparameters), 1 for a failure while running (files, data).
/// </summary>
public static class Cli
{
    /// <summary>Runs <paramref name="args"/>, writing results to <paramref name="stdout"/> and messages to <paramref name="stderr"/>.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        // A root named "descent" (a RootCommand would take the assembly's file name).
        var root = new Command("descent", "Descent: gradient optimizers for neural networks, and what they do.")
        {
            new HelpOption(),
            new VersionOption(),
            TrajectoryCommand.Create(stdout, stderr),
            TrainCommand.Create(stdout, stderr),
            ReproduceCommand.Create(stdout, stderr),
            BenchCommand.Create(stdout, stderr),
            PlaygroundCommand.Create(stdout, stderr),
            SweepCommand.Create(stdout, stderr),
        };
        // "--hidden=" (an option given an empty value) becomes "--hidden" "": the parser would otherwise take the next token as its value.
        args = [.. args.SelectMany(a => a.StartsWith("--", StringComparison.Ordinal) && a.EndsWith('=') ? new[] { a[..^1], "" } : [a])];
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            string where = parsed.CommandResult.Command == root ? "descent --help" : $"descent {parsed.CommandResult.Command.Name} --help";
            return Fail(stderr, 2, $"{parsed.Errors[0].Message} (see '{where}')");
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is UsageException or ArgumentException or FormatException)
        {
            return Fail(stderr, 2, e.Message);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or KeyNotFoundException or UnauthorizedAccessException or Descent.Training.TrainingException)
        {
            return Fail(stderr, 1, e.Message);
        }
    }

    private static int Fail(TextWriter stderr, int code, string message)
    {
        stderr.WriteLine("descent: error: " + message.ReplaceLineEndings(" "));
        return code;
    }
}
