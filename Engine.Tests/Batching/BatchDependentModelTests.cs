using ServerlessInference.Engine.Batching;

namespace ServerlessInference.Engine.Tests.Batching;

/// <summary>
/// A variant whose output depends on its batch-mates (the shipped q8: DynamicQuantizeLinear takes one activation scale
/// over the whole batch) is recognised from its graphs, and the scheduler then never puts two sentences in one run, so
/// a caller's translation does not change with other callers' traffic.
/// </summary>
[Collection(ShippedModelCollection.Name)]
public sealed class BatchDependentModelTests(ShippedModelFixture model)
{
    [Fact]
    public void PlainAndFourBitGraphsAreBatchInvariant()
    {
        Assert.True(model.Engine.Limits.BatchInvariant);
        Assert.Empty(model.Engine.Limits.LoadNotes);
        using var q4 = TranslationEngine.Load("q4", RepoPaths.ShippedModel, new EngineOptions { IntraOpThreads = 1 }, "q4");
        Assert.True(q4.Limits.BatchInvariant);
    }

    [Fact]
    public async Task DynamicallyQuantizedSentencesRunOneAtATimeAndEqualTheirTranslationAlone()
    {
        using var q8 = TranslationEngine.Load("q8", RepoPaths.ShippedModel, new EngineOptions { IntraOpThreads = 1 }, "q8");
        Assert.False(q8.Limits.BatchInvariant);
        Assert.Contains(q8.Limits.LoadNotes, n => n.Contains("DynamicQuantizeLinear", StringComparison.Ordinal)
            && n.Contains("one at a time", StringComparison.Ordinal));

        using var engine = new GatedEngine(q8);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 32 });
        Assert.Equal(1, scheduler.MaxBatchSize);
        var blocker = await engine.HoldAsync(scheduler);
        var texts = model.Greedy.Take(40).Select(c => c.Source).ToArray();
        // One caller with many sentences and many callers with one each: both would share batches with a
        // batch-invariant model (BatchSchedulerTests).
        var many = scheduler.TranslateAsync(new TranslationRequest(texts[..20]) { Beams = 1 }, WorkPriority.Interactive, default);
        var single = texts[20..].Select(t => scheduler.TranslateAsync(new TranslationRequest([t]) { Beams = 1 },
            WorkPriority.Interactive, default)).ToArray();
        engine.Open();
        await blocker;
        var batched = (await many).Translations.Concat((await Task.WhenAll(single)).Select(r => r.Translations[0])).ToArray();

        Assert.All(engine.Runs, run => Assert.Single(run.Sources));
        var alone = new BatchScheduler(q8, new BatchSchedulerOptions());
        for (int i = 0; i < texts.Length; i++)
        {
            var expected = await alone.TranslateAsync(new TranslationRequest([texts[i]]) { Beams = 1 });
            Assert.Equal(expected.Translations[0].OutputIds, batched[i].OutputIds);
        }
    }
}
