using ServerlessInference.E2ETests.Support;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Tests.Fuzz;
using Xunit.Abstractions;

namespace ServerlessInference.E2ETests.Http;

/// <summary>The in-process fuzz corpus (FunctionApp.Tests/Fuzz) sent over real HTTP through the host: whatever the
/// request, the caller gets an answer, never a 5xx other than 503 with Retry-After, and never a 2xx for a request
/// the corpus marks invalid.</summary>
[Collection(HostCollection.Name)]
public sealed class FuzzOverHttpTests(HostFixture fixture, ITestOutputHelper output)
{
    private static int ModelMaxNewTokens => MarianModelFolder.Read(RepoPaths.ShippedModel).Generation.MaxLength - 1;

    private FunctionsHost Host => fixture.Host;

    [HostFact]
    public Task TranslateCorpus() => RunAsync("translate", HttpCases.Translate(seed: 1001, ModelMaxNewTokens), _ => "/api/translate");

    [HostFact]
    public async Task SubmitJobCorpus()
    {
        foreach (var (name, content) in HttpCases.SubmitInputBlobs)
        {
            await fixture.App.Jobs.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(content), overwrite: true);
        }

        await RunAsync("submit", HttpCases.Submit(seed: 1002, ModelMaxNewTokens), _ => "/api/jobs");
    }

    [HostFact]
    public async Task GetJobCorpus()
    {
        var existing = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            existing.Add(await new Jobs.JobDriver(fixture.App).SubmitAsync(new { texts = new[] { "Hello." } }));
        }

        await RunAsync("get", HttpCases.Get(seed: 1003, existing), c => "/api/jobs/" + Uri.EscapeDataString(c.JobId!));
    }

    [HostFact]
    public Task HealthCorpus() => RunAsync("health", HttpCases.Health(seed: 1004), _ => "/api/health");

    private async Task RunAsync(string title, IEnumerable<HttpCase> cases, Func<HttpCase, string> path)
    {
        var (sent, skipped) = (0, 0);
        var statuses = new SortedDictionary<int, int>();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            // A Content-Length above what is sent leaves the server waiting for bytes that never come: a slow-client
            // test, not a fuzz case, over a real connection.
            if (c.DeclaredLength is { } declared && declared > c.Body.Length)
            {
                skipped++;
                continue;
            }

            var headers = new List<(string, string)> { ("x-functions-key", Host.FunctionKey) };
            if (c.ContentType is not null)
            {
                headers.Add(("Content-Type", c.ContentType));
            }

            var target = path(c) + (c.Query ?? "");
            var answer = await RawHttp.SendAsync(Host.Port, new RawHttp.Request(c.Method, target, c.Body)
            {
                Headers = headers,
                ContentLength = c.DeclaredLength ?? (c.SendsContentLength || c.Body.Length == 0 ? c.Body.Length : null),
            });
            sent++;
            if (answer is null)
            {
                failures.Add($"no answer: {c}");
                continue;
            }

            statuses[answer.Status] = statuses.GetValueOrDefault(answer.Status) + 1;
            if (answer.Status >= 500 && !answer.IsRetryableUnavailable)
            {
                failures.Add($"{answer.Status}: {c} -> {answer.Preview(200)}");
            }
            else if (!c.IsValid && answer.Status is >= 200 and < 300)
            {
                failures.Add($"{answer.Status} for an invalid request: {c}");
            }
        }

        output.WriteLine($"fuzz over HTTP, {title}: {sent} cases sent, {skipped} skipped (declared length above the body); " +
                         $"statuses {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}");
        Assert.False(Host.HasExited);
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n{string.Join('\n', failures.Take(20))}");
    }
}
