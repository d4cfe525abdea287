using System.Globalization;
using System.Text.Json;
using Descent.State;

namespace Descent.Sweeps;

/// <summary>The process that holds a claim: its host, process id and process start time (which tells a reused pid apart).</summary>
/// <param name="Host">The machine's name.</param>
/// <param name="Pid">The process id.</param>
/// <param name="Start">The process start time as the operating system reports it (clock ticks since boot on Linux).</param>
/// <param name="Claimed">When the claim was made (UTC).</param>
public sealed record ClaimOwner(string Host, int Pid, long Start, DateTime Claimed)
{
    /// <summary>This process.</summary>
    public static ClaimOwner Current() => new(Environment.MachineName, Environment.ProcessId, ProcessStart(Environment.ProcessId) ?? 0, DateTime.UtcNow);

    /// <summary>The start time of process <paramref name="pid"/> on this machine, or null when there is no such process.</summary>
    public static long? ProcessStart(int pid)
    {
        string stat = $"/proc/{pid}/stat";
        if (Directory.Exists("/proc/self"))
        {
            try
            {
                // Field 22 (starttime); the command name (field 2) is in parentheses and may hold spaces.
                string text = File.ReadAllText(stat);
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                return long.Parse(fields[19], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return null;
            }
        }
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return p.StartTime.ToUniversalTime().Ticks;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>For messages: "host vm, pid 1234, since 2026-11-30 16:02:11Z".</summary>
    public override string ToString() => $"host {Host}, pid {Pid}, since {Claimed:yyyy-MM-dd HH:mm:ss}Z";
}

/// <summary>
/// A claim on a trial: the file <c>claim</c> in the trial's directory, created atomically (it appears complete or not at
/// all, and only if no claim is there), holding the owner's host, pid and process start time. While it exists no other
/// process runs the trial. It is released when the run ends and treated as released when its process is gone: on the same
/// host when no process with that pid and start time exists; from another host (where pids cannot be checked) when its
/// heartbeat, the file's modification time refreshed every <see cref="Heartbeat"/>, is older than <see cref="StaleAfter"/>.
/// A stale claim is taken over by renaming it to a name unique to its dead owner, which only one process can do.
/// </summary>
public sealed class Claim : IDisposable
{
    /// <summary>The claim file's name inside a trial directory.</summary>
    public const string FileName = "claim";

    /// <summary>How often the owner refreshes its claim's modification time.</summary>
    public static TimeSpan Heartbeat { get; } = TimeSpan.FromSeconds(30);

    /// <summary>How old a claim from another host may be before it counts as abandoned.</summary>
    public static TimeSpan StaleAfter { get; } = TimeSpan.FromMinutes(5);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly string _path;
    private readonly Timer _heartbeat;

    private Claim(string path, ClaimOwner owner)
    {
        _path = path;
        Owner = owner;
        _heartbeat = new Timer(_ => Touch(), null, Heartbeat, Heartbeat);
    }

    /// <summary>Who holds it.</summary>
    public ClaimOwner Owner { get; }

    /// <summary>Claims the trial in <paramref name="trialDir"/> for this process, or returns null when a live process holds it.</summary>
    public static Claim? TryAcquire(string trialDir)
    {
        Directory.CreateDirectory(trialDir);
        string path = Path.Combine(trialDir, FileName);
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var owner = ClaimOwner.Current();
            string tmp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
            File.WriteAllText(tmp, Atomic.JsonText(owner, Json));   // linked into place below, so not written by Atomic.WriteJson
            bool created;
            try
            {
                // A hard link never replaces an existing name: the claim appears complete, and only if none is there.
                created = Link(tmp, path);
            }
            finally
            {
                File.Delete(tmp);
            }
            if (created) return new Claim(path, owner);

            var holder = Read(path);
            if (holder is null)
            {
                // Gone just now (taken over): look again. A claim is written whole (a link to a complete file), so one that is there
                // but cannot be read was damaged; once it is as old as a stale claim it is set aside like one (a fresh claim, always
                // readable, is never removed this way).
                DateTime written = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : DateTime.UtcNow;
                string damaged = Path.Combine(trialDir, $"{FileName}.stale-unreadable-{written.Ticks}");
                if (DateTime.UtcNow - written >= StaleAfter && Link(path, damaged) && Read(damaged) is null) File.Delete(path);
                continue;
            }
            if (IsAlive(holder, path)) return null;
            SetAside(trialDir, holder);   // then look again
        }
        return null;
    }

    /// <summary>
    /// Removes the claim of <paramref name="holder"/>, a dead owner, from <paramref name="trialDir"/>: links it to a name unique to that
    /// owner (only one process can), checks that the linked file is still that owner's (not a fresh claim made since), and only then
    /// removes it. A late contender's link fails on the existing name, so it cannot remove a fresh claim.
    /// </summary>
    private static void SetAside(string trialDir, ClaimOwner holder)
    {
        string path = Path.Combine(trialDir, FileName);
        string aside = Path.Combine(trialDir, $"{FileName}.stale-{holder.Host}-{holder.Pid}-{holder.Start}");
        if (Link(path, aside) && Read(aside) == holder) File.Delete(path);
    }

    /// <summary>
    /// Removes the claim in <paramref name="trialDir"/> of an ended trial when its owner is gone: a process stopped between the
    /// trial's result and the release of its claim leaves it behind. Set aside first, as a dead owner's claim is taken over.
    /// </summary>
    public static void RemoveAbandoned(string trialDir)
    {
        string path = Path.Combine(trialDir, FileName);
        if (File.Exists(path) && Read(path) is { } holder && !IsAlive(holder, path)) SetAside(trialDir, holder);
    }

    /// <summary>Creates the name <paramref name="newPath"/> for the file <paramref name="existing"/>; false when the name exists or the file does not.</summary>
    private static bool Link(string existing, string newPath)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                File.Copy(existing, newPath, overwrite: false);
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }
        if (link(existing, newPath) == 0) return true;
        int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno is 17 or 2) return false;   // EEXIST, ENOENT
        throw new IOException($"Cannot create {newPath}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}.");
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054, CA2101 // a one-line libc call; the path is passed as UTF-8 by the default marshalling on Unix
    private static extern int link(string oldpath, string newpath);
#pragma warning restore SYSLIB1054, CA2101

    /// <summary>The owner recorded in a claim file, or null if it is gone (or unreadable for a moment).</summary>
    public static ClaimOwner? Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ClaimOwner>(File.ReadAllText(path), Json);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether the claim at <paramref name="path"/> (held by <paramref name="owner"/>) still stands.</summary>
    public static bool IsAlive(ClaimOwner owner, string path)
    {
        if (owner.Host == Environment.MachineName) return ClaimOwner.ProcessStart(owner.Pid) == owner.Start;
        try
        {
            return DateTime.UtcNow - File.GetLastWriteTimeUtc(path) < StaleAfter;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void Touch()
    {
        try
        {
            if (Read(_path) == Owner) File.SetLastWriteTimeUtc(_path, DateTime.UtcNow);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Releases the claim (deletes the file if it is still this one's).</summary>
    public void Dispose()
    {
        _heartbeat.Dispose();
        if (Read(_path) == Owner) File.Delete(_path);
    }
}
