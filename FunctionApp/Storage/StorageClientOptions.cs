using System.ComponentModel.DataAnnotations;

namespace ServerlessInference.Storage;

/// <summary>How storage clients retry and time out ("StorageClients" section), for every connection the app opens. The
/// Azure SDK's defaults (3 retries, 0.8 s exponential back-off, 100 s network timeout) made a call against an
/// unreachable account take ~23 s before failing; an HTTP caller should get its 503 quickly and retry itself.</summary>
public sealed class StorageClientOptions
{
    public const string Section = "StorageClients";

    /// <summary>Retries after the first try (exponential back-off from 0.5 s, at most 4 s apart).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Longest wait for one network operation (a response, or one read of a download) before the try fails.</summary>
    [Range(1, 300)]
    public int NetworkTimeoutSeconds { get; set; } = 20;
}
