namespace Descent.State;

/// <summary>Writes files so that a crash leaves either the old file or the new one, never a mixture.</summary>
public static class Atomic
{
    /// <summary>Writes through <paramref name="write"/> into a temporary file beside <paramref name="path"/>, flushes it to disk, then renames it over <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string tmp = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Writes text atomically.</summary>
    public static void WriteText(string path, string text) =>
        Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// Writes <paramref name="value"/> as JSON with <paramref name="options"/>, ending with a newline as a text file does,
    /// atomically: every JSON file the library writes goes through here, so they all end the same way.
    /// </summary>
    public static void WriteJson<TValue>(string path, TValue value, System.Text.Json.JsonSerializerOptions options) =>
        WriteText(path, JsonText(value, options));

    /// <summary>The text <see cref="WriteJson"/> writes: <paramref name="value"/> as JSON, ending with a newline.</summary>
    public static string JsonText<TValue>(TValue value, System.Text.Json.JsonSerializerOptions options) =>
        System.Text.Json.JsonSerializer.Serialize(value, options) + "\n";
}
