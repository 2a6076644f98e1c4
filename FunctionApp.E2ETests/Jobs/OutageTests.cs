using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ServerlessInference.E2ETests.Jobs;

/// <summary>Storage goes away for less time than the host takes to give up (~25 s of queue-listener failures) while
/// a job runs: callers get 503 with Retry-After, the warm model keeps translating, and the job then completes with
/// every line exactly once.</summary>
[Collection(HostCollection.Name)]
public sealed partial class OutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(12);

    [HostFact]
    public async Task DuringAShortStorageOutageCallersGet503WithRetryAfterAndTheJobThenCompletesExactlyOnce()
    {
        // Small chunks, so the job is still running when storage goes.
        await using var app = await AppInstance.StartAsync(new Dictionary<string, string> { ["Jobs__ChunkSize"] = "4" });
        var jobs = new JobDriver(app);
        (await app.Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hello." })).ShouldBe(200);
        var texts = Enumerable.Range(0, 400).Select(i => $"Sentence number {i} is here.").ToArray();
        var jobId = await jobs.SubmitAsync(new { texts });
        await WaitUntilRunningAsync(app, jobId);

        var outageStarted = DateTimeOffset.UtcNow;
        await app.Storage.StopAsync();
        var stopwatch = Stopwatch.StartNew();
        var get = await app.Host.SendAsync(HttpMethod.Get, $"api/jobs/{jobId}");
        var submit = await app.Host.SendAsync(HttpMethod.Post, "api/jobs", new { texts = new[] { "Hello." } });
        var translate = await app.Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Good night." });
        var remaining = Outage - stopwatch.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining); // the outage itself: storage stays down this long
        }

        await app.Storage.StartAsync();
        var outageLog = app.Host.LogSince(outageStarted);

        foreach (var answer in new[] { get, submit })
        {
            Assert.Contains("Storage is unavailable", answer.ShouldBeProblem(503));
            Assert.True(answer.IsRetryableUnavailable, answer.ToString());
        }

        translate.ShouldBe(200); // the loaded model needs no storage
        var status = await new JobDriver(app).WaitForEndAsync(jobId, TimeSpan.FromMinutes(4));
        JobDriver.ShouldBeCompleted(status);
        var result = await jobs.ResultAsync(jobId);
        Assert.Equal(Enumerable.Range(0, 400).Select(i => i.ToString()), result.Select(r => r.GetProperty("id").GetString()));
        Assert.False(app.Host.HasExited);

        // One line per failed call, not a stack trace each: stack traces appear only under the records of failed
        // invocations (the host's "Executed ... (Failed)" and the worker's), never under the app's warnings or the
        // storage SDK's per-request events.
        var frames = outageLog.Count(IsStackFrame);
        output.WriteLine($"outage log: {outageLog.Count} lines, {frames} stack frame lines");
        Assert.Contains(outageLog, l => l.Contains("Storage unavailable; answered 503", StringComparison.Ordinal));
        if (!outageLog.Any(l => RecordHeader().IsMatch(l)))
        {
            output.WriteLine("The host's console log is not in the 'level: Category[id]' form; its stack traces are not checked.");
            return;
        }

        string? header = null;
        var misplaced = new List<string>();
        foreach (var line in outageLog)
        {
            if (RecordHeader().IsMatch(line))
            {
                header = line;
            }
            else if (IsStackFrame(line) && header is not null && !FailedInvocation().IsMatch(header) && !misplaced.Contains(header))
            {
                misplaced.Add(header);
            }
        }

        Assert.True(misplaced.Count == 0, $"stack traces under: {string.Join(" | ", misplaced)}");
    }

    private static bool IsStackFrame(string line) => line.TrimStart().StartsWith("at ", StringComparison.Ordinal);

    [GeneratedRegex(@"^(trce|dbug|info|warn|fail|crit): \S+\[\d+\]")]
    private static partial Regex RecordHeader();

    [GeneratedRegex(@"^fail: (Function\.\w+(\.User)?|Host\.Results)\[\d+\]")]
    private static partial Regex FailedInvocation();

    private static async Task WaitUntilRunningAsync(AppInstance app, string jobId)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            var status = (await app.Host.SendAsync(HttpMethod.Get, $"api/jobs/{jobId}")).ShouldBe(200);
            if (status.GetProperty("chunksDone").GetInt32() > 0)
            {
                return;
            }

            await Task.Delay(50); // polling the job's status
        }

        throw new TimeoutException($"Job {jobId} did not start.");
    }
}
