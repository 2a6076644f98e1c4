using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using ServerlessInference.Requests;
using ServerlessInference.Serving;

namespace ServerlessInference.Functions;

public sealed record JobView(string JobId, string State, string? Model, int ChunksDone, int ChunksTotal, int? Items,
    string? ResultBlob, IReadOnlyList<JobError> Errors, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static JobView From(JobStatus s) => new(s.JobId, s.State, s.Model, s.CompletedChunks.Count, s.ChunksTotal,
        s.Items, s.ResultBlob, s.Errors, s.CreatedAt, s.UpdatedAt);
}

/// <summary>HTTP and queue entry points for batch jobs; the work happens in <see cref="JobService"/>. HTTP errors
/// are thrown and answered by <see cref="ProblemDetailsMiddleware"/>.</summary>
public sealed class JobFunctions(JobService jobs, IOptions<RequestLimitsOptions> limits, IOptions<HttpOptions> http)
{
    private static readonly string[] Fields = ["texts", "inputBlob", "model", "beams", "maxNewTokens", "targetLanguage"];

    [Function("SubmitJob")]
    public async Task<IActionResult> Submit(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "jobs")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        using var document = await JsonRequest.ReadObjectAsync(request, http.Value.MaxRequestBodyBytes, cancellationToken);
        var root = document.RootElement;
        JsonRequest.RejectUnknownFields(root, Fields);
        var texts = JsonRequest.Texts(root);
        var inputBlob = JsonRequest.OptionalString(root, "inputBlob");
        if ((texts is null) == (inputBlob is null))
        {
            throw JsonRequest.BadRequest(
                "Send either 'texts' (an array of strings) or 'inputBlob' (a JSONL blob name in the jobs container).");
        }

        if (inputBlob is not null && !JobBlobNames.IsInputBlob(inputBlob))
        {
            throw JsonRequest.BadRequest(JobBlobNames.InputBlobRule);
        }

        var (model, generation) = TranslationRequestReader.Read(root, []);
        List<JobItem> items;
        if (texts is not null)
        {
            if (texts.Count > JobsOptions.MaxItems)
            {
                throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge,
                    $"A job takes at most {JobsOptions.MaxItems} texts.");
            }

            TextChecks.RejectBlank(texts);
            var tooLong = texts.FindIndex(t => t.Length > limits.Value.MaxCharacters);
            if (tooLong >= 0)
            {
                throw new RequestRejectedException(StatusCodes.Status413PayloadTooLarge,
                    $"'texts[{tooLong}]' has {texts[tooLong].Length} characters; the limit per text is {limits.Value.MaxCharacters}.");
            }

            items = texts.Select((t, i) => new JobItem(i.ToString(System.Globalization.CultureInfo.InvariantCulture), t)).ToList();
        }
        else
        {
            try
            {
                items = await jobs.ReadInputBlobAsync(inputBlob!, limits.Value.MaxCharacters, cancellationToken);
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

    [Function("GetJob")]
    public async Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "jobs/{jobId}")] HttpRequest request,
        string jobId, CancellationToken cancellationToken)
    {
        if (!JobBlobNames.IsJobId(jobId))
        {
            throw JsonRequest.BadRequest(JobBlobNames.JobIdRule);
        }

        var status = await jobs.GetAsync(jobId, cancellationToken);
        return status is null
            ? ApiResults.Problem(StatusCodes.Status404NotFound, $"No job '{jobId}'.")
            : ApiResults.Json(StatusCodes.Status200OK, JobView.From(status));
    }

    /// <summary>Throws on transient failures so the host redelivers (host.json: maxDequeueCount, visibilityTimeout)
    /// and finally moves the message to <see cref="JobsOptions.PoisonQueue"/>.</summary>
    [Function("ProcessJobChunk")]
    public Task ProcessChunk(
        [QueueTrigger(JobsOptions.Queue, Connection = JobsOptions.Connection)] QueueMessage message,
        CancellationToken cancellationToken) =>
        jobs.ProcessChunkAsync(message.Body.ToString(), message.DequeueCount, cancellationToken, message.InsertedOn);

    [Function("ProcessPoisonJobChunk")]
    public Task ProcessPoison(
        [QueueTrigger(JobsOptions.PoisonQueue, Connection = JobsOptions.Connection)] QueueMessage message,
        CancellationToken cancellationToken) =>
        jobs.HandlePoisonAsync(message.Body.ToString(), cancellationToken);
}
