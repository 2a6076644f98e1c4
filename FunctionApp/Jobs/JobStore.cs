using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using ServerlessInference.Storage;

namespace ServerlessInference.Jobs;

/// <summary>Job blobs and queues in the <c>AzureWebJobsStorage</c> account. Layout of the jobs container:
/// <c>{jobId}/status.json</c>, <c>{jobId}/input/{chunk}.jsonl</c>, <c>{jobId}/output/{chunk}.jsonl</c>,
/// <c>{jobId}/result.jsonl</c>.</summary>
public sealed class JobStore
{
    private static readonly JsonSerializerOptions Json = JobJson.Options;
    private const int MaxUpdateAttempts = 20;

    private readonly TimeProvider _time;
    private volatile bool _created;

    public JobStore(StorageClientFactory clients, IOptions<JobsOptions> options, TimeProvider time)
    {
        _time = time;
        Container = clients.CreateBlobServiceClient(JobsOptions.Connection).GetBlobContainerClient(options.Value.Container);
        var queues = clients.CreateQueueServiceClient(JobsOptions.Connection);
        Queue = queues.GetQueueClient(JobsOptions.Queue);
        PoisonQueue = queues.GetQueueClient(JobsOptions.PoisonQueue);
    }

    public BlobContainerClient Container { get; }
    public QueueClient Queue { get; }
    public QueueClient PoisonQueue { get; }

    public static string StatusBlob(string jobId) => $"{jobId}/status.json";
    public static string InputBlob(string jobId, int chunk) => $"{jobId}/input/{chunk}.jsonl";
    public static string OutputBlob(string jobId, int chunk) => $"{jobId}/output/{chunk}.jsonl";
    public static string ResultBlob(string jobId) => $"{jobId}/result.jsonl";

    /// <summary>Creates the container and queues once per process; deployments usually have them already.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (_created)
        {
            return;
        }

        await Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await Queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await PoisonQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        _created = true;
    }

    public async Task WriteLinesAsync<T>(string blobName, IEnumerable<T> items, CancellationToken cancellationToken)
    {
        var builder = new StringBuilder();
        foreach (var item in items)
        {
            builder.Append(JsonSerializer.Serialize(item, Json)).Append('\n');
        }
        // Overwrite: a redelivered message rewrites the same blob instead of adding a second copy.
        await Container.GetBlobClient(blobName).UploadAsync(BinaryData.FromString(builder.ToString()), overwrite: true, cancellationToken);
    }

    /// <summary>An input chunk's <c>{"id","text"}</c> lines, read as submit reads an input blob
    /// (<see cref="JobItem.Parse"/>), so a line reads the same whichever way it entered the job.</summary>
    /// <exception cref="FormatException">A line is not such an object; the message names the blob and line.</exception>
    public async Task<List<JobItem>> ReadItemsAsync(string blobName, CancellationToken cancellationToken)
    {
        var content = await Container.GetBlobClient(blobName).DownloadContentAsync(cancellationToken);
        var lines = content.Value.Content.ToString().Split('\n');
        var items = new List<JobItem>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            items.Add(JobItem.Parse(lines[i]) ?? throw new FormatException(
                $"Line {i + 1} of '{blobName}' must be {{\"id\": \"...\", \"text\": \"...\"}} (each field once)."));
        }
        return items;
    }

    public async Task<JobStatus?> GetStatusAsync(string jobId, CancellationToken cancellationToken)
    {
        try
        {
            var content = await Container.GetBlobClient(StatusBlob(jobId)).DownloadContentAsync(cancellationToken);
            return content.Value.Content.ToObjectFromJson<JobStatus>(Json);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task CreateStatusAsync(JobStatus status, CancellationToken cancellationToken)
    {
        status.CreatedAt = status.UpdatedAt = _time.GetUtcNow();
        await Container.GetBlobClient(StatusBlob(status.JobId)).UploadAsync(BinaryData.FromObjectAsJson(status, Json),
            new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
    }

    /// <summary>Read-modify-write with If-Match, retried on conflicts, so concurrent chunk completions never lose
    /// each other's updates. A missing status (a job enqueued directly by another system) starts from
    /// <paramref name="create"/>. <paramref name="mutate"/> returns false to leave the blob untouched.</summary>
    public async Task<JobStatus> UpdateStatusAsync(string jobId, Func<JobStatus> create, Func<JobStatus, bool> mutate,
        CancellationToken cancellationToken)
    {
        var blob = Container.GetBlobClient(StatusBlob(jobId));
        for (var attempt = 1; ; attempt++)
        {
            JobStatus status;
            BlobRequestConditions conditions;
            try
            {
                var content = await blob.DownloadContentAsync(cancellationToken);
                status = content.Value.Content.ToObjectFromJson<JobStatus>(Json)!;
                conditions = new BlobRequestConditions { IfMatch = content.Value.Details.ETag };
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                status = create();
                status.CreatedAt = _time.GetUtcNow();
                conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
            }
            if (!mutate(status))
            {
                return status;
            }

            status.UpdatedAt = _time.GetUtcNow();
            try
            {
                await blob.UploadAsync(BinaryData.FromObjectAsJson(status, Json),
                    new BlobUploadOptions { Conditions = conditions }, cancellationToken);
                return status;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < MaxUpdateAttempts)
            {
                // Someone else updated it first: re-read and apply the change again.
            }
        }
    }
}
