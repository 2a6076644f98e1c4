using System.Text;
using System.Text.Json;
using ServerlessInference.Jobs;

namespace ServerlessInference.E2ETests.Jobs;

/// <summary>What a system that drops batch jobs does: submit over HTTP or write input chunks and queue messages
/// itself, then poll the job's status and read its result.</summary>
public sealed class JobDriver(AppInstance app)
{
    public async Task<string> SubmitAsync(object body)
    {
        var json = (await app.Host.SendAsync(HttpMethod.Post, "api/jobs", body)).ShouldBe(202);
        return json.GetProperty("jobId").GetString()!;
    }

    /// <summary>A job submitted straight to the queue (docs/jobs.md): input chunks first, then nothing else; the
    /// caller sends the messages.</summary>
    public async Task<string> WriteInputAsync(params string[][] chunks)
    {
        var jobId = Guid.NewGuid().ToString("N");
        for (var i = 0; i < chunks.Length; i++)
        {
            await app.Jobs.GetBlobClient($"{jobId}/input/{i}.jsonl")
                .UploadAsync(BinaryData.FromString(string.Concat(chunks[i].Select(line => line + "\n"))));
        }

        return jobId;
    }

    public static string Message(string jobId, int chunk, int chunkCount) =>
        $$"""{"version":1,"jobId":"{{jobId}}","chunk":{{chunk}},"chunkCount":{{chunkCount}}}""";

    /// <param name="invisibleFor">How long the message stays hidden from the app after it is sent.</param>
    public Task SendPlainAsync(string text, TimeSpan? invisibleFor = null) =>
        app.Queues.GetQueueClient(JobsOptions.Queue).SendMessageAsync(text, visibilityTimeout: invisibleFor);

    public Task SendBase64Async(string text) => app.Base64Queues.GetQueueClient(JobsOptions.Queue).SendMessageAsync(text);

    /// <summary>Polls <c>GET /api/jobs/{id}</c> until the job is completed or failed.</summary>
    public async Task<JsonElement> WaitForEndAsync(string jobId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(3));
        JsonElement status = default;
        while (DateTime.UtcNow < deadline)
        {
            var answer = await app.Host.SendAsync(HttpMethod.Get, $"api/jobs/{jobId}");
            if (answer.Status == 200)
            {
                status = answer.Json;
                if (status.GetProperty("state").GetString() is "completed" or "failed")
                {
                    return status;
                }
            }

            await Task.Delay(250); // polling, as a job's submitter does
        }

        throw new TimeoutException($"Job {jobId} did not end: {(status.ValueKind == JsonValueKind.Undefined ? "no status" : status)}");
    }

    public static void ShouldBeCompleted(JsonElement status) =>
        Assert.True(status.GetProperty("state").GetString() == "completed", $"job did not complete: {status}");

    /// <summary>The job's failure reasons, asserting that it failed.</summary>
    public static string ShouldBeFailed(JsonElement status)
    {
        Assert.True(status.GetProperty("state").GetString() == "failed", $"job did not fail: {status}");
        return string.Join(" | ", status.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("message").GetString()));
    }

    public async Task<List<JsonElement>> ResultAsync(string jobId)
    {
        var content = (await app.Jobs.GetBlobClient($"{jobId}/result.jsonl").DownloadContentAsync()).Value.Content.ToString();
        return content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    /// <summary>Waits until no message is left on the job queue or its poison queue (counts include messages being
    /// processed), i.e. the app has dealt with everything sent.</summary>
    public async Task WaitForQueuesToDrainAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var counts = new List<int>();
            foreach (var queue in new[] { JobsOptions.Queue, JobsOptions.PoisonQueue })
            {
                counts.Add((await app.Queues.GetQueueClient(queue).GetPropertiesAsync()).Value.ApproximateMessagesCount);
            }

            if (counts.All(c => c == 0))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Queues still hold {string.Join(" / ", counts)} messages.");
            }

            await Task.Delay(250); // polling the queues the host consumes
        }
    }

    public static string Line(string id, string text) => JsonSerializer.Serialize(new { id, text });

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
