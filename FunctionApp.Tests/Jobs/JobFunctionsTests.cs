using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using ServerlessInference.ModelHosting;
using ServerlessInference.Serving;
using ServerlessInference.Telemetry;
using Xunit;

namespace ServerlessInference.Tests.Jobs;

[Collection(StorageCollection.Name)]
public sealed class JobFunctionsTests(StorageFixture storage) : IAsyncLifetime
{
    private readonly string _jobsContainer = StorageFixture.UniqueContainer("jobs");

    // host.json sets messageEncoding "none": the host hands each function the message text exactly as stored, so
    // the tests receive (and send raw messages) with MessageEncoding.None. Base64 senders are the SDK with
    // MessageEncoding.Base64.
    private QueueClient Queue => Raw(JobsOptions.Queue);
    private QueueClient Poison => Raw(JobsOptions.PoisonQueue);
    private QueueClient Raw(string queue) =>
        new(storage.ConnectionString, queue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
    private QueueClient Base64(string queue) =>
        new(storage.ConnectionString, queue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });

    // The queue names are fixed, so each test starts from empty queues (tests in a collection run one at a time).
    public async Task InitializeAsync()
    {
        foreach (var queue in new[] { Queue, Poison })
        {
            await queue.CreateIfNotExistsAsync();
            await queue.ClearMessagesAsync();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private TestApp NewApp(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?> { ["Jobs:Container"] = _jobsContainer, ["Jobs:ChunkSize"] = "2" };
        foreach (var (k, v) in extra ?? [])
        {
            settings[k] = v;
        }

        return new TestApp(storage, settings);
    }

    [Fact]
    public async Task JobRunsEndToEndFromRealQueueMessagesAndAssemblesTheResultInInputOrder()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        string[] texts = ["Hello.", "Good night.", "I am hungry.", "It is raining.", "See you tomorrow."];

        var submitted = await Http.ExecuteAsync(functions.Submit(Http.Json(new { texts }), CancellationToken.None));
        submitted.ShouldBe(202);
        var jobId = submitted.Json.GetProperty("jobId").GetString()!;
        Assert.Equal($"/api/jobs/{jobId}", submitted.Headers.Location.ToString());
        Assert.Equal(3, submitted.Json.GetProperty("chunksTotal").GetInt32());

        var messages = await ReceiveAllAsync(Queue, 3);
        foreach (var message in messages.OrderByDescending(m => Chunk(m))) // completion order must not matter
        {
            await functions.ProcessChunk(message, CancellationToken.None);
        }

        var status = await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None));
        status.ShouldBe(200);
        Assert.Equal("completed", status.Json.GetProperty("state").GetString());
        Assert.Equal(3, status.Json.GetProperty("chunksDone").GetInt32());
        Assert.Equal($"{_jobsContainer}/{jobId}/result.jsonl", status.Json.GetProperty("resultBlob").GetString());
        var result = await ReadResultAsync(jobId);
        Assert.Equal(["0", "1", "2", "3", "4"], result.Select(r => r.GetProperty("id").GetString()));
        var direct = await app.Get<TranslationService>().TranslateAsync(null, new TranslationRequest(texts), "test",
            WorkPriority.Interactive, CancellationToken.None);
        Assert.Equal(direct.Result.Translations.Select(t => t.Text), result.Select(r => r.GetProperty("text").GetString()));
        var telemetry = app.FlushTelemetry();
        Assert.Equal(3, telemetry.Count(InferenceTelemetry.Instruments.JobChunkDuration,
            InferenceTelemetry.Attributes.ChunkOutcome, "translated"));
        Assert.Equal(1, telemetry.Count(InferenceTelemetry.Instruments.JobsFinished,
            InferenceTelemetry.Attributes.JobState, "completed"));
        // Per-job detail stays in the logs: no metric dimension names the job.
        Assert.DoesNotContain(telemetry.Items.OfType<Microsoft.ApplicationInsights.DataContracts.MetricTelemetry>(),
            m => m.Properties.Values.Contains(jobId));
    }

    [Fact]
    public async Task AChunkReachingABusyInstanceIsPutBackHiddenWithoutCountingAnAttemptAndRunsOnceThereIsRoom()
    {
        using var app = NewApp(new() { ["Serving:MaxPendingSentences"] = "10" });
        var functions = app.Function<JobFunctions>();
        var submitted = await Http.ExecuteAsync(functions.Submit(Http.Json(new { texts = new[] { "Hello.", "Good night." } }),
            CancellationToken.None));
        var jobId = submitted.Json.GetProperty("jobId").GetString()!;
        var message = Assert.Single(await ReceiveAllAsync(Queue, 1));
        var backlog = app.Get<ServingBacklog>();
        backlog.Admit(5, WorkPriority.Interactive); // job chunks may fill only half

        // Returning normally is what makes the host delete this delivery instead of counting it toward poison.
        await functions.ProcessChunk(message, CancellationToken.None);
        await Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);

        Assert.Empty((await Queue.PeekMessagesAsync(32)).Value); // the copy is hidden for the Retry-After
        Assert.Equal(1, (await Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Empty((await Poison.PeekMessagesAsync(32)).Value);
        var waiting = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("queued", waiting.GetProperty("state").GetString());
        Assert.Empty(waiting.GetProperty("errors").EnumerateArray());

        var copy = await ReceiveOnceVisibleAsync(Queue);
        Assert.Equal(message.Body.ToString(), copy.Body.ToString());
        Assert.Equal(1, copy.DequeueCount);
        backlog.Withdrawn(5);
        await functions.ProcessChunk(copy, CancellationToken.None);
        var done = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("completed", done.GetProperty("state").GetString());
        Assert.Empty(done.GetProperty("errors").EnumerateArray());
        Assert.Equal(["0", "1"], (await ReadResultAsync(jobId)).Select(r => r.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task JobFromAJsonlInputBlobKeepsTheCallersIds()
    {
        using var app = NewApp();
        var container = storage.Blobs.GetBlobContainerClient(_jobsContainer);
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient("inputs/input.jsonl").UploadAsync(BinaryData.FromString(
            "{\"id\":\"x-1\",\"text\":\"Hello.\"}\n\n{\"id\":\"x-2\",\"text\":\"Thank you.\"}\n{\"id\":\"x-3\",\"text\":\"Goodbye.\"}\n"));
        var functions = app.Function<JobFunctions>();

        var submitted = await Http.ExecuteAsync(functions.Submit(Http.Json(new { inputBlob = "inputs/input.jsonl" }),
            CancellationToken.None));
        submitted.ShouldBe(202);
        var jobId = submitted.Json.GetProperty("jobId").GetString()!;
        foreach (var message in await ReceiveAllAsync(Queue, 2))
        {
            await functions.ProcessChunk(message, CancellationToken.None);
        }

        var result = await ReadResultAsync(jobId);
        Assert.Equal(["x-1", "x-2", "x-3"], result.Select(r => r.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task RedeliveredChunkMessageOverwritesItsOutputWithoutDuplicates()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        var jobId = await SubmitTextsAsync(functions, new[] { "One.", "Two.", "Three." });
        var messages = await ReceiveAllAsync(Queue, 2);

        var first = messages.Single(m => Chunk(m) == 0);
        await functions.ProcessChunk(first, CancellationToken.None);
        await functions.ProcessChunk(first, CancellationToken.None); // redelivered before the job completes
        await functions.ProcessChunk(messages.Single(m => Chunk(m) == 1), CancellationToken.None);
        await functions.ProcessChunk(first, CancellationToken.None); // and again after it completed

        var status = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(2, status.GetProperty("chunksDone").GetInt32());
        Assert.Equal(["0", "1", "2"], (await ReadResultAsync(jobId)).Select(r => r.GetProperty("id").GetString()));
        var output0 = await storage.Blobs.GetBlobContainerClient(_jobsContainer).GetBlobClient($"{jobId}/output/0.jsonl")
            .DownloadContentAsync();
        Assert.Equal(2, output0.Value.Content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task PoisonedChunkMessageMarksItsJobFailedWithTheLastError()
    {
        using var app = NewApp(new()
        {
            ["Models:Catalog:0:Name"] = RepoPaths.ShippedModelName,
            ["Models:Catalog:0:Prefix"] = RepoPaths.ShippedModelName + "/",
            ["Models:Catalog:1:Name"] = "unprovisioned",
            ["Models:Catalog:1:Prefix"] = "unprovisioned/",
        });
        var functions = app.Function<JobFunctions>();
        // Submitting checks the model, so this job is enqueued directly, as another system may (docs/jobs.md).
        var jobId = JobBlobNames.NewJobId();
        var container = storage.Blobs.GetBlobContainerClient(_jobsContainer);
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient($"{jobId}/input/0.jsonl").UploadAsync(BinaryData.FromString("{\"id\":\"0\",\"text\":\"Hi.\"}\n"));
        await Queue.SendMessageAsync(new ChunkMessage { JobId = jobId, Chunk = 0, ChunkCount = 1, Model = "unprovisioned" }.ToJson());
        var message = Assert.Single(await ReceiveAllAsync(Queue, 1));

        // A transient failure throws so the host redelivers; the error is recorded on the job meanwhile.
        await Assert.ThrowsAsync<ModelUnavailableException>(() => functions.ProcessChunk(message, CancellationToken.None));
        var running = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("queued", running.GetProperty("state").GetString());
        Assert.Contains("No blobs under", running.GetProperty("errors")[0].GetProperty("message").GetString());

        // After maxDequeueCount the host moves the message, unchanged, to the poison queue.
        var reason = await PoisonAndReadReasonAsync(functions, message, jobId);
        Assert.Contains("failed after repeated attempts", reason);
        Assert.Contains("No blobs under 'models/unprovisioned/'", reason);
    }

    [Fact]
    public async Task MalformedMessageGoesStraightToThePoisonQueueAndFailsItsJob()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        var jobId = await SubmitTextsAsync(functions, new[] { "Hi." });
        await Queue.ClearMessagesAsync();
        await Queue.SendMessageAsync(JsonSerializer.Serialize(new { jobId, chunk = 7, chunkCount = 1 }));
        await Queue.SendMessageAsync("this is not JSON");

        foreach (var message in await ReceiveAllAsync(Queue, 2))
        {
            await functions.ProcessChunk(message, CancellationToken.None); // completes: retrying cannot fix it
        }

        var poisoned = await ReceiveAllAsync(Poison, 2);
        Assert.Contains(poisoned, m => m.Body.ToString() == "this is not JSON");
        foreach (var message in poisoned)
        {
            await functions.ProcessPoison(message, CancellationToken.None);
        }

        var status = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("failed", status.GetProperty("state").GetString());
        Assert.Contains("Malformed message", status.GetProperty("errors")[0].GetProperty("message").GetString());
        var telemetry = app.FlushTelemetry();
        Assert.Equal(poisoned.Count, telemetry.Count(InferenceTelemetry.Instruments.PoisonMessages));
        Assert.Equal(1, telemetry.Count(InferenceTelemetry.Instruments.JobsFinished, InferenceTelemetry.Attributes.JobState, "failed"));
    }

    [Theory]
    [InlineData("../models/marian-tiny-en-zh")]
    [InlineData("..%2Fmodels%2Fmarian-tiny-en-zh")]
    [InlineData("%2e%2e/models/marian-tiny-en-zh")]
    [InlineData("..\\models\\marian-tiny-en-zh")]
    [InlineData("/models/marian-tiny-en-zh")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    public async Task AMessageWhoseJobIdIsNotAJobIdIsDroppedByBothTriggersWithoutWritingAnything(string jobId)
    {
        var before = await StorageSnapshotAsync();
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        var text = JsonSerializer.Serialize(new { jobId, chunk = 0, chunkCount = 1 });
        foreach (var queue in new[] { Queue, Base64(JobsOptions.Queue), Poison, Base64(JobsOptions.PoisonQueue) })
        {
            await queue.SendMessageAsync(text);
        }

        foreach (var message in await ReceiveAllAsync(Queue, 2))
        {
            await functions.ProcessChunk(message, CancellationToken.None);
        }
        // The two sent to the poison queue directly, and the two the main trigger copied there as malformed.
        foreach (var message in await ReceiveAllAsync(Poison, 4))
        {
            await functions.ProcessPoison(message, CancellationToken.None);
        }

        Assert.Equal(before, await StorageSnapshotAsync());
        Assert.False(await storage.Blobs.GetBlobContainerClient(StorageFixture.ModelsContainer)
            .GetBlobClient($"{RepoPaths.ShippedModelName}/status.json").ExistsAsync());
    }

    [Fact]
    public async Task ChunkMessagesAreAcceptedAsRawJsonAndAsBase64AndTheAppSendsRawJson()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        var jobId = await SubmitTextsAsync(functions, new[] { "One.", "Two.", "Three." });
        var sent = (await ReceiveAllAsync(Queue, 2)).OrderBy(Chunk).Select(m => m.Body.ToString()).ToList();
        Assert.All(sent, text => Assert.Equal(jobId, JsonDocument.Parse(text).RootElement.GetProperty("jobId").GetString()));

        // The same work from other producers: `az storage message put` (raw) and the SDK with Base64 encoding.
        await Queue.ClearMessagesAsync();
        await Queue.SendMessageAsync(sent[0]);
        await Base64(JobsOptions.Queue).SendMessageAsync(sent[1]);
        foreach (var message in await ReceiveAllAsync(Queue, 2))
        {
            await functions.ProcessChunk(message, CancellationToken.None);
        }

        var status = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(["0", "1", "2"], (await ReadResultAsync(jobId)).Select(r => r.GetProperty("id").GetString()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PoisonMessagesAreReadAsRawJsonAndAsBase64(bool base64)
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        var jobId = await SubmitTextsAsync(functions, new[] { "Hi." });
        var text = Assert.Single(await ReceiveAllAsync(Queue, 1)).Body.ToString();

        await (base64 ? Base64(JobsOptions.PoisonQueue) : Poison).SendMessageAsync(text);
        await functions.ProcessPoison(Assert.Single(await ReceiveAllAsync(Poison, 1)), CancellationToken.None);

        var status = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("failed", status.GetProperty("state").GetString());
        Assert.Contains("Chunk 0 failed after repeated attempts", status.GetProperty("errors")[0].GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("{\"jobId\":\"ID\",\"chunk\":\"0\",\"chunkCount\":1}", "chunk", false)]
    [InlineData("{\"jobId\":\"ID\",\"chunk\":\"0\",\"chunkCount\":1}", "chunk", true)]
    [InlineData("{\"jobId\":\"ID\",\"chunk\":0,\"chunkCount\":\"1\"}", "chunkCount", false)]
    [InlineData("{\"version\":\"1\",\"jobId\":\"ID\",\"chunk\":0,\"chunkCount\":1}", "version", false)]
    [InlineData("{\"jobId\":\"ID\",\"chunk\":0,\"chunkCount\":1,\"beams\":\"2\"}", "beams", true)]
    [InlineData("{\"jobId\":\"ID\",\"chunk\":0,\"chunkCount\":1,\"chunk\":0}", "chunk", false)]
    public async Task AMalformedMessageWithAValidJobIdIsPoisonedAndItsJobFailsWithTheReason(string template, string field, bool base64)
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        var jobId = await SubmitTextsAsync(functions, new[] { "Hi." });
        await Queue.ClearMessagesAsync();
        await (base64 ? Base64(JobsOptions.Queue) : Queue).SendMessageAsync(template.Replace("ID", jobId));

        await functions.ProcessChunk(Assert.Single(await ReceiveAllAsync(Queue, 1)), CancellationToken.None);
        await functions.ProcessPoison(Assert.Single(await ReceiveAllAsync(Poison, 1)), CancellationToken.None);

        var status = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("failed", status.GetProperty("state").GetString());
        var reason = status.GetProperty("errors").EnumerateArray().Last().GetProperty("message").GetString();
        Assert.Contains("Malformed message", reason);
        Assert.Contains(field, reason);
        Assert.False(await storage.Blobs.GetBlobContainerClient(_jobsContainer).GetBlobClient($"{jobId}/output/0.jsonl").ExistsAsync());
    }

    public static TheoryData<string> HostileMessages() =>
    [
        "", " ", "null", "[]", "{}", "42", "\"text\"", "{\"jobId\":5}", "{\"jobId\":[\"a\"]}", "{\"jobId\":{}}",
        "{\"jobId\":null,\"chunk\":0,\"chunkCount\":1}",
        "{\"jobId\":\"\\ud800\",\"chunk\":0,\"chunkCount\":1}",
        "{\"jobId\":\"0123456789abcdef0123456789abcdef\\ud800\",\"chunk\":0,\"chunkCount\":1}",
        "{\"jobId\":\"0123456789abcdef0123456789abcdef\",\"jobId\":\"../models/x\",\"chunk\":0,\"chunkCount\":1}",
        new string('[', 20_000),
        "{\"jobId\":\"" + new string('x', 60_000) + "\"}",
        "{\"jobId\":\"a\",\"chunk\":1e400,\"chunkCount\":1}",
        Convert.ToBase64String(new byte[] { 0xff, 0xfe, 0x00, 0x7b }),
        Convert.ToBase64String("[1,2]"u8.ToArray()),
        Convert.ToBase64String("{\"jobId\":\"../models\"}"u8.ToArray()),
        "not JSON at all",
    ];

    [Theory]
    [MemberData(nameof(HostileMessages))]
    public async Task AMessageWithoutAUsableJobIdMakesNeitherTriggerThrowAndWritesNothing(string text)
    {
        var before = await StorageSnapshotAsync();
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        await Queue.SendMessageAsync(text);
        await Poison.SendMessageAsync(text);

        await functions.ProcessChunk(Assert.Single(await ReceiveAllAsync(Queue, 1)), CancellationToken.None);
        foreach (var message in await ReceiveAllAsync(Poison, 2))
        {
            await functions.ProcessPoison(message, CancellationToken.None);
        }

        Assert.Equal(before, await StorageSnapshotAsync());
    }

    [Fact]
    public async Task ACancelledChunkAttemptRecordsWhyAndThePoisonHandlerCitesIt()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        var jobId = await SubmitTextsAsync(functions, new[] { "Hi." });
        var message = Assert.Single(await ReceiveAllAsync(Queue, 1));

        // functionTimeout and host shutdown cancel the invocation's token.
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => functions.ProcessChunk(message, cancelled.Token));
        var running = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("queued", running.GetProperty("state").GetString());
        var attempt = running.GetProperty("errors")[0].GetProperty("message").GetString()!;
        Assert.StartsWith("Attempt 1: ", attempt);
        Assert.Contains("cancelled", attempt);

        var reason = await PoisonAndReadReasonAsync(functions, message, jobId);
        Assert.Contains("failed after repeated attempts", reason);
        Assert.Contains(attempt, reason);
    }

    [Fact]
    public async Task ChunksCloseAtTheCharacterBudgetOrAtTheTextCount()
    {
        using var app = NewApp(new() { ["Jobs:ChunkSize"] = "3", ["Jobs:ChunkCharacters"] = "20" });
        var functions = app.Function<JobFunctions>();
        string[] texts = [new('a', 10), new('b', 10), "c", new('d', 25), "e", "f", "g", "h"];

        var submitted = await Http.ExecuteAsync(functions.Submit(Http.Json(new { texts }), CancellationToken.None));

        submitted.ShouldBe(202);
        var jobId = submitted.Json.GetProperty("jobId").GetString()!;
        // 10 + 10 fit 20; "c" would pass it; a text over the budget gets a chunk of its own; then three texts.
        string[][] expected = [["0", "1"], ["2"], ["3"], ["4", "5", "6"], ["7"]];
        Assert.Equal(expected.Length, submitted.Json.GetProperty("chunksTotal").GetInt32());
        var container = storage.Blobs.GetBlobContainerClient(_jobsContainer);
        for (var chunk = 0; chunk < expected.Length; chunk++)
        {
            var lines = (await container.GetBlobClient($"{jobId}/input/{chunk}.jsonl").DownloadContentAsync()).Value.Content.ToString()
                .Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(expected[chunk], lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()));
        }
        Assert.Equal(expected.Length, (await ReceiveAllAsync(Queue, expected.Length)).Count);
    }

    [Theory]
    [InlineData("{}", 400)]
    [InlineData("{\"texts\": [\"a\"], \"inputBlob\": \"x.jsonl\"}", 400)]
    [InlineData("{\"inputBlob\": \"inputs/missing.jsonl\"}", 400)]
    [InlineData("{\"texts\": [\"a\"], \"model\": \"fr-de\"}", 404)]
    [InlineData("{\"texts\": [\"a\"], \"beams\": 99}", 400)]
    public async Task InvalidJobSubmissionIsRejectedWithoutEnqueueing(string body, int status)
    {
        using var app = NewApp();
        var response = await Http.ExecuteAsync(app.Function<JobFunctions>().Submit(Http.Request("POST", body), CancellationToken.None));
        Assert.Equal(status, response.Status);
        Assert.StartsWith("application/problem+json", response.ContentType);
        Assert.Null((await Queue.PeekMessageAsync()).Value);
    }

    [Fact]
    public async Task UnknownJobIs404AndAMalformedJobIdIs400WithoutAStorageCall()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), "0123456789abcdef0123456789abcdef",
            CancellationToken.None))).ShouldBe(404);
        foreach (var id in new[] { "0123abcd", "..%2Fx", "../models/marian-tiny-en-zh", "0123456789ABCDEF0123456789ABCDEF" })
        {
            var response = await Http.ExecuteAsync(functions.Get(Http.Request("GET"), id, CancellationToken.None));
            response.ShouldBe(400);
            Assert.StartsWith("application/problem+json", response.ContentType);
        }
    }

    [Theory]
    [InlineData("../models/other.jsonl")]
    [InlineData("inputs/../../models/other.jsonl")]
    [InlineData("/models/other.jsonl")]
    [InlineData("inputs/%2e%2e/%2e%2e/models/other.jsonl")]
    [InlineData("inputs\\..\\..\\models\\other.jsonl")]
    [InlineData("other.jsonl")]
    [InlineData("inputs/")]
    [InlineData("inputs//other.jsonl")]
    [InlineData("inputs/./other.jsonl")]
    [InlineData("inputs/other.jsonl\n")]
    [InlineData("../../etc/passwd")]
    [InlineData("inputs/a%2F..%2F..%2Fmodels%2Fother.jsonl")]
    public async Task AnInputBlobOutsideTheJobsInputsIsRejectedBeforeStorageIsRead(string inputBlob)
    {
        // A JSONL blob that would be a valid job if the name were followed outside the jobs container.
        var models = storage.Blobs.GetBlobContainerClient(StorageFixture.ModelsContainer);
        await models.GetBlobClient("other.jsonl").UploadAsync(BinaryData.FromString("{\"id\":\"1\",\"text\":\"Hello.\"}\n"),
            overwrite: true);
        using var app = NewApp();
        var body = JsonSerializer.Serialize(new { inputBlob });

        var response = await Http.ExecuteAsync(app.Function<JobFunctions>().Submit(Http.Request("POST", body), CancellationToken.None));

        response.ShouldBe(400);
        Assert.Contains("inputs/", response.Json.GetProperty("detail").GetString());
        Assert.Null((await Queue.PeekMessageAsync()).Value);
    }

    [Fact]
    public async Task GetJobWhileStorageIsUnreachableIs503WithRetryAfter()
    {
        using var app = NewApp(new() { ["AzureWebJobsStorage"] = StorageFixture.UnreachableConnectionString() });

        var response = await Http.ExecuteAsync(app.Function<JobFunctions>().Get(Http.Request("GET"), JobBlobNames.NewJobId(),
            CancellationToken.None));

        response.ShouldBe(503);
        Assert.StartsWith("application/problem+json", response.ContentType);
        Assert.Equal(Http.StorageRetryAfter.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            response.Headers.RetryAfter.ToString());
    }

    [Fact]
    public async Task MaxNewTokensAboveTheModelsLimitIsRejectedAtSubmit()
    {
        using var app = NewApp();

        var response = await Http.ExecuteAsync(app.Function<JobFunctions>().Submit(
            Http.Json(new { texts = new[] { "Hello." }, maxNewTokens = 512 }), CancellationToken.None));

        response.ShouldBe(400);
        Assert.Contains("between 1 and 127", response.Json.GetProperty("detail").GetString());
        Assert.Null((await Queue.PeekMessageAsync()).Value);
    }

    [Fact]
    public async Task AJobTextOverThePerTextLimitIsRejectedAtSubmit()
    {
        using var app = NewApp(new() { ["Translation:MaxCharacters"] = "100" });
        var container = storage.Blobs.GetBlobContainerClient(_jobsContainer);
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient("inputs/long.jsonl").UploadAsync(BinaryData.FromString(
            "{\"id\":\"1\",\"text\":\"Hello.\"}\n" + JsonSerializer.Serialize(new { id = "2", text = new string('a', 101) }) + "\n"));
        var functions = app.Function<JobFunctions>();

        var inline = await Http.ExecuteAsync(functions.Submit(Http.Json(new { texts = new[] { "Hello.", new string('a', 101) } }),
            CancellationToken.None));
        var fromBlob = await Http.ExecuteAsync(functions.Submit(Http.Json(new { inputBlob = "inputs/long.jsonl" }),
            CancellationToken.None));

        inline.ShouldBe(413);
        Assert.Contains("texts[1]", inline.Json.GetProperty("detail").GetString());
        fromBlob.ShouldBe(400);
        Assert.Contains("Line 2", fromBlob.Json.GetProperty("detail").GetString());
        Assert.Null((await Queue.PeekMessageAsync()).Value);
    }

    [Fact]
    public async Task AnInputBlobThatIsNotUtf8IsA400()
    {
        using var app = NewApp();
        var container = storage.Blobs.GetBlobContainerClient(_jobsContainer);
        await container.CreateIfNotExistsAsync();
        byte[] line = [.. "{\"id\":\"1\",\"text\":\"Hello "u8, 0xFF, 0xC0, 0x80, .. "\"}\n"u8];
        await container.GetBlobClient("inputs/latin.jsonl").UploadAsync(new BinaryData(line));

        var response = await Http.ExecuteAsync(app.Function<JobFunctions>().Submit(
            Http.Json(new { inputBlob = "inputs/latin.jsonl" }), CancellationToken.None));

        response.ShouldBe(400);
        Assert.Contains("UTF-8", response.Json.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AChunkMessageWhoseChunkCountDisagreesWithItsJobFailsTheJobWithoutAssembling()
    {
        using var app = NewApp();
        var functions = app.Function<JobFunctions>();
        var jobId = await SubmitTextsAsync(functions, new[] { "Hello." });
        Assert.Single(await ReceiveAllAsync(Queue, 1));
        await Queue.SendMessageAsync(new ChunkMessage { JobId = jobId, Chunk = 0, ChunkCount = 5 }.ToJson());

        await functions.ProcessChunk(Assert.Single(await ReceiveAllAsync(Queue, 1)), CancellationToken.None);

        var status = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("failed", status.GetProperty("state").GetString());
        Assert.Contains("chunkCount", status.GetProperty("errors")[0].GetProperty("message").GetString());
        Assert.False(await storage.Blobs.GetBlobContainerClient(_jobsContainer).GetBlobClient($"{jobId}/result.jsonl").ExistsAsync());
    }

    [Fact]
    public async Task AnInputBlobLineWithALoneSurrogateOrOnlyControlCharactersIsHandledAsTheApiDoes()
    {
        using var app = NewApp();
        var container = storage.Blobs.GetBlobContainerClient(_jobsContainer);
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient("inputs/surrogate.jsonl")
            .UploadAsync(BinaryData.FromString("{\"id\":\"1\",\"text\":\"a \\ud800 b\"}\n"));
        await container.GetBlobClient("inputs/control.jsonl").UploadAsync(BinaryData.FromString("{\"id\":\"1\",\"text\":\"\\u0000\"}\n"));
        var functions = app.Function<JobFunctions>();

        (await Http.ExecuteAsync(functions.Submit(Http.Json(new { inputBlob = "inputs/surrogate.jsonl" }),
            CancellationToken.None))).ShouldBe(202);
        (await Http.ExecuteAsync(functions.Submit(Http.Json(new { inputBlob = "inputs/control.jsonl" }),
            CancellationToken.None))).ShouldBe(400);
    }

    /// <summary>Every container and blob (with its ETag) in the account: what a test must leave unchanged.</summary>
    private async Task<List<string>> StorageSnapshotAsync()
    {
        var entries = new List<string>();
        await foreach (var container in storage.Blobs.GetBlobContainersAsync())
        {
            entries.Add(container.Name + "/");
            await foreach (var blob in storage.Blobs.GetBlobContainerClient(container.Name).GetBlobsAsync())
            {
                entries.Add($"{container.Name}/{blob.Name} {blob.Properties.ETag}");
            }
        }
        return entries;
    }

    /// <summary>Moves a message to the poison queue unchanged, as the host does after maxDequeueCount, runs the poison
    /// function on it, and returns the reason the now failed job gives.</summary>
    private async Task<string?> PoisonAndReadReasonAsync(JobFunctions functions, QueueMessage message, string jobId)
    {
        await Poison.SendMessageAsync(message.Body);
        await functions.ProcessPoison(Assert.Single(await ReceiveAllAsync(Poison, 1)), CancellationToken.None);
        var failed = (await Http.ExecuteAsync(functions.Get(Http.Request("GET"), jobId, CancellationToken.None))).Json;
        Assert.Equal("failed", failed.GetProperty("state").GetString());
        return failed.GetProperty("errors").EnumerateArray().Last().GetProperty("message").GetString();
    }

    /// <summary>Submits texts through the HTTP function and returns the accepted job's id.</summary>
    private static async Task<string> SubmitTextsAsync(JobFunctions functions, string[] texts)
    {
        var submitted = await Http.ExecuteAsync(functions.Submit(Http.Json(new { texts }), CancellationToken.None));
        submitted.ShouldBe(202);
        return submitted.Json.GetProperty("jobId").GetString()!;
    }

    private static int Chunk(QueueMessage message) =>
        JsonDocument.Parse(message.Body.ToString()).RootElement.GetProperty("chunk").GetInt32();

    /// <summary>Receives exactly the expected number of messages (the send already happened, so they are there).</summary>
    private static async Task<List<QueueMessage>> ReceiveAllAsync(QueueClient queue, int expected)
    {
        var messages = new List<QueueMessage>();
        while (messages.Count < expected)
        {
            var batch = (await queue.ReceiveMessagesAsync(maxMessages: 32)).Value;
            if (batch.Length == 0)
            {
                break;
            }

            messages.AddRange(batch);
        }
        Assert.Equal(expected, messages.Count);
        return messages;
    }

    /// <summary>The one message of a queue whose only message is hidden until a server-side visibility timeout
    /// passes: receives until the queue hands it out (bounded, so a lost message fails the test).</summary>
    private static async Task<QueueMessage> ReceiveOnceVisibleAsync(QueueClient queue)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            var received = (await queue.ReceiveMessagesAsync(maxMessages: 32)).Value;
            if (received.Length > 0)
            {
                return Assert.Single(received);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        throw new Xunit.Sdk.XunitException("The deferred chunk message never became visible.");
    }

    private async Task<List<JsonElement>> ReadResultAsync(string jobId)
    {
        var blob = storage.Blobs.GetBlobContainerClient(_jobsContainer).GetBlobClient($"{jobId}/result.jsonl");
        var text = (await blob.DownloadContentAsync()).Value.Content.ToString();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
    }
}
