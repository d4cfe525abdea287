using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Descent.Playground;

/// <summary>How many training steps to take.</summary>
public sealed record StepRequest(int Steps);

/// <summary>
/// The playground's web server: the page (served from resources compiled into this assembly, so no
/// file on disk is ever read and nothing comes from the internet) and its JSON API. Binds to the
/// loopback address unless told otherwise.
/// </summary>
public static class Server
{
    /// <summary>Builds the server on <paramref name="address"/>:<paramref name="port"/> (port 0 picks a free one).</summary>
    public static WebApplication Build(IPAddress address, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, port);
            k.Limits.MaxRequestBodySize = Limits.MaxBodyBytes;
        });
        var app = builder.Build();
        foreach (var (file, type) in new[] { ("index.html", "text/html; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("style.css", "text/css; charset=utf-8") })
        {
            byte[] content = Resource(file);
            app.MapGet(file == "index.html" ? "/" : "/" + file, () => Results.Bytes(content, type));
        }
        app.MapGet("/api/landscapes", () => Results.Json(Api.Landscapes(), Api.Json));
        app.MapGet("/api/optimizers", () => Results.Json(Api.OptimizerCatalog(), Api.Json));
        app.MapPost("/api/surface", (Delegate)((HttpContext http) => Handle<SurfaceRequest>(http, (r, _) => Api.Surface(r))));
        app.MapPost("/api/trajectory", (Delegate)((HttpContext http) => Handle<TrajectoryRequest>(http, Api.Trajectories)));
        var sessions = new TrainingSessions();
        app.MapPost("/api/train", (Delegate)((HttpContext http) => Handle<TrainStartRequest>(http, (r, _) => sessions.Start(r))));
        app.MapPost("/api/train/{id}/step", (HttpContext http, string id) => Handle<StepRequest>(http, (r, cancel) => sessions.Step(id, r.Steps, cancel)));
        app.MapDelete("/api/train/{id}", (string id) => sessions.Stop(id) ? Results.NoContent() : Results.NotFound());
        return app;
    }

    /// <summary>The address the server listens on, once started.</summary>
    public static string Url(WebApplication app) => app.Urls.First();

    private static async Task<IResult> Handle<T>(HttpContext http, Func<T, CancellationToken, object> work)
    {
        T? request;
        try
        {
            if (http.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
                return Error("send the request as JSON (Content-Type: application/json).");
            request = await JsonSerializer.DeserializeAsync<T>(http.Request.Body, Api.Json, http.RequestAborted);
            if (request is null) return Error("the request body is empty; send a JSON object.");
        }
        catch (JsonException e)
        {
            return Error($"malformed JSON: {e.Message}");
        }
        catch (BadHttpRequestException e)
        {
            return Error(e.Message, status: e.StatusCode);
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
    }

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
