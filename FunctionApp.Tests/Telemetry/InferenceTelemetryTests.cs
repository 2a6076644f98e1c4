using ServerlessInference.Functions;
using ServerlessInference.Telemetry;

namespace ServerlessInference.Tests.Telemetry;

[Collection(StorageCollection.Name)]
public sealed class InferenceTelemetryTests(StorageFixture storage)
{
    [Fact]
    public async Task TranslationEmitsLatencyTokenAndBatchMetricsThroughTheTelemetryClient()
    {
        using var app = new TestApp(storage);
        await app.Function<TranslateFunction>().Run(Http.Json(new { texts = new[] { "One.", "Two." } }), CancellationToken.None);

        var t = app.Telemetry;
        var download = Assert.Single(t.Metrics(InferenceTelemetry.Metrics.ModelDownloadBytes));
        var expectedBytes = ShippedModelFiles.Needed().Sum(f => new FileInfo(Path.Combine(RepoPaths.ShippedModel, f)).Length);
        Assert.Equal(expectedBytes, download.Sum);
        Assert.Equal(RepoPaths.ShippedModelName, download.Properties["Model"]);
        Assert.Single(t.Metrics(InferenceTelemetry.Metrics.ModelDownloadDurationMs));
        Assert.Single(t.Metrics(InferenceTelemetry.Metrics.SessionCreationMs));
        Assert.Single(t.Metrics(InferenceTelemetry.Metrics.TranslateLatencyMs));
        Assert.Equal(2, Assert.Single(t.Metrics(InferenceTelemetry.Metrics.BatchSize)).Sum);
        Assert.True(Assert.Single(t.Metrics(InferenceTelemetry.Metrics.InputTokens)).Sum > 0);
        Assert.True(Assert.Single(t.Metrics(InferenceTelemetry.Metrics.OutputTokens)).Sum > 0);
        Assert.Equal("http", t.Metrics(InferenceTelemetry.Metrics.TranslateLatencyMs)[0].Properties["Source"]);
    }
}
