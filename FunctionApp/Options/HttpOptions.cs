using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Options;

/// <summary>HTTP front end ("Http" section).</summary>
public sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>Kestrel in the isolated worker rejects bodies above this many bytes by default, before the app sees
    /// them; a larger app limit would never be reached, so the setting is capped there.</summary>
    public const int KestrelDefaultMaxBodyBytes = 30_000_000;

    /// <summary>Largest request body any HTTP function reads (413 above), checked against Content-Length before
    /// reading and counted while reading when there is none. Kestrel is given the same limit.</summary>
    [Range(1024, KestrelDefaultMaxBodyBytes)]
    public int MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;
}
