using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ServerlessInference.Engine;
using ServerlessInference.ModelHosting;
using ServerlessInference.Requests;

namespace ServerlessInference.Jobs;

/// <summary>JSON of everything the job side reads back (messages, status, JSONL lines): web defaults (camelCase,
/// case-insensitive names) but numbers must be JSON numbers, because <see cref="JsonSerializerDefaults.Web"/> also
/// reads "0" as 0 and a producer's type error would then go unnoticed.</summary>
public static class JobJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.Strict,
    };
}

/// <summary>One message on <see cref="Options.JobsOptions.Queue"/> (schema in docs/jobs.md): translate input chunk
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
    public string? TargetLanguage { get; init; }

    public static readonly JsonSerializerOptions SerializerOptions = new(JobJson.Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        // Two values for one field: which one a reader takes is not worth guessing.
        AllowDuplicateProperties = false,
    };

    public string ToJson() => JsonSerializer.Serialize(this, SerializerOptions);

    /// <summary>The request this chunk runs: the job's options, as validated at submission, for the chunk's texts.</summary>
    public TranslationRequest Request(IReadOnlyList<string> texts) =>
        new(texts) { Beams = Beams, MaxNewTokens = MaxNewTokens, TargetLanguage = TargetLanguage };

    /// <summary>Parses and checks a message. A rejected message yields no <paramref name="message"/> at all, so
    /// nothing from it (its job id above all) can reach storage; the reason says what is wrong.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out ChunkMessage? message, [NotNullWhen(false)] out string? reason)
    {
        message = null;
        ChunkMessage? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<ChunkMessage>(text, SerializerOptions);
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            reason = $"Not a valid chunk message: {ex.Message}";
            return false;
        }
        reason = parsed switch
        {
            null => "The message is JSON null.",
            { Version: not CurrentVersion } => $"Unsupported message version {parsed.Version}.",
            _ when !JobBlobNames.IsJobId(parsed.JobId) => JobBlobNames.JobIdRule,
            { ChunkCount: < 1 } => "'chunkCount' must be at least 1.",
            // Submission makes at most one chunk per text; a larger count could only leave a job waiting for chunks
            // that never come.
            { ChunkCount: > JobsOptions.MaxItems } => $"'chunkCount' must be at most {JobsOptions.MaxItems}.",
            _ when parsed.Chunk < 0 || parsed.Chunk >= parsed.ChunkCount => "'chunk' must be in [0, chunkCount).",
            { TargetLanguage: { } code } when !TargetLanguageCode.IsValid(code) => $"'targetLanguage' {TargetLanguageCode.Rule}",
            _ => null,
        };
        if (reason is not null)
        {
            return false;
        }

        message = parsed!;
        return true;
    }

    /// <summary>For a malformed message: its job id, if it has exactly one <c>jobId</c> field holding a valid job
    /// id, so the job can be failed with the reason; otherwise null and the message cannot be attributed.</summary>
    public static string? TryReadJobId(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var ids = document.RootElement.EnumerateObject()
                .Where(p => string.Equals(p.Name, "jobId", StringComparison.OrdinalIgnoreCase)).Take(2).ToList();
            return ids is [{ Value.ValueKind: JsonValueKind.String } only] && only.Value.GetString() is var id && JobBlobNames.IsJobId(id)
                ? id
                : null;
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            return null;
        }
    }

    // InvalidOperationException: a string holding an escaped lone surrogate ("\ud800"), which JSON allows and
    // .NET strings cannot be read from. ArgumentException: text that cannot be transcoded to UTF-8.
    private static bool IsUnreadable(Exception ex) => ex is JsonException or InvalidOperationException or ArgumentException;
}

/// <summary>The text of a message on the job queues. host.json sets <c>messageEncoding: none</c>, so the host
/// hands over what producers stored: base64 from the SDK with <c>QueueMessageEncoding.Base64</c>, plain JSON from
/// <c>az storage message put</c>, the portal and this app. Both are read (docs/jobs.md, "Message encoding").</summary>
public static class JobQueueMessage
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Text that is valid base64 of UTF-8 beginning with '{' is decoded; anything else is returned as it
    /// is. Plain JSON is never valid base64 ('{' is not in the alphabet), so no message can be read both ways.</summary>
    public static string Decode(string body)
    {
        var trimmed = body.AsSpan().Trim();
        if (trimmed.IsEmpty || trimmed[0] == '{')
        {
            return body;
        }

        var bytes = new byte[trimmed.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(trimmed, bytes, out var written))
        {
            return body;
        }

        string decoded;
        try
        {
            decoded = StrictUtf8.GetString(bytes, 0, written);
        }
        catch (DecoderFallbackException)
        {
            return body;
        }
        return decoded.AsSpan().TrimStart().StartsWith('{') ? decoded : body;
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
public sealed record JobItem(string Id, string Text)
{
    /// <summary>One <c>{"id","text"}</c> line, read as the HTTP API reads bodies: strings with an escaped lone
    /// surrogate become U+FFFD, a field given twice is malformed, other fields are ignored. Null when the line is
    /// not such an object. Every path a job's input takes (input blob at submit, input chunk at processing) reads
    /// its lines here.</summary>
    public static JobItem? Parse(string line)
    {
        try
        {
            using var document = JsonRequest.Parse(line);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                   && root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                   && root.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
                ? new JobItem(JsonRequest.GetString(id), JsonRequest.GetString(text))
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

public sealed record JobResultItem(string Id, string Text, int InputTokens, int OutputTokens);
