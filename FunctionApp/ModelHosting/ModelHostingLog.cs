using Microsoft.Extensions.Logging;

namespace ServerlessInference.ModelHosting;

/// <summary>Model hosting's log lines, EventIds 1000-1999. Ids are stable, so alerts and queries can key on them
/// instead of on the wording; the templates and their property names are read by tests and log queries too.</summary>
internal static partial class ModelHostingLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Loading model {Model} failed ({FailureKind}): {Reason}")]
    public static partial void ModelLoadStorageUnavailable(this ILogger logger, string model, string failureKind, string reason);

    // The stack of an outage's failures, kept below the default level because each retry repeats it.
    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Loading model {Model} failed")]
    public static partial void ModelLoadStorageUnavailableDetail(this ILogger logger, Exception exception, string model);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Loading model {Model} failed ({FailureKind}): {Reason}")]
    public static partial void ModelLoadFailed(this ILogger logger, Exception exception, string model, string failureKind,
        string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Evicting model {Model}: more than {MaxLoaded} models loaded")]
    public static partial void ModelEvicted(this ILogger logger, string model, int maxLoaded);

    // Once per load: the model runs, but not quite as its card says (a sampling or length setting left out).
    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning,
        Message = "Model {Model}: generation_config.json settings ignored (not supported by the engine): {Settings}")]
    public static partial void GenerationSettingsIgnored(this ILogger logger, string model, string settings);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Could not delete model cache folder {Directory}")]
    public static partial void CacheFolderNotDeleted(this ILogger logger, Exception exception, string directory);

    // The model loaded, but not as usual: an optimisation level lowered to get a session, or a quantisation whose
    // output depends on batch-mates (its sentences then run one at a time, which costs throughput).
    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Model {Model} loaded with a caveat: {Note}")]
    public static partial void ModelLoadNote(this ILogger logger, string model, string note);
}
