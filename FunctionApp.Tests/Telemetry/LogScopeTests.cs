using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using ServerlessInference.Functions;
using ServerlessInference.Jobs;
using ServerlessInference.Telemetry;

namespace ServerlessInference.Tests.Telemetry;

/// <summary>Per-request and per-chunk detail lives in the logs: every line of one carries its ids as scope values.</summary>
[Collection(StorageCollection.Name)]
public sealed class LogScopeTests(StorageFixture storage)
{
    [Fact]
    public async Task EveryLineOfAJobChunkNamesItsJobAndChunk()
    {
        var container = StorageFixture.UniqueContainer("jobs");
        using var app = new TestApp(storage, new Dictionary<string, string?> { ["Jobs:Container"] = container });
        var functions = app.Function<JobFunctions>();
        var queue = new QueueClient(storage.ConnectionString, JobsOptions.Queue,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        await queue.CreateIfNotExistsAsync();
        await queue.ClearMessagesAsync();
        var submitted = await Http.ExecuteAsync(functions.Submit(Http.Json(new { texts = new[] { "Hello.", "Good night." } }),
            CancellationToken.None));
        var jobId = submitted.ShouldBe(202).Json.GetProperty("jobId").GetString()!;
        var message = Assert.Single((await queue.ReceiveMessagesAsync(maxMessages: 32)).Value);
        var before = app.Logs.Lines.Count;

        await functions.ProcessChunk(message, CancellationToken.None);

        var chunkLines = app.Logs.Lines.Skip(before).ToList();
        Assert.Contains(chunkLines, l => l.Message.StartsWith("Translated 2 texts", StringComparison.Ordinal));
        Assert.Contains(chunkLines, l => l.Message.Contains("completed", StringComparison.Ordinal));
        Assert.All(chunkLines, l => Assert.Equal((jobId, (object?)0), ((string?)l.Scope["JobId"], l.Scope["Chunk"])));
    }

    [Fact]
    public void InvocationScopeCarriesTheInvocationAndTraceIds()
    {
        var logs = new RecordingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var logger = factory.CreateLogger("test");

        using (InvocationLogScope.Begin(logger, "inv-1", "Translate", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        {
            logger.LogInformation("inside");
        }

        logger.LogInformation("outside");
        var inside = logs.Lines[0].Scope;
        Assert.Equal(("inv-1", "Translate", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ((string?)inside["InvocationId"], (string?)inside["FunctionName"], (string?)inside["TraceId"]));
        Assert.Empty(logs.Lines[1].Scope);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("garbage", null)]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "0af7651916cd43dd8448eb211c80319c")]
    public void TraceIdIsReadFromAW3CTraceparent(string? traceParent, string? expected) =>
        Assert.Equal(expected, InvocationLogScope.TraceId(traceParent));
}
