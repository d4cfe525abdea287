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
            LrFindCommand.Create(stdout, stderr),
            PlotCommand.Create(stdout),
            ReproduceCommand.Create(stdout, stderr),
            BenchCommand.Create(stdout, stderr),
            PlaygroundCommand.Create(stdout, stderr),
            SweepCommand.Create(stdout, stderr),
        };
        // "--hidden=" (an option given an empty value) becomes "--hidden" "": the parser would otherwise take the next token as its value.
        args = [.. args.SelectMany(a => a.StartsWith("--", StringComparison.Ordinal) && a.EndsWith('=') ? new[] { a[..^1], "" } : [a])];
        var parsed = root.Parse(args);
        // The command's whole path ("descent sweep run"), for the help it points to.
        var names = new List<string>();
        for (var r = parsed.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult) names.Insert(0, r.Command.Name);
        string where = string.Join(' ', names) + " --help";
        // A word where a command with subcommands expects one of them is a mistyped command ("descent trian", "descent sweep runn"),
        // which System.CommandLine would report as a missing command; and --help wins over every parse error, so
        // "descent lr-search --help" (no such command) would print the top-level help and succeed.
        if (parsed.UnmatchedTokens.Count > 0 && (parsed.Action is HelpAction || parsed.Errors.Count > 0))
        {
            string token = parsed.UnmatchedTokens[0];
            var command = parsed.CommandResult.Command;
            if (SwitchBefore(parsed, token) is { } name)
                return Fail(stderr, 2, $"{name} is a switch and takes no value (got '{token}'): give {name} alone to turn it on, or {name}=true or {name}=false.");
            return Fail(stderr, 2, command.Subcommands.Count > 0 && !token.StartsWith('-')
                ? $"Unknown command '{token}': choose one of {string.Join(", ", command.Subcommands.Select(c => c.Name))} (see '{where}')."
                : $"Unrecognized command or argument '{token}' (see '{where}').");
        }
        if (parsed.Errors.Count > 0)
            return Fail(stderr, 2, $"{parsed.Errors[0].Message} (see '{where}')");
        if (parsed.Action is HelpAction && parsed.CommandResult.Command == root)
        {
            WriteHelp(root, stdout);
            return 0;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (ReaderGoneException)
        {
            return ReaderGone;
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

    /// <summary>
    /// The switch (an option without a value, such as <c>--nesterov</c>) that an unmatched <paramref name="token"/> was given to, as
    /// <c>--nesterov=0</c> or <c>--nesterov 0</c>: the parser takes only true or false there and leaves anything else unmatched.
    /// </summary>
    private static string? SwitchBefore(ParseResult parsed, string token)
    {
        var tokens = parsed.Tokens;
        for (int i = 1; i < tokens.Count; i++)
        {
            if (tokens[i].Value != token || tokens[i].Type != System.CommandLine.Parsing.TokenType.Argument || tokens[i - 1].Type != System.CommandLine.Parsing.TokenType.Option) continue;
            string name = tokens[i - 1].Value;
            if (parsed.CommandResult.Command.Options.Any(o => o is Option<bool> && (o.Name == name || o.Aliases.Contains(name)))) return name;
        }
        return null;
    }

    /// <summary>The exit code when standard output's reader went away: 128 + SIGPIPE, what a shell reports for a process killed by it.</summary>
    public const int ReaderGone = 141;

    private static int Fail(TextWriter stderr, int code, string message)
    {
        // One line, whatever the message quotes (a tab or a line break from a file or a formula would split or misalign it).
        stderr.WriteLine("descent: error: " + message.ReplaceLineEndings(" ").Replace('\t', ' '));
        return code;
    }

    /// <summary>
    /// The top-level help: each command with its arguments as a synopsis (<c>reproduce [EXPERIMENT...]</c>
    /// for optional ones) and the first line of its description.
    /// </summary>
    private static void WriteHelp(Command root, TextWriter output)
    {
        static string Synopsis(Command c) => string.Join(" ", new[] { c.Name }.Concat(c.Arguments.Select(a =>
        {
            string name = a.Name.ToUpperInvariant() + (a.Arity.MaximumNumberOfValues > 1 ? "..." : "");
            return a.Arity.MinimumNumberOfValues == 0 ? $"[{name}]" : name;
        })));
        var commands = root.Subcommands.Select(c => (Synopsis(c), (c.Description ?? "").Split('\n')[0].Trim())).ToList();
        int width = commands.Max(c => c.Item1.Length) + 2;
        output.WriteLine(root.Description);
        output.WriteLine();
        output.WriteLine("Usage: descent COMMAND [options]");
        output.WriteLine();
        output.WriteLine("Commands:");
        foreach (var (synopsis, description) in commands) output.WriteLine($"  {synopsis.PadRight(width)}{description}");
        output.WriteLine();
        output.WriteLine("Options:");
        output.WriteLine("  -h, --help  show this help; 'descent COMMAND --help' shows a command's options");
        output.WriteLine("  --version   show the version");
    }
}
