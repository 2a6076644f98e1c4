using Microsoft.ApplicationInsights.DataContracts;
using ServerlessInference.Functions;
using ServerlessInference.Tests.Support;
using A = ServerlessInference.Telemetry.InferenceTelemetry.Attributes;
using I = ServerlessInference.Telemetry.InferenceTelemetry.Instruments;

namespace ServerlessInference.Tests.Telemetry;

/// <summary>What Application Insights receives: the app's instruments, pre-aggregated by the real TelemetryClient and
/// sent through its channel (recorded in memory).</summary>
[Collection(StorageCollection.Name)]
public sealed class InferenceTelemetryTests(StorageFixture storage)
{
    [Fact]
    public async Task TranslationReachesApplicationInsightsAsTheSameInstrumentsWithTheirAttributes()
    {
        using var app = new TestApp(storage);
        await app.Function<TranslateFunction>().Run(Http.Json(new { texts = new[] { "One.", "Two." } }), CancellationToken.None);

        var t = app.FlushTelemetry();
        var download = Assert.Single(t.Metrics(I.ModelDownloadSize));
        var expectedBytes = ShippedModelFiles.Needed().Sum(f => new FileInfo(Path.Combine(RepoPaths.ShippedModel, f)).Length);
        Assert.Equal(expectedBytes, download.Sum);
        Assert.Equal(RepoPaths.ShippedModelName, download.Properties[A.Model]);
        Assert.Equal(1, t.Count(I.ModelDownloadDuration));
        Assert.Equal(1, t.Count(I.ModelLoadDuration, A.Outcome, "success"));
        Assert.Equal(1, t.Sum(I.ColdStarts));

        var translation = Assert.Single(t.Metrics(I.TranslationDuration));
        Assert.Equal(1, translation.Count);
        Assert.Equal(("http", "success", RepoPaths.ShippedModelName),
            (translation.Properties[A.Source], translation.Properties[A.Outcome], translation.Properties[A.Model]));
        Assert.Equal(2, t.Sum(I.TranslationTexts));
        Assert.True(t.Sum(I.TranslationTokens, A.TokenType, "input") > 0);
        Assert.True(t.Sum(I.TranslationTokens, A.TokenType, "output") > 0);
        // Both sentences arrive together at an idle engine and decode in one continuous batch, which reports each
        // step at which sentences finished: together they are the two sentences.
        var batch = Assert.Single(t.Metrics(I.BatchSize));
        Assert.Equal(2.0, batch.Sum);
        Assert.Equal(batch.Count, t.Count(I.BatchDuration, A.Outcome, "success"));
        Assert.Equal(2, t.Count(I.QueueWait, A.Priority, "interactive"));
    }

    [Fact]
    public async Task FailedTranslationsAreCountedByOutcome()
    {
        using var app = new TestApp(storage);
        var function = app.Function<TranslateFunction>();
        (await Http.ExecuteAsync(function.Run(Http.Json(new { text = "Hi." }), CancellationToken.None))).ShouldBe(200);
        // Beyond the model's own max_length: rejected by the engine, after parsing.
        (await Http.ExecuteAsync(function.Run(Http.Json(new { text = "Hi.", maxNewTokens = 512 }), CancellationToken.None)))
            .ShouldBe(400);

        var t = app.FlushTelemetry();
        Assert.Equal(1, t.Count(I.TranslationDuration, A.Outcome, "success"));
        Assert.Equal(1, t.Count(I.TranslationDuration, A.Outcome, "invalid_input"));
    }

    [Fact]
    public async Task InstancesInOneProcessReportOnlyTheirOwnMeasurements()
    {
        using var busy = new TestApp(storage);
        using var idle = new TestApp(storage);
        await busy.Function<TranslateFunction>().Run(Http.Json(new { text = "One." }), CancellationToken.None);

        Assert.Equal(1, busy.FlushTelemetry().Count(I.TranslationDuration));
        Assert.Empty(idle.FlushTelemetry().Items.OfType<MetricTelemetry>());
    }
}
