using ServerlessInference.Tests.Support;

namespace ServerlessInference.E2ETests.Http;

/// <summary>A fresh instance (its own storage, host and model cache) hit by a burst before any model is loaded.</summary>
[Collection(HostCollection.Name)]
public sealed class ColdStartTests
{
    [HostFact]
    public async Task FiftyConcurrentFirstCallsAllTranslateAfterOneDownloadAndOneLoad()
    {
        await using var app = await AppInstance.StartAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 50)
            .Select(i => app.Host.SendAsync(HttpMethod.Post, "api/translate", new { text = $"Hello number {i}." })));

        Assert.All(answers, a => a.ShouldBe(200));
        var metrics = await app.ScrapeAsync();
        Assert.Equal(1, metrics.Sum("model_download_duration_seconds_count"));
        Assert.Equal(1, metrics.Sum("model_load_duration_seconds_count"));
        Assert.Equal(50, metrics.Sum("http_server_request_duration_seconds_count", ("faas_invoked_name", "Translate"),
            ("http_response_status_code", "200")));
    }
}
