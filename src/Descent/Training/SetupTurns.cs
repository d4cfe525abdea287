using System.Diagnostics;

namespace Descent.Training;

/// <summary>
/// Runs in one process set up one at a time: a <see cref="Trainer"/> built from a config takes the turn before it builds
/// its data, model and optimizer and gives it back after its first update, when the layers and the optimizer have
/// allocated every buffer a step uses (or when it loads a checkpoint, or is told to by <see cref="Trainer.EndSetup"/>).
/// Two runs set up at the same moment (two trials of a sweep, two copies of a benchmark) got their buffers interleaved
/// on the same memory pages, and then slowed each other at every step: two moons trials side by side took 7.3-8.6 s each
/// against 4.5-4.9 s alone, 5.1-5.3 s set up in turns (AMD EPYC, 2 cores; BENCHMARKS.md, "2026-12-03, evening"). A
/// thread that holds the turn takes it again at once (a program may build several runs before stepping any), and a run
/// that keeps it longer than <see cref="Patience"/> (one built and never stepped, say) loses it to the next waiting run.
/// </summary>
internal static class SetupTurns
{
    private static readonly object Gate = new();
    private static object? _holder;
    private static Thread? _holderThread;
    private static long _takenAt;

    /// <summary>How long a run waits for another thread's run to give the turn back before it takes it anyway.</summary>
    internal static TimeSpan Patience { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Waits for the turn (see the class) and returns the token that gives it back.</summary>
    public static object Take()
    {
        var token = new object();
        var thread = Thread.CurrentThread;
        lock (Gate)
        {
            while (_holder is not null && !ReferenceEquals(_holderThread, thread))
            {
                var left = Patience - Stopwatch.GetElapsedTime(_takenAt);
                if (left <= TimeSpan.Zero) break;
                Monitor.Wait(Gate, left);
            }
            (_holder, _holderThread, _takenAt) = (token, thread, Stopwatch.GetTimestamp());
        }
        return token;
    }

    /// <summary>Gives the turn back, if <paramref name="token"/> still holds it.</summary>
    public static void Give(object token)
    {
        lock (Gate)
        {
            if (!ReferenceEquals(_holder, token)) return;
            (_holder, _holderThread) = (null, null);
            Monitor.PulseAll(Gate);
        }
    }

    /// <summary>Frees the turn whoever holds it (for tests that time it).</summary>
    internal static void Reset()
    {
        lock (Gate)
        {
            (_holder, _holderThread) = (null, null);
            Monitor.PulseAll(Gate);
        }
    }
}
