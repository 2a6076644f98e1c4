using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Functions;

/// <summary>HTTP front end ("Http" section).</summary>
public sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>Kestrel's default limit on request bodies (the app sets its own, <see cref="MaxDrainedBodyBytes"/>).</summary>
    public const int KestrelDefaultMaxBodyBytes = 30_000_000;

    /// <summary>The Functions host refuses bodies above this many bytes itself (its FUNCTIONS_REQUEST_BODY_SIZE_LIMIT
    /// default) before the worker sees them; a larger app limit would never be reached, so the setting is capped.</summary>
    public const int HostDefaultMaxBodyBytes = 104_857_600;

    /// <summary>What the worker's Kestrel accepts: a body over the app's limit is read to its end and dropped before
    /// the 413 goes out (the host's proxy must finish sending it, or its client gets an empty 500), so Kestrel must
    /// not cut it off first. Above what the host forwards by default.</summary>
    public const long MaxDrainedBodyBytes = 128L * 1024 * 1024;

    /// <summary>Largest request body any HTTP function reads (413 above), checked against Content-Length before
    /// reading and counted while reading when there is none.</summary>
    [Range(1024, HostDefaultMaxBodyBytes)]
    public int MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;
}
