using Microsoft.Extensions.Logging;

namespace ServerlessInference.Functions;

/// <summary>The HTTP functions' log lines, EventIds 3000-3999. Ids are stable, so alerts and queries can key on them
/// instead of on the wording; the end-to-end outage test reads the storage line's text.</summary>
internal static partial class HttpLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Storage unavailable; answered 503: {Reason}")]
    public static partial void StorageUnavailable(this ILogger logger, string? reason);

    // The stack of an outage's failures, kept below the default level because every failed call repeats it.
    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Storage unavailable")]
    public static partial void StorageUnavailableDetail(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Unhandled error")]
    public static partial void UnhandledError(this ILogger logger, Exception? exception);
}
