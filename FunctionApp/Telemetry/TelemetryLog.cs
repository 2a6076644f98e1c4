using Microsoft.Extensions.Logging;

namespace ServerlessInference.Telemetry;

/// <summary>The structured line beside each measurement of <see cref="InferenceTelemetry"/>, EventIds 4000-4999. Ids
/// are stable, so alerts and queries can key on them instead of on the wording; the templates and their property
/// names ({Model}, {JobId}, {DurationMs}) are read by tests and log queries too.</summary>
internal static partial class TelemetryLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "Downloaded model {Model}: {Files} files, {Bytes} bytes in {DurationMs:F0} ms")]
    public static partial void ModelDownloaded(this ILogger logger, string model, int files, long bytes, double durationMs);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Model {Model} found in local cache {Directory}")]
    public static partial void ModelCacheHit(this ILogger logger, string model, string directory);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information,
        Message = "Loaded model {Model} in {DurationMs:F0} ms ({SessionMs:F0} ms creating sessions)")]
    public static partial void ModelLoaded(this ILogger logger, string model, double durationMs, double sessionMs);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information,
        Message = "Translated {Texts} texts with {Model} ({Source}): {InputTokens} -> {OutputTokens} tokens in {DurationMs:F0} ms")]
    public static partial void Translated(this ILogger logger, int texts, string model, string source, int inputTokens,
        int outputTokens, double durationMs);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Translation with {Model} ({Source}) ended {Outcome}: {Reason}")]
    public static partial void TranslationFailed(this ILogger logger, string model, string source, string outcome, string reason);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information,
        Message = "Job {JobId} chunk {Chunk}: {Items} items, {Outcome} after {DurationMs:F0} ms")]
    public static partial void JobChunkProcessed(this ILogger logger, string jobId, int chunk, int items, string outcome,
        double durationMs);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Warning, Message = "Poison job message ({PoisonReason}): {Reason}")]
    public static partial void PoisonMessage(this ILogger logger, string poisonReason, string reason);
}
