using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Descent.Playground;

/// <summary>How many training steps to take.</summary>
public sealed record StepRequest(int Steps);

/// <summary>
/// The playground's web server: the page (served from resources compiled into this assembly, so no
/// file on disk is ever read and nothing comes from the internet) and its JSON API. Binds to the
/// loopback address unless told otherwise, answers only to the names it is bound to, refuses
/// state-changing requests from other origins, and forbids inline script in the page.
/// </summary>
public static class Server
{
    /// <summary>
    /// The page's Content-Security-Policy: scripts, styles and requests only from this server, no inline
    /// script or style, no plugins, no framing; data that reaches the page can never run as script.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>Managed heap the playground process is held to: the sessions' budget and room for concurrent requests.</summary>
    public const long HeapLimitBytes = 768L << 20;

    /// <summary>
    /// Requests computing at once (surfaces, trajectories, training), so parallel requests cannot stack up work and
    /// memory beyond what the per-request caps allow: more wait for a free slot up to <see cref="QueueWait"/>, then get a 503.
    /// </summary>
    public static readonly int MaxConcurrentRequests = Math.Max(4, 2 * Environment.ProcessorCount);

    /// <summary>How long a request waits for a free slot among the <see cref="MaxConcurrentRequests"/>.</summary>
    public static readonly TimeSpan QueueWait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Builds the server on <paramref name="address"/>:<paramref name="port"/> (port 0 picks a free one). Nothing else
    /// configures it: no <c>appsettings.json</c> of the working directory, no <c>ASPNETCORE_</c> or <c>DOTNET_</c>
    /// variables (a <c>Kestrel</c> section there would add endpoints beside this one), and always the production
    /// environment (no developer exception page).
    /// </summary>
    /// <param name="address">The address to listen on.</param>
    /// <param name="port">The port (0 for a free one).</param>
    /// <param name="concurrentRequests">Requests computing at once; default <see cref="MaxConcurrentRequests"/>.</param>
    /// <param name="queueWait">How long a request waits for a slot; default <see cref="QueueWait"/>.</param>
    public static WebApplication Build(IPAddress address, int port, int? concurrentRequests = null, TimeSpan? queueWait = null)
    {
        var computing = new SemaphoreSlim(concurrentRequests ?? MaxConcurrentRequests);
        var wait = queueWait ?? QueueWait;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, port);
            k.Limits.MaxRequestBodySize = Limits.MaxBodyBytes;
        });
        builder.Services.AddSingleton(_ => new TrainingSessions());
        builder.Services.AddSingleton(_ => new Compaction(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)));
        var app = builder.Build();
        var sessions = app.Services.GetRequiredService<TrainingSessions>();
        var compaction = app.Services.GetRequiredService<Compaction>();
        sessions.Released += compaction.Released;
        var hosts = new HostCheck(address);
        app.Use(async (http, next) =>
        {
            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            if (http.Request.Path.StartsWithSegments("/api")) headers.CacheControl = "no-store";
            if (hosts.Refusal(http.Request, http.Connection.LocalPort) is var (status, refusal))
            {
                await Error(refusal, status: status).ExecuteAsync(http);
                return;
            }
            compaction.Begin();
            try { await next(http); }
            finally { compaction.End(); }
        });
        foreach (var (file, type) in new[] { ("index.html", "text/html; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("style.css", "text/css; charset=utf-8") })
        {
            byte[] content = Resource(file);
            app.MapGet("/" + file, () => Results.Bytes(content, type));
            if (file == "index.html") app.MapGet("/", () => Results.Bytes(content, type));
        }
        app.MapGet("/api/landscapes", () => Results.Json(Api.Landscapes(), Api.Json));
        app.MapGet("/api/optimizers", () => Results.Json(Api.OptimizerCatalog(), Api.Json));
        app.MapGet("/api/limits", () => Results.Json(Api.LimitsSummary(), Api.Json));
        app.MapPost("/api/surface", (Delegate)((HttpContext http) => Handle<SurfaceRequest>(computing, wait, http, (r, _) => Api.Surface(r))));
        app.MapPost("/api/trajectory", (Delegate)((HttpContext http) => Handle<TrajectoryRequest>(computing, wait, http, Api.Trajectories)));
        app.MapPost("/api/train", (Delegate)((HttpContext http) => Handle<TrainStartRequest>(computing, wait, http, (r, _) => sessions.Start(r))));
        app.MapPost("/api/train/{id}/step", (HttpContext http, string id) => Handle<StepRequest>(computing, wait, http, (r, cancel) => sessions.Step(id, r.Steps, cancel)));
        app.MapDelete("/api/train/{id}", (string id) => sessions.Stop(id) ? Results.NoContent() : Results.NotFound());
        // The page ends its session as it goes away with navigator.sendBeacon, which can only POST.
        app.MapPost("/api/train/{id}/stop", (string id) => sessions.Stop(id) ? Results.NoContent() : Results.NotFound());
        return app;
    }

    /// <summary>The address the server listens on, once started; refuses to go on if it listens on any other.</summary>
    public static string Url(WebApplication app) => app.Urls.Count == 1 ? app.Urls.First()
        : throw new InvalidOperationException($"The playground listens on {string.Join(", ", app.Urls)}, not only on the one address it was given; stop it and check the environment.");

    /// <summary>
    /// Reads the request, then computes it in one of the slots of <paramref name="computing"/> (waiting up to
    /// <paramref name="wait"/> for one): a body still arriving, however slowly, holds no slot.
    /// </summary>
    private static async Task<IResult> Handle<T>(SemaphoreSlim computing, TimeSpan wait, HttpContext http, Func<T, CancellationToken, object> work)
    {
        T? request;
        try
        {
            if (http.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
                return Error("send the request as JSON (Content-Type: application/json).");
            request = await JsonSerializer.DeserializeAsync<T>(http.Request.Body, Api.Json, http.RequestAborted);
            if (request is null) return Error("the request body is empty; send a JSON object.");
            if (!await computing.WaitAsync(wait, http.RequestAborted))
            {
                http.Response.Headers.RetryAfter = "1";
                return Error("the server is computing as many requests as it takes at once; try again in a moment.", status: StatusCodes.Status503ServiceUnavailable);
            }
        }
        catch (JsonException e)
        {
            return Error(JsonError(e, typeof(T)));
        }
        catch (BadHttpRequestException e)
        {
            return Error(e.Message, status: e.StatusCode);
        }
        catch (OperationCanceledException)
        {
            return Results.StatusCode(499);
        }
        try
        {
            var result = await Task.Run(() => work(request, http.RequestAborted), http.RequestAborted);
            return Results.Json(result, Api.Json);
        }
        catch (BadRequest e)
        {
            return Error(e.Message, e.Position);
        }
        catch (OperationCanceledException)
        {
            return Results.StatusCode(499);
        }
        catch (Exception e)
        {
            // A fault of the server, not of the request: said briefly to the page, in full on the console.
            Console.Error.WriteLine($"descent playground: {http.Request.Path}: {e}");
            return Error($"internal error ({e.GetType().Name}); the server's console has the details.", status: StatusCodes.Status500InternalServerError);
        }
        finally
        {
            computing.Release();
        }
    }

    /// <summary>
    /// A body the JSON reader refused, in the API's words: text that is not JSON as malformed, and a value of the wrong
    /// kind as <c>FIELD must be KIND</c> (<c>steps must be a whole number</c>), found from the error's path in the
    /// request type <paramref name="request"/>; the serializer's own message names .NET types, which a client has no use for.
    /// </summary>
    internal static string JsonError(JsonException e, Type request)
    {
        // The reader's syntax errors come wrapped, with the reader's exception inside; a conversion's has none or another.
        if (e.InnerException is JsonException || e.Path is not { Length: > 0 } path) return $"malformed JSON: {e.Message}";
        var (field, type) = Field(path, request);
        if (field.Length == 0) return "the request must be a JSON object.";
        return type is null ? $"{field} has a value of the wrong kind." : $"{field} must be {Kind(type)}.";
    }

    /// <summary>
    /// The field a JSON path such as <c>$.optimizers[0].label</c> or <c>$.start[1]</c> names, as the path writes it less the
    /// <c>$.</c>, and the .NET type it is read into (null if the path leaves the request type).
    /// </summary>
    private static (string Field, Type? Type) Field(string path, Type request)
    {
        Type? type = request;
        var field = new System.Text.StringBuilder();
        var parts = System.Text.RegularExpressions.Regex.Matches(path, @"\.([^.\[]+)|\['((?:[^']|'')*)'\]|\[(\d+)\]");
        foreach (System.Text.RegularExpressions.Match m in parts)
        {
            if (m.Groups[3].Success)
            {
                field.Append('[').Append(m.Groups[3].Value).Append(']');
                type = type is null ? null : type.IsArray ? type.GetElementType() : null;
                continue;
            }
            string name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            if (field.Length > 0) field.Append('.');
            field.Append(name);
            type = type is null || type.IsArray || type.IsPrimitive || type == typeof(string) ? null
                : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? type.GetGenericArguments()[1]
                : type.GetProperty(name, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase)?.PropertyType;
        }
        return (field.ToString(), type);
    }

    /// <summary>What a value of <paramref name="type"/> is, in JSON's words (<paramref name="many"/>: what the values of a list are).</summary>
    private static string Kind(Type type, bool many = false)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsArray) return "a list of " + Kind(type.GetElementType()!, many: true);
        // System.Text.Json reads whole numbers written without a fraction or an exponent, in the type's range.
        if (type == typeof(int)) return Whole(int.MinValue, int.MaxValue, many);
        if (type == typeof(long)) return Whole(long.MinValue, long.MaxValue, many);
        if (type == typeof(ulong)) return Whole(0, ulong.MaxValue, many);
        if (type == typeof(double)) return many ? "finite numbers" : "a finite number";
        if (type == typeof(bool)) return many ? "true or false values" : "true or false";
        if (type == typeof(string)) return many ? "strings" : "a string";
        return many ? "JSON objects" : "a JSON object";
    }

    private static string Whole(System.Numerics.BigInteger from, System.Numerics.BigInteger to, bool many) => many
        ? $"whole numbers from {from} to {to}, without fractions or exponents"
        : $"a whole number from {from} to {to}, without a fraction or exponent";

    private static IResult Error(string message, int? position = null, int status = 400) =>
        Results.Json(new { error = message, position }, Api.Json, statusCode: status);

    private static byte[] Resource(string file)
    {
        using var stream = typeof(Server).Assembly.GetManifestResourceStream("Descent.Playground.wwwroot." + file)
            ?? throw new InvalidOperationException($"The page file {file} is missing from the build.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
