using ServerlessInference.Functions;
using ServerlessInference.ModelHosting;
using ServerlessInference.Telemetry;
using Xunit;

namespace ServerlessInference.Tests.Functions;

[Collection(StorageCollection.Name)]
public sealed class ReadinessTests(StorageFixture storage)
{
    /// <summary>Bounds every wait for a load, so a hung load fails the test instead of hanging it.</summary>
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task ColdInstanceIsNotReadyUntilTheLoadItsFirstProbeStartedHasFinished()
    {
        using var app = new TestApp(storage);
        var host = app.Get<ModelHost>();
        var ready = app.Function<ReadyFunction>();

        (await Http.ExecuteAsync(app.Function<HealthFunction>().Run(Http.Request("GET")))).ShouldBe(200);
        Assert.Equal(ModelState.NotLoaded, DefaultState(host)); // liveness never starts a load

        var cold = await Http.ExecuteAsync(ready.Run(Http.Request("GET")));
        cold.ShouldBe(503);
        Assert.StartsWith("application/problem+json", cold.ContentType);
        Assert.Equal("10", cold.Headers.RetryAfter.ToString());
        Assert.Contains($"'{RepoPaths.ShippedModelName}' is loading", cold.Json.GetProperty("detail").GetString());
        Assert.NotEqual(ModelState.NotLoaded, DefaultState(host)); // the probe started the load without waiting for it

        // Probes while it loads neither wait for it nor start another.
        var whileLoading = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Http.ExecuteAsync(ready.Run(Http.Request("GET")))));
        Assert.All(whileLoading, r => Assert.Contains(r.Status, new[] { 200, 503 }));

        using (await host.AcquireAsync(null, CancellationToken.None).WaitAsync(LoadTimeout))
        {
            // Joins the load the probe started (single flight), so the instance is ready once it returns.
        }

        var warm = await Http.ExecuteAsync(ready.Run(Http.Request("GET")));
        warm.ShouldBe(200);
        Assert.StartsWith("application/json", warm.ContentType);
        Assert.Equal("ready", warm.Json.GetProperty("status").GetString());
        Assert.Equal(RepoPaths.ShippedModelName, warm.Json.GetProperty("model").GetString());
        Assert.Equal("ready", warm.Json.GetProperty("state").GetString());
        Assert.Equal(app.Clock.GetUtcNow(), warm.Json.GetProperty("readySince").GetDateTimeOffset());
        Assert.True(warm.Json.GetProperty("batchInvariant").GetBoolean(), warm.Body);
        Assert.Equal(1, app.Factory.Loads);
    }

    [Fact]
    public async Task FailedLoadIsReportedWithItsReasonAndRetriedOnlyAfterTheBackOff()
    {
        using var app = new TestApp(storage, new Dictionary<string, string?>
        {
            ["Models:DefaultModel"] = "ghost",
            ["Models:Catalog:0:Name"] = "ghost",
            ["Models:Catalog:0:Prefix"] = "ghost-never-uploaded/",
        });
        var host = app.Get<ModelHost>();
        var ready = app.Function<ReadyFunction>();

        (await Http.ExecuteAsync(ready.Run(Http.Request("GET")))).ShouldBe(503);
        await Assert.ThrowsAsync<ModelUnavailableException>(() => host.AcquireAsync(null, CancellationToken.None).WaitAsync(LoadTimeout));

        for (var probe = 0; probe < 5; probe++)
        {
            var failed = await Http.ExecuteAsync(ready.Run(Http.Request("GET")));
            failed.ShouldBe(503);
            Assert.StartsWith("application/problem+json", failed.ContentType);
            Assert.Equal("10", failed.Headers.RetryAfter.ToString());
            var detail = failed.Json.GetProperty("detail").GetString();
            Assert.Contains("'ghost' failed to load", detail);
            Assert.Contains("ghost-never-uploaded/", detail);
        }
        Assert.Equal(1, FailedLoads(app)); // probes within the back-off do not retry the load

        app.Clock.Advance(TimeSpan.FromSeconds(4));
        var later = await Http.ExecuteAsync(ready.Run(Http.Request("GET")));
        Assert.Equal("6", later.ShouldBe(503).Headers.RetryAfter.ToString()); // the back-off's remainder

        app.Clock.Advance(TimeSpan.FromSeconds(6));
        var retrying = await Http.ExecuteAsync(ready.Run(Http.Request("GET")));
        Assert.Contains("is loading", retrying.ShouldBe(503).Json.GetProperty("detail").GetString());
        await Assert.ThrowsAsync<ModelUnavailableException>(() => host.AcquireAsync(null, CancellationToken.None).WaitAsync(LoadTimeout));
        Assert.Equal(2, FailedLoads(app));
        Assert.Equal(0, app.Factory.Loads);
    }

    [Fact]
    public async Task ReadyInstanceStaysReadyWhenItsDefaultModelIsEvictedAndTheProbeDoesNotReloadIt()
    {
        var prefix = RepoPaths.ShippedModelName + "/";
        using var app = new TestApp(storage, new Dictionary<string, string?>
        {
            ["Models:MaxLoaded"] = "1",
            ["Models:DefaultModel"] = "a",
            ["Models:Catalog:0:Name"] = "a",
            ["Models:Catalog:0:Prefix"] = prefix,
            ["Models:Catalog:1:Name"] = "b",
            ["Models:Catalog:1:Prefix"] = prefix,
        });
        var host = app.Get<ModelHost>();
        var ready = app.Function<ReadyFunction>();
        (await Http.ExecuteAsync(ready.Run(Http.Request("GET")))).ShouldBe(503);
        using (await host.AcquireAsync("a", CancellationToken.None).WaitAsync(LoadTimeout))
        {
        }
        (await Http.ExecuteAsync(ready.Run(Http.Request("GET")))).ShouldBe(200);

        using var b = await host.AcquireAsync("b", CancellationToken.None).WaitAsync(LoadTimeout); // evicts "a"
        var afterEviction = await Http.ExecuteAsync(ready.Run(Http.Request("GET")));

        Assert.Equal("notLoaded", afterEviction.ShouldBe(200).Json.GetProperty("state").GetString());
        Assert.Equal(ModelState.NotLoaded, host.GetStatuses().Single(s => s.Name == "a").State);
        Assert.Equal(2, app.Factory.Loads);
    }

    private static ModelState DefaultState(ModelHost host) =>
        host.GetStatuses().Single(s => s.Name == RepoPaths.ShippedModelName).State;

    private static int FailedLoads(TestApp app) => app.FlushTelemetry().Count(InferenceTelemetry.Instruments.ModelLoadDuration,
        InferenceTelemetry.Attributes.ErrorType, InferenceTelemetry.FailureKinds.ModelMissing);
}
