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

    [Fact]
    public async Task BatchDependentVariantIsReportedAndLoggedWhenLoaded()
    {
        // The committed q8 files quantize activations with one scale per batch (DynamicQuantizeLinear).
        using var app = new TestApp(storage, new Dictionary<string, string?>
        {
            ["Models:Catalog:0:Name"] = RepoPaths.ShippedModelName,
            ["Models:Catalog:0:Prefix"] = RepoPaths.ShippedModelName + "/",
            ["Models:Catalog:0:Dtype"] = "q8",
        });

        var translated = await Http.ExecuteAsync(
            app.Function<TranslateFunction>().Run(Http.Json(new { text = "Hello." }), CancellationToken.None));
        translated.ShouldBe(200);
        var health = await Http.ExecuteAsync(app.Function<HealthFunction>().Run(Http.Request("GET")));
        Assert.False(health.Json.GetProperty("models")[0].GetProperty("batchInvariant").GetBoolean(), health.Body);
        Assert.Contains(app.Logs.Lines, l => l.Message.StartsWith($"Model {RepoPaths.ShippedModelName} loaded with a caveat",
            StringComparison.Ordinal) && l.Message.Contains("DynamicQuantizeLinear", StringComparison.Ordinal));
    }
}
