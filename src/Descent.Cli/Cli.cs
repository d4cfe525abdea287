using System.CommandLine;

namespace Descent.Cli;

/// <summary>
/// The <c>descent</c> command: builds the subcommands, runs one, and turns every failure into one line
/// on standard error (<c>descent: error: ...</c>) with a non-zero exit code: 2 for a usage mistake,
/// 1 for a failure while running.
/// </summary>
public static class Cli
{
    /// <summary>Runs <paramref name="args"/>, writing results to <paramref name="stdout"/> and messages to <paramref name="stderr"/>.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Descent: gradient optimizers for neural networks, and what they do.")
        {
            TrajectoryCommand.Create(stdout, stderr),
        };
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
        catch (UsageException e)
        {
            return Fail(stderr, 2, e.Message);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidDataException or IOException or KeyNotFoundException or UnauthorizedAccessException)
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
