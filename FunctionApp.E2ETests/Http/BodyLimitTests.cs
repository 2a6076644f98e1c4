using System.Text;
using ServerlessInference.Tests.Support;

namespace ServerlessInference.E2ETests.Http;

/// <summary>The body limit as callers meet it through the host's proxy: bodies sent at once behind their headers
/// (Python, Node, browsers) and after <c>100 Continue</c> (curl), with Content-Length and chunked, just under the
/// limit and over it, over Kestrel's default too. Over the limit is a 413 problem, never the proxy's empty 500.</summary>
[Collection(HostCollection.Name)]
public sealed class BodyLimitTests(HostFixture fixture)
{
    /// <summary>Http__MaxRequestBodyBytes' default, which the shared instance runs with.</summary>
    private const int Limit = 16 * 1024 * 1024;

    private FunctionsHost Host => fixture.Host;


    [HostFact]
    public async Task EveryFramingGetsTheAnswerForItsSizeAndTheMetricCountsWhatTheCallerSaw()
    {
        var before = await fixture.App.ScrapeAsync();
        var seen = new List<int>();
        foreach (var (contentLength, expectContinue) in new[] { (true, false), (true, true), (false, false), (false, true) })
        {
            var how = $"{(contentLength ? "Content-Length" : "chunked")}{(expectContinue ? ", Expect: 100-continue" : "")}";
            foreach (var (size, status) in new[] { (Limit, 200), (Limit + 1, 413), (31_000_000, 413) })
            {
                var answer = await PostAsync("/api/translate", Padded("{\"text\":\"Hello.\"}", size), contentLength, expectContinue);
                Assert.True(answer is not null, $"{how}, {size} bytes: the connection ended without an answer");
                Assert.True(answer.Status == status, $"{how}, {size} bytes: expected {status}, got {answer}");
                if (status == 413)
                {
                    Assert.Contains($"{Limit} bytes", answer.ShouldBeProblem(413));
                }

                seen.Add(answer.Status);
            }
        }

        var jobs = await PostAsync("/api/jobs", Padded("{\"texts\":[\"Hello.\"]}", Limit + 1), contentLength: true, expectContinue: false);
        Assert.True(jobs is { Status: 413 }, $"POST /api/jobs over the limit: {jobs}");
        jobs.ShouldBeProblem(413);
        var after = await fixture.App.ScrapeAsync();

        foreach (var (function, status, count) in new[]
                 {
                     ("Translate", "200", seen.Count(s => s == 200)), ("Translate", "413", seen.Count(s => s == 413)),
                     ("SubmitJob", "413", 1),
                 })
        {
            (string, string)[] labels = [("faas_invoked_name", function), ("http_response_status_code", status)];
            var recorded = after.Sum("http_server_request_duration_seconds_count", labels)
                           - before.Sum("http_server_request_duration_seconds_count", labels);
            Assert.True(recorded == count, $"{function} {status}: the metric recorded {recorded}, callers got {count}");
        }
    }

    private Task<Answer?> PostAsync(string path, byte[] body, bool contentLength, bool expectContinue) =>
        RawHttp.SendAsync(Host.Port, new RawHttp.Request("POST", path, body)
        {
            Headers = [("Content-Type", "application/json"), ("x-functions-key", Host.FunctionKey)],
            ContentLength = contentLength ? body.Length : null,
            ExpectContinue = expectContinue,
        });

    /// <summary>Valid JSON of exactly <paramref name="size"/> bytes: the object, then spaces.</summary>
    private static byte[] Padded(string json, int size)
    {
        var body = new byte[size];
        Array.Fill(body, (byte)' ');
        Encoding.UTF8.GetBytes(json).CopyTo(body, 0);
        return body;
    }
}
