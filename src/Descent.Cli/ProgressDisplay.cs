using Descent.Training;

namespace Descent.Cli;

/// <summary>
/// Progress of a long run on standard error: a bar redrawn in place on a terminal; plain lines, at
/// most one every two seconds, when the output is redirected.
/// </summary>
internal sealed class ProgressDisplay(TextWriter stderr, long total)
{
    private readonly bool _terminal = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
    private DateTime _lastLine = DateTime.MinValue;
    private bool _drawn;

    public void Report(MetricsRow row, double stepsPerSecond)
    {
        string numbers = $"loss {row.BatchLoss:F4}  train acc {row.TrainAccuracy:P1}  test acc {row.TestAccuracy:P1}  {stepsPerSecond:F0} steps/s";
        if (_terminal)
        {
            const int width = 30;
            int filled = (int)(width * row.Step / Math.Max(1, total));
            stderr.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {row.Step}/{total}  {numbers}  ");
            _drawn = true;
        }
        else if (DateTime.UtcNow - _lastLine > TimeSpan.FromSeconds(2) || row.Step == total)
        {
            stderr.WriteLine($"step {row.Step}/{total}  {numbers}");
            _lastLine = DateTime.UtcNow;
        }
    }

    public void Done()
    {
        if (_drawn) stderr.WriteLine();
    }
}
