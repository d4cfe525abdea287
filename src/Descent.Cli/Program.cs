namespace Descent.Cli;

/// <summary>Entry point of the <c>descent</c> command.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns its exit code (141, as for SIGPIPE, when the reader of standard output went away).</summary>
    public static int Main(string[] args)
    {
        var stdout = StandardOutput.Open();
        int code = Cli.Run(args, stdout, Console.Error);
        try
        {
            stdout.Flush();
        }
        catch (ReaderGoneException)
        {
            return Cli.ReaderGone;
        }
        return code;
    }
}
