using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.ModelHosting;
using ServerlessInference.Requests;
using ServerlessInference.Serving;
using ServerlessInference.Storage;
using ServerlessInference.Telemetry;

namespace ServerlessInference.Jobs;

public enum ChunkOutcome { Translated, Skipped, Malformed, Failed, Deferred }

/// <summary>Batch jobs: split input into chunk blobs and messages, translate one chunk per message, assemble the
/// result when the last chunk lands, and turn poison messages into a failed job.</summary>
public sealed class JobService(JobStore store, TranslationService translation,
    IOptions<JobsOptions> options, InferenceTelemetry telemetry, TimeProvider time, ILogger<JobService> logger)
{
    private static readonly JsonSerializerOptions Json = JobJson.Options;
    private const int SubmitParallelism = 16;
    private const int MaxReasonLength = 500;

    /// <summary>An input blob is read whole into memory by the submit request, so it is bounded.</summary>
    public const long MaxInputBlobBytes = 128L * 1024 * 1024;

    /// <summary>Stores the input, writes the status and enqueues one message per chunk.</summary>
    /// <exception cref="UnknownModelException"/>
    /// <exception cref="ModelUnavailableException"/>
    /// <exception cref="InvalidRequestException">An option is out of the model's range.</exception>
    public async Task<JobStatus> SubmitAsync(IReadOnlyList<JobItem> items, string? model, TranslationRequest generation,
        CancellationToken cancellationToken)
    {
        // Unknown models and options the model cannot honour fail now, not in a queue an hour later.
        (var modelName, generation) = await translation.ValidateAsync(model, generation, cancellationToken);
        await store.EnsureCreatedAsync(cancellationToken);
        var jobId = JobBlobNames.NewJobId();
        var chunks = SplitIntoChunks(items, options.Value.ChunkSize, options.Value.ChunkCharacters);
        // Parallel: a large job has thousands of chunks and the HTTP front end gives up after 230 s.
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = SubmitParallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, chunks.Count), parallel,
            async (i, ct) => await store.WriteLinesAsync(JobStore.InputBlob(jobId, i), chunks[i], ct));
        var status = new JobStatus { JobId = jobId, Model = modelName, ChunksTotal = chunks.Count, Items = items.Count };
        // Inputs and status exist before any message does, so no chunk can run ahead of its data.
        await store.CreateStatusAsync(status, cancellationToken);
        await Parallel.ForEachAsync(Enumerable.Range(0, chunks.Count), parallel, async (i, ct) =>
        {
            var message = new ChunkMessage
            {
                JobId = jobId,
                Chunk = i,
                ChunkCount = chunks.Count,
                Model = modelName,
                Beams = generation.Beams,
                MaxNewTokens = generation.MaxNewTokens,
                TargetLanguage = generation.TargetLanguage,
            };
            await store.Queue.SendMessageAsync(message.ToJson(), ct);
        });
        logger.JobSubmitted(jobId, items.Count, chunks.Count, modelName);
        return status;
    }

    /// <summary>Consecutive chunks sized by work, so that each fits well inside the host's functionTimeout: a chunk
    /// closes before a text that would take it past <paramref name="maxCharacters"/>, or at
    /// <paramref name="maxTexts"/> texts. A text longer than the budget gets a chunk of its own.</summary>
    public static List<JobItem[]> SplitIntoChunks(IReadOnlyList<JobItem> items, int maxTexts, int maxCharacters)
    {
        var chunks = new List<JobItem[]>();
        var current = new List<JobItem>();
        long characters = 0;
        foreach (var item in items)
        {
            if (current.Count > 0 && (current.Count == maxTexts || characters + item.Text.Length > maxCharacters))
            {
                chunks.Add([.. current]);
                current.Clear();
                characters = 0;
            }
            current.Add(item);
            characters += item.Text.Length;
        }
        if (current.Count > 0)
        {
            chunks.Add([.. current]);
        }

        return chunks;
    }

    /// <summary>Reads a JSONL blob of <c>{"id","text"}</c> lines from the jobs container.</summary>
    /// <exception cref="FormatException">The name breaks <see cref="JobBlobNames"/>' rule, the blob is missing,
    /// too large or unreadable for a reason the caller controls, or a line is malformed; the message says where.</exception>
    public async Task<List<JobItem>> ReadInputBlobAsync(string blobName, int maxTextCharacters, CancellationToken cancellationToken)
    {
        if (!JobBlobNames.IsInputBlob(blobName))
        {
            throw new FormatException(JobBlobNames.InputBlobRule);
        }

        var blob = store.Container.GetBlobClient(blobName);
        BinaryData content;
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            if (properties.ContentLength > MaxInputBlobBytes)
            {
                throw new FormatException(
                    $"Input blob '{blobName}' has {properties.ContentLength} bytes; the limit is {MaxInputBlobBytes}.");
            }

            content = (await blob.DownloadContentAsync(new BlobDownloadOptions
            {
                Conditions = new BlobRequestConditions { IfMatch = properties.ETag },
            }, cancellationToken)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new FormatException($"Input blob '{store.Container.Name}/{blobName}' does not exist.");
        }
        catch (RequestFailedException ex) when (!StorageFailures.IsUnavailable(ex))
        {
            // Storage refused this blob for a reason of its own (e.g. it changed while being read): the caller's to fix.
            throw new FormatException($"Input blob '{store.Container.Name}/{blobName}' could not be read: {ex.Status} {ex.ErrorCode}.");
        }
        // As for request bodies: bytes that are not UTF-8 would be read as U+FFFD without a word, changing the text.
        if (!System.Text.Unicode.Utf8.IsValid(content.ToMemory().Span))
        {
            throw new FormatException($"Input blob '{blobName}' is not valid UTF-8.");
        }

        var items = new List<JobItem>();
        var lineNumber = 0;
        foreach (var line in content.ToString().Split('\n'))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var item = ParseInputLine(line) ?? throw new FormatException(
                $"Line {lineNumber} of '{blobName}' must be {{\"id\": \"...\", \"text\": \"...\"}} with a non-empty text.");
            if (item.Text.Length > maxTextCharacters)
            {
                throw new FormatException(
                    $"Line {lineNumber} of '{blobName}': the text has {item.Text.Length} characters; " +
                    $"the limit per text is {maxTextCharacters}.");
            }

            items.Add(item);
            if (items.Count > JobsOptions.MaxItems)
            {
                throw new FormatException($"'{blobName}' has more than {JobsOptions.MaxItems} items.");
            }
        }
        if (items.Count == 0)
        {
            throw new FormatException($"'{blobName}' holds no items.");
        }

        return items;
    }

    /// <summary>An input line with a non-blank text (<see cref="JobItem.Parse"/>); null otherwise.</summary>
    private static JobItem? ParseInputLine(string line) =>
        JobItem.Parse(line) is { } item && !TextChecks.IsBlank(item.Text) ? item : null;

    /// <exception cref="ArgumentException">Not a job id of the app's format; never reaches storage.</exception>
    public Task<JobStatus?> GetAsync(string jobId, CancellationToken cancellationToken) =>
        JobBlobNames.IsJobId(jobId)
            ? store.GetStatusAsync(jobId, cancellationToken)
            : throw new ArgumentException(JobBlobNames.JobIdRule);

    /// <summary>Translates one chunk. Safe to run twice for one message: outputs are overwritten and the chunk is
    /// a set member in the status. Transient failures throw, so the queue redelivers and finally poisons the
    /// message; permanent ones (malformed message, bad input) fail fast instead of burning retries. Every attempt
    /// that throws first records why on the job, so the poison handler can cite the last reason. A chunk that finds
    /// the instance busy is not an attempt: it is put back on the queue, hidden for the backlog's Retry-After, and
    /// the invocation returns normally so the host deletes this delivery without counting it toward poison.</summary>
    /// <param name="messageBody">The message as the host hands it over (base64 or plain JSON).</param>
    /// <param name="insertedOn">When the message was queued (the host's <c>QueueMessage.InsertedOn</c>), for the
    /// backlog-age measurement; null when unknown.</param>
    public async Task<ChunkOutcome> ProcessChunkAsync(string messageBody, long dequeueCount, CancellationToken cancellationToken,
        DateTimeOffset? insertedOn = null)
    {
        telemetry.JobChunkStarted(insertedOn, time.GetUtcNow());
        if (!ChunkMessage.TryParse(JobQueueMessage.Decode(messageBody), out var m, out var reason))
        {
            // Counted as poison once, by the poison handler that reads it from there.
            logger.MalformedMessagePoisoned(reason);
            await store.PoisonQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            // As received, so the poison handler reads it exactly as it would have been read here.
            await store.PoisonQueue.SendMessageAsync(messageBody, cancellationToken);
            return ChunkOutcome.Malformed;
        }

        // Per-job detail belongs in the logs (metrics carry no job id): every line of this chunk names it.
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["JobId"] = m.JobId, ["Chunk"] = m.Chunk });
        var stopwatch = Stopwatch.StartNew();
        var itemCount = 0;
        try
        {
            var current = await store.GetStatusAsync(m.JobId, cancellationToken);
            if (current is { State: JobStates.Failed or JobStates.Completed })
            {
                logger.ChunkSkipped(m.JobId, current.State, m.Chunk);
                telemetry.JobChunkProcessed(m.JobId, m.Chunk, 0, stopwatch.Elapsed, "skipped");
                return ChunkOutcome.Skipped;
            }

            // The job's own status is the truth about its size; a message that disagrees would make assembly read
            // chunks that do not exist (or miss some), so it cannot be followed. A job submitted straight to the
            // queue has no status until its first chunk lands: its input chunks are the truth then.
            var mismatch = current is not null
                ? current.ChunksTotal != m.ChunkCount ? $"the job has {current.ChunksTotal} chunks" : null
                : await InputChunkMismatchAsync(m, cancellationToken);
            if (mismatch is not null)
            {
                await FailAsync(m, $"Malformed message: 'chunkCount' is {m.ChunkCount}, but {mismatch}.", cancellationToken);
                telemetry.JobChunkProcessed(m.JobId, m.Chunk, 0, stopwatch.Elapsed, "malformed");
                return ChunkOutcome.Malformed;
            }

            try
            {
                var items = await store.ReadItemsAsync(JobStore.InputBlob(m.JobId, m.Chunk), cancellationToken);
                itemCount = items.Count;
                var outcome = await translation.TranslateAsync(m.Model, m.Request(items.Select(i => i.Text).ToList()), "job",
                    WorkPriority.Background, cancellationToken);
                var results = items.Zip(outcome.Result.Translations,
                    (item, t) => new JobResultItem(item.Id, t.Text, t.InputTokens, t.OutputTokens));
                await store.WriteLinesAsync(JobStore.OutputBlob(m.JobId, m.Chunk), results, cancellationToken);
            }
            catch (ServerBusyException busy)
            {
                await DeferAsync(m, messageBody, busy.RetryAfter, cancellationToken);
                return ChunkOutcome.Deferred;
            }
            catch (Exception ex) when (IsPermanent(ex))
            {
                telemetry.JobChunkProcessed(m.JobId, m.Chunk, itemCount, stopwatch.Elapsed, "failed");
                await FailAsync(m, $"Chunk {m.Chunk}: {Describe(ex)}", cancellationToken);
                return ChunkOutcome.Failed;
            }

            var allDone = false;
            var chunksTotal = m.ChunkCount;
            await store.UpdateStatusAsync(m.JobId, () => NewStatus(m), s =>
            {
                chunksTotal = s.ChunksTotal;
                s.CompletedChunks.Add(m.Chunk);
                s.Errors.RemoveAll(e => e.Chunk == m.Chunk); // an earlier attempt's transient error no longer applies
                if (s.State == JobStates.Queued)
                {
                    s.State = JobStates.Running;
                }

                allDone = s.State == JobStates.Running && s.CompletedChunks.Count == s.ChunksTotal;
                return true;
            }, cancellationToken);
            telemetry.JobChunkProcessed(m.JobId, m.Chunk, itemCount, stopwatch.Elapsed, "translated");

            // Whoever records the last chunk assembles; a redelivery repeating it writes identical bytes.
            if (allDone)
            {
                await AssembleAsync(m, chunksTotal, cancellationToken);
            }

            return ChunkOutcome.Translated;
        }
        catch (Exception ex)
        {
            // Cancellation included: functionTimeout and host shutdown cancel the token, and without a record the
            // poison handler could only say that the chunk failed.
            var why = ex is OperationCanceledException && cancellationToken.IsCancellationRequested
                ? $"cancelled by the host after {stopwatch.Elapsed.TotalSeconds:F0} s (functionTimeout or shutdown)."
                : Describe(ex);
            telemetry.JobChunkProcessed(m.JobId, m.Chunk, itemCount, stopwatch.Elapsed, "retry");
            logger.ChunkAttemptFailed(m.JobId, m.Chunk, dequeueCount, why);
            await RecordAttemptAsync(m, dequeueCount, why);
            throw;
        }
    }

    /// <summary>Sends the message again exactly as received (a copy of validated content, so it parses as this one
    /// did), hidden until <paramref name="retryAfter"/>. If sending fails the exception propagates and this delivery
    /// is retried as usual, so the chunk is never lost; if the host then fails to delete this delivery, the chunk
    /// runs twice, which overwrites its output with the same lines and adds it to the completed set once.</summary>
    private async Task DeferAsync(ChunkMessage m, string messageBody, TimeSpan retryAfter, CancellationToken cancellationToken)
    {
        await store.Queue.SendMessageAsync(messageBody, visibilityTimeout: retryAfter, cancellationToken: cancellationToken);
        logger.ChunkDeferred(m.JobId, m.Chunk, retryAfter.TotalSeconds);
    }

    /// <summary>Keeps the chunk's latest failed attempt on the job. Not cancellable: it runs when the invocation's
    /// token is already cancelled. Best effort: a failure here is logged and the attempt's own exception wins.</summary>
    private async Task RecordAttemptAsync(ChunkMessage m, long dequeueCount, string why)
    {
        try
        {
            await store.UpdateStatusAsync(m.JobId, () => NewStatus(m), s =>
            {
                s.Errors.RemoveAll(e => e.Chunk == m.Chunk);
                s.Errors.Add(new JobError(m.Chunk, $"Attempt {dequeueCount}: {why}", time.GetUtcNow()));
                return true;
            }, CancellationToken.None);
        }
        catch (Exception ex)
        {
            logger.AttemptNotRecorded(dequeueCount, m.JobId, m.Chunk, why, Describe(ex));
        }
    }

    /// <summary>A message the queue gave up on, or a malformed one: mark its job failed with the reason. Never throws
    /// because of the message (a poison queue has no poison queue of its own): one that cannot be attributed to a
    /// valid job id is logged and dropped without any storage call. Storage failures still throw, so the host
    /// retries the update.</summary>
    /// <param name="messageBody">The message as the host hands it over (base64 or plain JSON).</param>
    public async Task HandlePoisonAsync(string messageBody, CancellationToken cancellationToken)
    {
        var text = JobQueueMessage.Decode(messageBody);
        string? jobId;
        if (ChunkMessage.TryParse(text, out var message, out var reason))
        {
            jobId = message.JobId;
        }
        else
        {
            jobId = ChunkMessage.TryReadJobId(text);
        }

        telemetry.PoisonMessage(malformed: reason is not null, reason ?? "retries exhausted");
        if (jobId is null)
        {
            logger.PoisonMessageDropped(reason);
            return;
        }
        var failed = false;
        await store.UpdateStatusAsync(jobId, () => new JobStatus
        {
            JobId = jobId,
            ChunksTotal = message?.ChunkCount ?? 0,
            Model = message?.Model
        },
            s =>
            {
                if (s.State == JobStates.Completed)
                {
                    return false;
                }

                var chunk = message?.Chunk;
                var last = s.Errors.LastOrDefault(e => e.Chunk == chunk);
                var why = reason is not null
                    ? $"Malformed message: {reason}"
                    : $"Chunk {chunk} failed after repeated attempts" + (last is null
                        ? "; no attempt recorded an error, so the worker stopped mid-attempt (process exit or out of memory)."
                        : $"; last error: {last.Message}");
                s.Errors.Add(new JobError(chunk, why, time.GetUtcNow()));
                failed = s.State != JobStates.Failed;
                s.State = JobStates.Failed;
                return true;
            }, cancellationToken);
        if (failed)
        {
            telemetry.JobFinished("failed");
        }

        logger.JobPoisoned(jobId, reason ?? "retries exhausted");
    }

    private async Task AssembleAsync(ChunkMessage m, int chunksTotal, CancellationToken cancellationToken)
    {
        var builder = new StringBuilder();
        for (var chunk = 0; chunk < chunksTotal; chunk++)
        {
            var content = await store.Container.GetBlobClient(JobStore.OutputBlob(m.JobId, chunk)).DownloadContentAsync(cancellationToken);
            builder.Append(content.Value.Content.ToString());
        }
        await store.Container.GetBlobClient(JobStore.ResultBlob(m.JobId))
            .UploadAsync(BinaryData.FromString(builder.ToString()), overwrite: true, cancellationToken);
        var completed = false;
        await store.UpdateStatusAsync(m.JobId, () => NewStatus(m), s =>
        {
            if (s.State == JobStates.Failed)
            {
                return false;
            }

            completed = s.State != JobStates.Completed;
            s.State = JobStates.Completed;
            s.ResultBlob = $"{store.Container.Name}/{JobStore.ResultBlob(m.JobId)}";
            return true;
        }, cancellationToken);
        if (completed)
        {
            telemetry.JobFinished("completed");
        }

        logger.JobCompleted(m.JobId, chunksTotal);
    }

    private async Task FailAsync(ChunkMessage m, string reason, CancellationToken cancellationToken)
    {
        logger.JobFailed(m.JobId, m.Chunk, reason);
        var failed = false;
        await store.UpdateStatusAsync(m.JobId, () => NewStatus(m), s =>
        {
            failed = s.State != JobStates.Failed;
            s.State = JobStates.Failed;
            s.Errors.Add(new JobError(m.Chunk, reason, time.GetUtcNow()));
            return true;
        }, cancellationToken);
        if (failed)
        {
            telemetry.JobFinished("failed");
        }
    }

    /// <summary>For a job without a status: why its input chunks do not end at chunk <c>chunkCount - 1</c>, or null
    /// when they do. Without this, a message's count would become the job's size, and a count larger than the input
    /// would leave the job running forever.</summary>
    private async Task<string?> InputChunkMismatchAsync(ChunkMessage m, CancellationToken cancellationToken)
    {
        if (!(await store.Container.GetBlobClient(JobStore.InputBlob(m.JobId, m.ChunkCount - 1)).ExistsAsync(cancellationToken)).Value)
        {
            return $"input chunk {m.ChunkCount - 1} does not exist";
        }

        return (await store.Container.GetBlobClient(JobStore.InputBlob(m.JobId, m.ChunkCount)).ExistsAsync(cancellationToken)).Value
            ? $"input chunk {m.ChunkCount} exists too"
            : null;
    }

    private static JobStatus NewStatus(ChunkMessage m) => new() { JobId = m.JobId, ChunksTotal = m.ChunkCount, Model = m.Model };

    /// <summary>Retrying cannot fix these: the input or the request itself is wrong.</summary>
    private static bool IsPermanent(Exception ex) =>
        ex is InvalidRequestException or UnknownModelException or JsonException or FormatException
        || ex is RequestFailedException { Status: 404 };

    private static string Describe(Exception ex) => ex switch
    {
        RequestFailedException { Status: 404 } r => $"Blob not found ({r.ErrorCode}).",
        _ when StorageFailures.Describe(ex) is { } storage => storage,
        ModelUnavailableException or UnknownModelException or InvalidRequestException or ServerBusyException or FormatException
            => ex.Message,
        JsonException => OneLine(ex.Message),
        _ => $"{ex.GetType().Name}: {OneLine(ex.Message)}",
    };

    /// <summary>An exception message fit for a status blob: one line, bounded, never a stack trace.</summary>
    private static string OneLine(string message)
    {
        var line = string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= MaxReasonLength ? line : line[..MaxReasonLength] + "…";
    }
}
