using System.Net;
using System.Net.NetworkInformation;
using Microsoft.AspNetCore.Http;

namespace Descent.Playground;

/// <summary>
/// Defence against DNS rebinding and cross-site requests. A page on another site can make a browser
/// send requests to 127.0.0.1 under its own name (rebinding evil.example to 127.0.0.1), so every
/// request must name this server in its <c>Host</c> header (the loopback names, or the address it is
/// bound to), and a request that changes state (POST, DELETE) coming from a browser page must come
/// from this server's own origin.
/// </summary>
public sealed class HostCheck
{
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly bool _wildcard;

    /// <summary>Accepts the loopback names and, when bound elsewhere, that address (every local address for a wildcard bind).</summary>
    public HostCheck(IPAddress bound)
    {
        foreach (var name in new[] { "127.0.0.1", "localhost", "[::1]" }) _names.Add(name);
        _wildcard = bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any);
        if (_wildcard)
        {
            _names.Add(Dns.GetHostName());
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                foreach (var a in nic.GetIPProperties().UnicastAddresses) _names.Add(Literal(a.Address));
        }
        else
        {
            _names.Add(Literal(bound));
        }
    }

    /// <summary>The status and the reason to refuse the request with, or null when it may go on.</summary>
    public (int Status, string Message)? Refusal(HttpRequest request, int port)
    {
        var host = request.Host;
        if (!host.HasValue || !_names.Contains(host.Host) || (host.Port ?? 80) != port)
            return (StatusCodes.Status400BadRequest, _wildcard
                // Bound to every address: the list would tell any client on the network this machine's name and addresses.
                ? $"this server answers only to this machine's own addresses on port {port}, not to Host '{host}'."
                : $"this server answers only to {string.Join(", ", _names.Select(n => $"{n}:{port}"))}, not to Host '{host}'; open the page by one of those addresses.");
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) return null;
        // Browsers mark a request another site's page makes (Fetch Metadata); refused whatever its Origin says.
        if (string.Equals(request.Headers["Sec-Fetch-Site"], "cross-site", StringComparison.OrdinalIgnoreCase))
            return (StatusCodes.Status403Forbidden, "requests that change state must come from this server's own page, not from another site.");
        // Browsers send Origin with every POST and DELETE; tools such as curl send none and are not a cross-site threat.
        string? origin = request.Headers.Origin;
        if (origin is null) return null;
        if (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme == "http" && _names.Contains(uri.Host) && uri.Port == port)
            return null;
        return (StatusCodes.Status403Forbidden, $"requests that change state must come from this server's own page, not from origin '{origin}'.");
    }

    private static string Literal(IPAddress a) => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{a}]" : a.ToString();
}
