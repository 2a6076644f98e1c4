using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Functions;
using ServerlessInference.Options;

namespace ServerlessInference.Jobs;

public sealed record JobView(string JobId, string State, string? Model, int ChunksDone, int ChunksTotal, int? Items,
    string? ResultBlob, IReadOnlyList<JobError> Errors, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static JobView From(JobStatus s) => new(s.JobId, s.State, s.Model, s.CompletedChunks.Count, s.ChunksTotal,
        s.Items, s.ResultBlob, s.Errors, s.CreatedAt, s.UpdatedAt);
}

/// <summary>HTTP and queue entry points for batch jobs; the work happens in <see cref="JobService"/>.</summary>
public sealed class JobFunctions(JobService jobs, IOptions<TranslationLimitsOptions> limits, ILogger<JobFunctions> logger)
{
    private static readonly string[] Fields = ["texts", "inputBlob", "model", "beams", "maxNewTokens"];
    private const long MaxSubmitBytes = 64L * 1024 * 1024;

    [Function("SubmitJob")]
    public async Task<IActionResult> Submit(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "jobs")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        try
        {
            using var document = await JsonRequest.ReadObjectAsync(request, MaxSubmitBytes, cancellationToken);
            var root = document.RootElement;
            JsonRequest.RejectUnknownFields(root, Fields);
            var texts = JsonRequest.Texts(root);
            var inputBlob = JsonRequest.OptionalString(root, "inputBlob");
            if ((texts is null) == (inputBlob is null))
                throw JsonRequest.BadRequest("Send either 'texts' (an array of strings) or 'inputBlob' (a JSONL blob name in the jobs container).");
            if (inputBlob is not null && !JobBlobNames.IsInputBlob(inputBlob))
                throw JsonRequest.BadRequest(JobBlobNames.InputBlobRule);
            var (model, generation) = GenerationParameters.Parse(root, limits.Value);
            List<JobItem> items;
            if (texts is not null)
            {
                if (texts.Count > JobsOptions.MaxItems)
                    throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge, $"A job takes at most {JobsOptions.MaxItems} texts.");
                var empty = texts.FindIndex(string.IsNullOrWhiteSpace);
                if (empty >= 0) throw JsonRequest.BadRequest($"'texts[{empty}]' is empty.");
                items = texts.Select((t, i) => new JobItem(i.ToString(System.Globalization.CultureInfo.InvariantCulture), t)).ToList();
            }
            else
            {
                try
                {
                    items = await jobs.ReadInputBlobAsync(inputBlob!, cancellationToken);
                }
                catch (FormatException ex)
                {
                    throw JsonRequest.BadRequest(ex.Message);
                }
            }
            var status = await jobs.SubmitAsync(items, model, generation, cancellationToken);
            var result = ApiResults.Json(StatusCodes.Status202Accepted, JobView.From(status));
            result.Headers["Location"] = $"/api/jobs/{status.JobId}";
            return result;
        }
        catch (RequestRejectedException rejected)
        {
            return ApiResults.Problem(rejected.Status, rejected.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ApiResults.FromException(ex, logger);
        }
    }

    [Function("GetJob")]
    public async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "jobs/{jobId}")] HttpRequest request,
        string jobId, CancellationToken cancellationToken)
    {
        try
        {
            if (!JobBlobNames.IsJobId(jobId)) return ApiResults.Problem(StatusCodes.Status400BadRequest, JobBlobNames.JobIdRule);
            var status = await jobs.GetAsync(jobId, cancellationToken);
            return status is null
                ? ApiResults.Problem(StatusCodes.Status404NotFound, $"No job '{jobId}'.")
                : ApiResults.Json(StatusCodes.Status200OK, JobView.From(status));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ApiResults.FromException(ex, logger);
        }
    }

    /// <summary>Throws on transient failures so the host redelivers (host.json: maxDequeueCount, visibilityTimeout)
    /// and finally moves the message to translation-jobs-poison.</summary>
    [Function("ProcessJobChunk")]
    public Task ProcessChunk(
        [QueueTrigger(JobsOptions.Queue, Connection = JobsOptions.Connection)] QueueMessage message,
        CancellationToken cancellationToken) =>
        jobs.ProcessChunkAsync(message.Body.ToString(), message.DequeueCount, cancellationToken);

    [Function("ProcessPoisonJobChunk")]
    public Task ProcessPoison(
        [QueueTrigger(JobsOptions.PoisonQueue, Connection = JobsOptions.Connection)] QueueMessage message,
        CancellationToken cancellationToken) =>
        jobs.HandlePoisonAsync(message.Body.ToString(), cancellationToken);
}
