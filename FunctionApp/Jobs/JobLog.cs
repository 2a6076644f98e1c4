using Microsoft.Extensions.Logging;

namespace ServerlessInference.Jobs;

/// <summary>Batch jobs' log lines, EventIds 2000-2999. Ids are stable, so alerts and queries can key on them instead
/// of on the wording; the templates and their property names ({JobId}, {Chunk}) are read by tests and log queries
/// too.</summary>
internal static partial class JobLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "Submitted job {JobId}: {Items} items in {Chunks} chunks for {Model}")]
    public static partial void JobSubmitted(this ILogger logger, string jobId, int items, int chunks, string model);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Malformed job message moved to the poison queue: {Reason}")]
    public static partial void MalformedMessagePoisoned(this ILogger logger, string? reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Job {JobId} is {State}; chunk {Chunk} skipped")]
    public static partial void ChunkSkipped(this ILogger logger, string jobId, string state, int chunk);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning,
        Message = "Job {JobId} chunk {Chunk} attempt {Attempt} failed; the queue delivers it again: {Reason}")]
    public static partial void ChunkAttemptFailed(this ILogger logger, string jobId, int chunk, long attempt, string reason);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information,
        Message = "Job {JobId} chunk {Chunk} deferred for {RetryAfterSeconds:F0} s: the instance is busy")]
    public static partial void ChunkDeferred(this ILogger logger, string jobId, int chunk, double retryAfterSeconds);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning,
        Message = "Could not record attempt {Attempt} of job {JobId} chunk {Chunk} ({Why}): {Error}")]
    public static partial void AttemptNotRecorded(this ILogger logger, long attempt, string jobId, int chunk, string why, string error);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Poison message dropped: it names no valid job id ({Reason})")]
    public static partial void PoisonMessageDropped(this ILogger logger, string? reason);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "Job {JobId} failed: chunk message poisoned ({Reason})")]
    public static partial void JobPoisoned(this ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Job {JobId} completed: {Chunks} chunks assembled")]
    public static partial void JobCompleted(this ILogger logger, string jobId, int chunks);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Job {JobId} failed at chunk {Chunk}: {Reason}")]
    public static partial void JobFailed(this ILogger logger, string jobId, int chunk, string reason);
}
