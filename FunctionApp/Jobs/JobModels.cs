using System.Text.Json;
using System.Text.Json.Serialization;

namespace ServerlessInference.Jobs;

/// <summary>One message on <c>translation-jobs</c> (schema in docs/jobs.md): translate input chunk
/// <c>{jobId}/input/{chunk}.jsonl</c> of the jobs container into <c>{jobId}/output/{chunk}.jsonl</c>.</summary>
public sealed record ChunkMessage
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;
    public required string JobId { get; init; }
    public required int Chunk { get; init; }
    public required int ChunkCount { get; init; }
    public string? Model { get; init; }
    public int? Beams { get; init; }
    public int? MaxNewTokens { get; init; }

    public static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public string ToJson() => JsonSerializer.Serialize(this, SerializerOptions);

    /// <summary>Parses and checks a message; the reason says what is wrong with a malformed one.</summary>
    public static bool TryParse(string text, out ChunkMessage? message, out string? reason)
    {
        message = null;
        try
        {
            message = JsonSerializer.Deserialize<ChunkMessage>(text, SerializerOptions);
        }
        catch (JsonException ex)
        {
            reason = $"Not a valid chunk message: {ex.Message}";
            return false;
        }
        reason = message switch
        {
            null => "The message is JSON null.",
            { Version: not CurrentVersion } => $"Unsupported message version {message.Version}.",
            _ when !JobBlobNames.IsJobId(message.JobId) => JobBlobNames.JobIdRule,
            { ChunkCount: < 1 } => "'chunkCount' must be at least 1.",
            _ when message.Chunk < 0 || message.Chunk >= message.ChunkCount => "'chunk' must be in [0, chunkCount).",
            _ => null,
        };
        return reason is null;
    }

    /// <summary>Best effort for poison messages: the job id, even when the rest of the message is broken.</summary>
    public static string? TryReadJobId(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("jobId", out var id) && id.ValueKind == JsonValueKind.String
                   && JobBlobNames.IsJobId(id.GetString())
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

public static class JobStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
}

/// <summary>The job status blob (<c>{jobId}/status.json</c>), updated with ETag optimistic concurrency.</summary>
public sealed class JobStatus
{
    public required string JobId { get; set; }
    public string State { get; set; } = JobStates.Queued;
    public string? Model { get; set; }
    public int ChunksTotal { get; set; }
    public int? Items { get; set; }
    public SortedSet<int> CompletedChunks { get; set; } = [];
    public string? ResultBlob { get; set; }
    public List<JobError> Errors { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed record JobError(int? Chunk, string Message, DateTimeOffset At);

/// <summary>One line of an input (<c>{"id","text"}</c>) or output (plus token counts) JSONL file.</summary>
public sealed record JobItem(string Id, string Text);

public sealed record JobResultItem(string Id, string Text, int InputTokens, int OutputTokens);
