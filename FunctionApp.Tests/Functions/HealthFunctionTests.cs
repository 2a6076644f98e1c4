using ServerlessInference.Functions;

namespace ServerlessInference.Tests.Functions;

[Collection(StorageCollection.Name)]
public sealed class HealthFunctionTests(StorageFixture storage)
{
    [Fact]
    public async Task HealthIsAnonymousLivenessAndReportsModelStatesWithoutLoading()
    {
        using var app = new TestApp(storage);
        var health = app.Function<HealthFunction>();

        var before = await Http.ExecuteAsync(health.Run(Http.Request("GET")));
        before.ShouldBe(200);
        Assert.Equal("alive", before.Json.GetProperty("status").GetString());
        Assert.Equal("notLoaded", before.Json.GetProperty("models")[0].GetProperty("state").GetString());
        // Read from the graphs, so not known before the load.
        Assert.False(before.Json.GetProperty("models")[0].TryGetProperty("batchInvariant", out _), before.Body);
        Assert.Equal(0, app.Factory.Loads);

        await app.Function<TranslateFunction>().Run(Http.Json(new { text = "Hello." }), CancellationToken.None);
        var after = await Http.ExecuteAsync(health.Run(Http.Request("GET")));
        var model = after.Json.GetProperty("models")[0];
        var load = after.Json.GetProperty("backlog");
        Assert.Equal(0, load.GetProperty("pendingSentences").GetInt64());
        Assert.True(load.GetProperty("sentencesPerSecond").GetDouble() > 0, after.Body);
        Assert.Equal(RepoPaths.ShippedModelName, model.GetProperty("name").GetString());
        Assert.True(model.GetProperty("state").GetString() == "ready", after.Body);
        Assert.True(model.GetProperty("batchInvariant").GetBoolean(), after.Body);
    }
}
