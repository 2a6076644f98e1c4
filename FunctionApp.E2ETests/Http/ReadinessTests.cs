using ServerlessInference.Tests.Support;

namespace ServerlessInference.E2ETests.Http;

/// <summary>Readiness through the host on a fresh instance, as a Kubernetes probe sees it: no key, 503 while the
/// default model is not loaded, 200 once it is.</summary>
[Collection(HostCollection.Name)]
public sealed class ReadinessTests
{
    [HostFact]
    public async Task ColdInstanceAnswersNotReadyWithoutAKeyThenReadyOnceItsDefaultModelHasLoaded()
    {
        await using var app = await AppInstance.StartAsync();

        var cold = await app.Host.SendAsync(HttpMethod.Get, "api/ready", withKey: false);
        Assert.Contains("is loading", cold.ShouldBeProblem(503));
        Assert.True(cold.IsRetryableUnavailable, cold.ToString());
        var liveness = (await app.Host.SendAsync(HttpMethod.Get, "api/health", withKey: false)).ShouldBe(200);
        Assert.Equal("alive", liveness.GetProperty("status").GetString());

        // A translation waits for the load the probe started (one load, shared), bounded by the client's timeout.
        (await app.Host.SendAsync(HttpMethod.Post, "api/translate", new { text = "Hello." })).ShouldBe(200);

        var warm = (await app.Host.SendAsync(HttpMethod.Get, "api/ready", withKey: false)).ShouldBe(200);
        Assert.Equal("ready", warm.GetProperty("status").GetString());
        Assert.Equal(AppInstance.ModelName, warm.GetProperty("model").GetString());
        var metrics = await app.ScrapeAsync();
        Assert.Equal(1, metrics.Sum("model_load_duration_seconds_count"));
    }
}
