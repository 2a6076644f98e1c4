using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ServerlessInference.E2ETests.Jobs;

/// <summary>Storage goes away for less time than the host takes to give up (~25 s of queue-listener failures) with a
/// job's chunks queued: callers get 503 with Retry-After, the warm model keeps translating, and the job then completes
/// with every line exactly once. The chunks become visible only after storage has gone, so none is in flight when it
/// goes: a message the host had already taken could neither be deleted nor released during the outage, and the
/// host's queue listener leases messages for a fixed 10 minutes (the job then completes only after that; docs/jobs.md).
/// </summary>
[Collection(HostCollection.Name)]
public sealed partial class OutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(12);

    /// <summary>How long the chunk messages stay invisible: long enough for storage to be stopped first.</summary>
    private static readonly TimeSpan QueuedFor = TimeSpan.FromSeconds(8);

    [HostFact]
    public async Task DuringAShortStorageOutageCallersGet503WithRetryAfterAndTheJobThenCompletesExactlyOnce()
    {
        await using var app = await AppInstance.StartAsync();
        var jobs = new JobDriver(app);
        (await app.Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hello." })).ShouldBe(200);
        var earlier = await jobs.SubmitAsync(new { texts = new[] { "Good morning." } });
        JobDriver.ShouldBeCompleted(await jobs.WaitForEndAsync(earlier));
        var chunks = Enumerable.Range(0, 25)
            .Select(c => Enumerable.Range(c * 4, 4).Select(i => JobDriver.Line(i.ToString(), $"Sentence number {i} is here.")).ToArray())
            .ToArray();
        var jobId = await jobs.WriteInputAsync(chunks);
        for (var chunk = 0; chunk < chunks.Length; chunk++)
        {
            await jobs.SendPlainAsync(JobDriver.Message(jobId, chunk, chunks.Length), QueuedFor);
        }

        var outageStarted = DateTimeOffset.UtcNow;
        await app.Storage.StopAsync();
        var stopwatch = Stopwatch.StartNew();
        var get = await app.Host.SendAsync(HttpMethod.Get, $"api/jobs/{earlier}");
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
        JobDriver.ShouldBeCompleted(await jobs.WaitForEndAsync(jobId, TimeSpan.FromMinutes(2)));
        var result = await jobs.ResultAsync(jobId);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString()), result.Select(r => r.GetProperty("id").GetString()));
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
}
