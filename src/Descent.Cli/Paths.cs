namespace Descent.Cli;

/// <summary>
/// Checks of the files and directories named on the command line, made before any work starts, so a
/// wrong path is reported in one line that names the option, what is wrong and what to do, not in the
/// runtime's words halfway through a run.
/// </summary>
internal static class Paths
{
    /// <summary>An existing file that can be read.</summary>
    public static string InputFile(string path, string option)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} {path} is a directory; give a file.");
        if (!File.Exists(path)) throw new UsageException($"{option} {path}: no such file; check the path.");
        try
        {
            using var _ = File.OpenRead(path);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UsageException($"{option} {path} cannot be read ({Reason(e)}); check its permissions or give another file.");
        }
        return path;
    }

    /// <summary>An existing directory that can be listed.</summary>
    public static string InputDirectory(string path, string option)
    {
        if (File.Exists(path)) throw new UsageException($"{option} {path} is a file; give the directory that holds the files.");
        if (!Directory.Exists(path)) throw new UsageException($"{option} {path}: no such directory; check the path.");
        try
        {
            _ = Directory.EnumerateFileSystemEntries(path).FirstOrDefault();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UsageException($"{option} {path} cannot be read ({Reason(e)}); check its permissions or give another directory.");
        }
        return path;
    }

    /// <summary>A directory to write into, created (with its parents) when missing, and proved writable with a probe file.</summary>
    public static string OutputDirectory(string path, string option)
    {
        OutputDirectoryName(path, option);
        try
        {
            Directory.CreateDirectory(path);
            string probe = Path.Combine(path, $".descent-{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UsageException($"{option} {path} cannot be written ({Reason(e)}); choose a directory you can write to.");
        }
        return path;
    }

    /// <summary>
    /// Checks, without creating anything, that <paramref name="path"/> could be an output directory: not empty, not a file, and not
    /// under one. For commands that create their directory themselves after other checks.
    /// </summary>
    public static string OutputDirectoryName(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException($"{option} needs a directory name; got an empty one.");
        if (File.Exists(path)) throw new UsageException($"{option} {path} is a file; give a directory (it is created when missing).");
        if (FileAbove(path) is { } file) throw new UsageException($"{option} {path} cannot be created: {file} is a file, not a directory; choose another path.");
        return path;
    }

    /// <summary>A file to write: its directory must exist (or be creatable) and be writable, and the path must not be a directory.</summary>
    public static string OutputFile(string path, string option)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} {path} is a directory; give a file name.");
        string? parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null) OutputDirectory(parent, option + "'s directory");
        return path;
    }

    /// <summary>The nearest existing ancestor of <paramref name="path"/> when it is a file (which makes the path impossible).</summary>
    private static string? FileAbove(string path)
    {
        for (var dir = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(dir)) return dir;
            if (Directory.Exists(dir)) return null;
        }
        return null;
    }

    /// <summary>The cause in plain words (the runtime's messages quote the path and name no remedy).</summary>
    private static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        DirectoryNotFoundException => "a directory on its path does not exist",
        PathTooLongException => "the path is too long",
        _ => "the system refused",
    };
}
