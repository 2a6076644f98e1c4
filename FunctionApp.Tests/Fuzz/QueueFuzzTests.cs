using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using Xunit.Abstractions;

namespace ServerlessInference.Tests.Fuzz;

/// <summary>
/// Generated hostile messages against the queue functions, on Azurite, as the host delivers them with
/// <c>messageEncoding: none</c>: the message text exactly as it sits in the queue, base64 or not. Whatever reaches
/// the poison queue is then handed to the poison function, as the host would. For every message: no exception
/// out of either function, no new work enqueued, no container created or deleted, nothing under the models
/// container changed, and in the jobs container nothing but the named job's status (and chunk outputs) written;
/// when the message names a well-formed job id, that job ends up failed with a reason.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class QueueFuzzTests(StorageFixture storage, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _jobsContainer = StorageFixture.UniqueContainer("fuzz");

    // No message encoding: what the host hands the function with "messageEncoding": "none".
    private readonly QueueServiceClient _rawQueues = new(storage.ConnectionString);

    private QueueClient JobQueue => _rawQueues.GetQueueClient(JobsOptions.Queue);
    private QueueClient PoisonQueue => _rawQueues.GetQueueClient(JobsOptions.PoisonQueue);

    public async Task InitializeAsync()
    {
        await storage.Blobs.GetBlobContainerClient(_jobsContainer).CreateIfNotExistsAsync();
        foreach (var queue in new[] { JobQueue, PoisonQueue })
        {
            await queue.CreateIfNotExistsAsync();
            await queue.ClearMessagesAsync();
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var queue in new[] { JobQueue, PoisonQueue })
        {
            await queue.ClearMessagesAsync();
        }
    }

    [Fact]
    public async Task HostileChunkMessagesAreDroppedOrPoisonedAndFailTheJobTheyNameWithAReason()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();

        await RunAsync("chunk", QueueCases.Messages(seed: 2001), idSeed: 3001, app,
            (message, ct) => functions.ProcessChunk(message, ct), functions);
    }

    [Fact]
    public async Task HostileMessagesOnThePoisonQueueFailTheJobTheyNameWithAReasonAndTouchNothingElse()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();

        var cases = QueueCases.Messages(seed: 2002).Where((_, i) => i % 3 == 0).Concat(QueueCases.Exhausted());
        await RunAsync("poison", cases, idSeed: 3002, app,
            (message, ct) => functions.ProcessPoison(message, ct), functions);
    }

    private TestApp NewApp() => new(storage, new Dictionary<string, string?> { ["Jobs:Container"] = _jobsContainer });

    /// <param name="idSeed">Draws the ids of jobs that were never created.</param>
    private async Task RunAsync(string title, IEnumerable<QueueCase> cases, int idSeed, TestApp app,
        Func<QueueMessage, CancellationToken, Task> deliver, JobFunctions functions)
    {
        var random = new Random(idSeed);
        var report = new FuzzReport(output, title);
        var account = await StorageState.AccountAsync(storage.Blobs, exceptContainer: _jobsContainer);
        var number = 0;
        var before = await StorageState.ReadAsync(storage.Blobs, _jobsContainer);
        foreach (var c in cases)
        {
            var problems = new List<string>();
            var jobId = FuzzJson.JobIdShape(random);
            if (c is { HasJobId: true, JobExists: true })
            {
                jobId = await SubmitAsync(functions);
                before = await StorageState.ReadAsync(storage.Blobs, _jobsContainer);
            }
            var body = c.Body(jobId);
            var message = QueuesModelFactory.QueueMessage($"fuzz-{++number}", "pop", new BinaryData(body), dequeueCount: 1,
                insertedOn: app.Clock.GetUtcNow());

            try
            {
                await deliver(message, CancellationToken.None);
            }
            catch (Exception ex)
            {
                problems.Add($"exception escaped: {ex.GetType().FullName}: {ex.Message}");
            }
            var poisoned = await DrainPoisonQueueAsync(functions, problems);
            if (poisoned > 0 && title == "poison")
            {
                problems.Add($"the poison function put {poisoned} message(s) back on the poison queue");
            }

            if ((await JobQueue.PeekMessageAsync()).Value is not null)
            {
                problems.Add("work was enqueued on the job queue");
                await JobQueue.ClearMessagesAsync();
            }

            var after = await StorageState.ReadAsync(storage.Blobs, _jobsContainer);
            problems.AddRange(before.Compare(after, c.HasJobId ? name => MayWrite(jobId, name) : null));
            before = after;
            string? answer = null;
            if (c.HasJobId)
            {
                var status = await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None));
                answer = $"job status {status.Status} {FuzzJson.Preview(status.Body, 600)}";
                problems.AddRange(CheckFailed(status));
            }
            var description = $"{c} message {FuzzJson.Preview(body, 200)}" + (poisoned > 0 ? " (poisoned)" : "");
            report.Add($"{title}/{c.Class}", valid: false, description, problems, answer);
        }
        var changes = StorageState.Diff(account, await StorageState.AccountAsync(storage.Blobs, exceptContainer: _jobsContainer)).ToList();
        await StorageState.RemoveAddedAsync(storage.Blobs, changes);
        report.Finish(changes.Select(change => $"outside the jobs container: {change}").ToArray());
    }

    /// <summary>Hands every message on the poison queue to the poison function, as the host does; returns how many.</summary>
    private async Task<int> DrainPoisonQueueAsync(JobFunctions functions, List<string> problems)
    {
        var count = 0;
        while (true)
        {
            var batch = (await PoisonQueue.ReceiveMessagesAsync(maxMessages: 32)).Value;
            if (batch.Length == 0)
            {
                return count;
            }

            foreach (var message in batch)
            {
                count++;
                await PoisonQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                try
                {
                    await functions.ProcessPoison(message, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    problems.Add($"exception escaped from the poison function: {ex.GetType().FullName}: {ex.Message}");
                }
            }
        }
    }

    /// <summary>A job of one chunk, submitted the way callers do; its chunk message is removed, so only the
    /// hostile message can act on it.</summary>
    private async Task<string> SubmitAsync(JobFunctions functions)
    {
        var submitted = await Http.ExecuteAsync(functions.Submit(Http.Json(new { texts = new[] { "Hello." } }), CancellationToken.None));
        var jobId = submitted.ShouldBe(202).Json.GetProperty("jobId").GetString()!;
        await JobQueue.ClearMessagesAsync();
        return jobId;
    }

    /// <summary>The job's status, and chunk outputs (a chunk that did translate), but never its assembled result.</summary>
    private static bool MayWrite(string jobId, string blobName) =>
        blobName == JobStore.StatusBlob(jobId)
        || (blobName.StartsWith($"{jobId}/output/", StringComparison.Ordinal) && blobName.EndsWith(".jsonl", StringComparison.Ordinal));

    private static IEnumerable<string> CheckFailed(TestResponse status)
    {
        if (status.Status != 200)
        {
            yield return $"the job's status answers {status.Status}, expected 200 with state 'failed'";
            yield break;
        }
        var json = status.Json;
        var state = json.GetProperty("state").GetString();
        if (state != JobStates.Failed)
        {
            yield return $"the job is '{state}', expected 'failed'";
        }

        var errors = json.GetProperty("errors");
        if (errors.ValueKind != JsonValueKind.Array || errors.GetArrayLength() == 0
            || errors.EnumerateArray().All(e => string.IsNullOrWhiteSpace(e.GetProperty("message").GetString())))
        {
            yield return "the job's status does not say why it failed";
        }
    }
}
