using System.Collections.Concurrent;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Engine.Tests.Batching;

/// <summary>The scheduler on the shipped model. A gate holds the engine's first run while the test queues work, so
/// which inputs share a batch is decided by the scheduler alone, never by timing.</summary>
[Collection(ShippedModelCollection.Name)]
public sealed class BatchSchedulerTests(ShippedModelFixture model)
{
    private static readonly TranslationRequest Greedy = new([]) { Beams = 1 };
    private static readonly TranslationRequest Beam4 = new([]) { Beams = 4 };

    private string[] Dev(int skip, int take) => model.Greedy.Skip(skip).Take(take).Select(c => c.Source).ToArray();

    [Fact]
    public async Task ConcurrentCallersEachGetTheirOwnTranslationsIdenticalToUnbatchedRuns()
    {
        var engine = new GatedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 32 });
        var blocker = await engine.HoldAsync(scheduler);
        var calls = new (string[] Texts, TranslationRequest Options)[]
        {
            (Dev(0, 5), Greedy),
            ([string.Join(" ", Dev(5, 6)), "", Dev(11, 1)[0]], Greedy),
            (Dev(12, 3), Beam4),
            (Dev(15, 1), Greedy),
            ([string.Join(" ", Dev(16, 3)), Dev(19, 1)[0]], Beam4),
            (Dev(20, 4), new TranslationRequest([]) { Beams = 1, MaxNewTokens = 4 }),
            (Dev(24, 2), Greedy),
        };
        var pending = calls.Select(c => scheduler.TranslateAsync(c.Options with { Texts = c.Texts }, WorkPriority.Interactive,
            default)).ToArray();
        engine.Open();
        await blocker;
        var results = await Task.WhenAll(pending);

        for (int i = 0; i < calls.Length; i++)
        {
            var alone = await model.Translator.TranslateAsync(calls[i].Options with { Texts = calls[i].Texts });
            Assert.Equal(alone.Translations.Select(t => t.OutputIds.ToArray()), results[i].Translations.Select(t => t.OutputIds.ToArray()));
            Assert.Equal(alone.Translations.Select(t => t.Text), results[i].Translations.Select(t => t.Text));
        }

        // The blocker's run, then one merged run per distinct setting (greedy, beam 4, greedy with maxNewTokens 4).
        Assert.Equal(4, engine.Runs.Count);
    }

    [Fact]
    public async Task OneCallersInputsRunShortestFirstInBatchesOfAtMostMaxBatchSize()
    {
        var engine = new GatedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 4 });
        var texts = Dev(30, 11);

        var result = await scheduler.TranslateAsync(Greedy with { Texts = texts }, WorkPriority.Interactive, default);

        var runs = engine.Runs.ToArray();
        Assert.Equal([4, 4, 3], runs.Select(r => r.Sources.Length));
        var lengths = runs.SelectMany(r => r.Sources).Select(source => source.Length).ToArray();
        Assert.Equal(lengths.Order(), lengths); // similar lengths together keep padding low
        Assert.Equal(texts.Length, result.Translations.Count);
        for (int i = 0; i < texts.Length; i++)
        {
            var alone = await model.Translator.TranslateAsync(Greedy with { Texts = [texts[i]] });
            Assert.Equal(alone.Translations[0].OutputIds, result.Translations[i].OutputIds);
        }
    }

    [Fact]
    public async Task WorkOverTheSourceTokenBoundIsRefusedCountedAfterNormalisationAndNothingRuns()
    {
        var engine = new GatedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 32 });
        // 50 characters, within any character limit; NFKC makes each of them 18 characters, hundreds of tokens.
        var expanding = new string('\uFDFA', 50);
        var tokens = Inputs(expanding).Sum(i => i.Length);
        Assert.True(tokens > 200, $"{tokens} tokens");

        var refused = await Assert.ThrowsAsync<WorkLimitExceededException>(
            () => scheduler.TranslateAsync(Greedy with { Texts = [expanding] }, WorkPriority.Interactive, default,
                maxSourceTokens: tokens - 1));
        Assert.Empty(engine.Runs);
        var allowed = await scheduler.TranslateAsync(new TranslationRequest([expanding]) { Beams = 1, MaxNewTokens = 2 },
            WorkPriority.Interactive, default, maxSourceTokens: tokens);

        Assert.Equal((tokens, tokens - 1), (refused.SourceTokens, refused.Limit));
        Assert.Contains("Translation__MaxSourceTokens", refused.Message);
        Assert.Equal(tokens, allowed.Translations.Single().InputTokens);
    }

    [Fact]
    public async Task SingleSentencesAreBatchedAheadOfTheRestOfALongDocument()
    {
        var engine = new GatedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 4 });
        var blocker = await engine.HoldAsync(scheduler);
        var document = scheduler.TranslateAsync(Greedy with { Texts = [string.Join(" ", Dev(30, 10))] }, WorkPriority.Interactive, default);
        var singles = Dev(40, 3).Select(t => scheduler.TranslateAsync(Greedy with { Texts = [t] }, WorkPriority.Interactive,
            default)).ToArray();
        engine.Open();
        await Task.WhenAll([blocker, document, .. singles]);

        var documentRuns = RunsHolding(engine, Dev(30, 10));
        var singleRuns = RunsHolding(engine, Dev(40, 3));
        Assert.Equal([1], singleRuns.Distinct());
        Assert.Equal(4, documentRuns.Max());
    }

    [Fact]
    public async Task InteractiveCallersAreBatchedBeforeBackgroundWorkThatCameFirst()
    {
        var engine = new GatedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 2 });
        var blocker = await engine.HoldAsync(scheduler);
        var background = Dev(50, 2).Select(t => scheduler.TranslateAsync(Greedy with { Texts = [t] }, WorkPriority.Background,
            default)).ToArray();
        var interactive = Dev(52, 2).Select(t => scheduler.TranslateAsync(Greedy with { Texts = [t] }, WorkPriority.Interactive,
            default)).ToArray();
        engine.Open();
        await Task.WhenAll([blocker, .. background, .. interactive]);

        Assert.Equal([1, 1], RunsHolding(engine, Dev(52, 2)));
        Assert.Equal([2, 2], RunsHolding(engine, Dev(50, 2)));
    }

    [Fact]
    public async Task ACancelledCallerTakesItsQueuedSentencesOut()
    {
        var engine = new GatedEngine(model.Engine);
        var backlog = new ServingBacklog(1000, 1);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions(), backlog);
        var blocker = await engine.HoldAsync(scheduler);
        using var leaving = new CancellationTokenSource();
        var kept = scheduler.TranslateAsync(Greedy with { Texts = Dev(60, 2) }, WorkPriority.Interactive, default);
        var cancelled = scheduler.TranslateAsync(Greedy with { Texts = Dev(62, 3) }, WorkPriority.Interactive, leaving.Token);
        Assert.Equal(5, scheduler.QueuedSentences);

        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(2, scheduler.QueuedSentences);
        engine.Open();
        await Task.WhenAll(blocker, kept);

        Assert.Empty(RunsHolding(engine, Dev(62, 3)));
        Assert.Equal([1, 1], RunsHolding(engine, Dev(60, 2)));
        Assert.Equal(0, backlog.PendingSentences);
    }

    [Fact]
    public async Task ARunWhoseCallersAllWentAwayIsStoppedAndTheSchedulerGoesOn()
    {
        var engine = new GatedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions());
        using var leaving = new CancellationTokenSource();
        engine.Close();
        var gone = scheduler.TranslateAsync(Greedy with { Texts = Dev(70, 1) }, WorkPriority.Interactive, leaving.Token);
        await engine.Entered.Task;

        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone);
        // The held run sees its token cancelled (the real engine would terminate ONNX Runtime's Run).
        await engine.Stopped.Task;
        engine.Open();
        var after = await scheduler.TranslateAsync(Greedy with { Texts = Dev(71, 1) }, WorkPriority.Interactive, default);
        Assert.NotEmpty(after.Translations[0].Text);
    }

    [Fact]
    public async Task AFailingBatchFailsOnlyItsCallersAndTheSchedulerKeepsServing()
    {
        var engine = new GatedEngine(model.Engine) { FailWhen = s => s.Beams == 3 };
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions());
        var blocker = await engine.HoldAsync(scheduler);
        var failing = scheduler.TranslateAsync(new TranslationRequest(Dev(80, 2)) { Beams = 3 }, WorkPriority.Interactive, default);
        var healthy = scheduler.TranslateAsync(Greedy with { Texts = Dev(82, 2) }, WorkPriority.Interactive, default);
        engine.Open();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        Assert.Equal(GatedEngine.FailureMessage, error.Message);
        Assert.Equal(2, (await healthy).Translations.Count);
        await blocker;
        var after = await scheduler.TranslateAsync(Greedy with { Texts = Dev(84, 1) }, WorkPriority.Interactive, default);
        Assert.NotEmpty(after.Translations[0].Text);
    }

    [Fact]
    public async Task NoMoreRunsThanAllowedAreInProgressAtOnce()
    {
        var engine = new GatedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxConcurrentBatches = 2 });
        engine.Close();
        // Distinct settings cannot share a batch: three runs are wanted, two may start.
        var calls = new[] { 1, 2, 3 }.Select(b =>
            scheduler.TranslateAsync(new TranslationRequest(Dev(90 + b, 1)) { Beams = b }, WorkPriority.Interactive, default)).ToArray();

        Assert.Equal(2, scheduler.RunningBatches);
        Assert.Equal(1, scheduler.QueuedSentences);
        engine.Open();
        await Task.WhenAll(calls);
        Assert.Equal(3, engine.Runs.Count);
    }

    [Fact]
    public async Task WorkBeyondTheInstanceBacklogIsTurnedAwayAndQueuedWorkStillCompletes()
    {
        var engine = new GatedEngine(model.Engine);
        var backlog = new ServingBacklog(4, 1);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions(), backlog);
        var blocker = await engine.HoldAsync(scheduler);
        var queued = scheduler.TranslateAsync(Greedy with { Texts = Dev(100, 3) }, WorkPriority.Interactive, default);

        var busy = await Assert.ThrowsAsync<ServerBusyException>(() =>
            scheduler.TranslateAsync(Greedy with { Texts = Dev(103, 1) }, WorkPriority.Interactive, default));
        Assert.True(busy.RetryAfter >= TimeSpan.FromSeconds(1));
        Assert.Equal(3, scheduler.QueuedSentences);
        engine.Open();
        await Task.WhenAll(blocker, queued);
        Assert.Equal(0, backlog.PendingSentences);
        Assert.NotNull(backlog.SentencesPerSecond);
    }

    [Fact]
    public async Task WithBatchingOffEveryCallerRunsAloneAndAtOnceWithTheSameResults()
    {
        var engine = new GatedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { Batching = false });
        engine.Close();
        var texts = Dev(110, 3);
        var calls = texts.Select(t => scheduler.TranslateAsync(Greedy with { Texts = [t] }, WorkPriority.Interactive, default)).ToArray();

        Assert.Equal(3, scheduler.RunningBatches); // nobody waits for a slot, as before the scheduler
        Assert.Equal(0, scheduler.QueuedSentences);
        engine.Open();
        var results = await Task.WhenAll(calls);
        Assert.All(engine.Runs, run => Assert.Single(run.Sources));
        for (int i = 0; i < texts.Length; i++)
        {
            var alone = await model.Translator.TranslateAsync(Greedy with { Texts = [texts[i]] });
            Assert.Equal(alone.Translations[0].OutputIds, results[i].Translations[0].OutputIds);
        }
    }

    [Fact]
    public async Task AThrowingObserverNeitherHangsNorFailsTheCallersOfABatchAndTheSlotIsFreed()
    {
        var backlog = new ServingBacklog(int.MaxValue, 1);
        var observer = new ThrowingObserver();
        var scheduler = new BatchScheduler(model.Engine, new BatchSchedulerOptions(), backlog, observer);

        var first = await scheduler.TranslateAsync(Greedy with { Texts = Dev(60, 2) }, WorkPriority.Interactive, default)
            .WaitAsync(TimeSpan.FromMinutes(1));
        var second = await scheduler.TranslateAsync(Greedy with { Texts = Dev(62, 1) }, WorkPriority.Background, default)
            .WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, first.Translations.Count);
        Assert.Single(second.Translations);
        Assert.True(observer.Calls >= 2);
        Assert.Equal(0, scheduler.RunningBatches);
        Assert.Equal(0, backlog.PendingSentences);
    }

    [Fact]
    public async Task AFailingEngineRunFailsItsCallersAndGivesBackItsSlotAndBacklog()
    {
        var backlog = new ServingBacklog(int.MaxValue, 1);
        var engine = new GatedEngine(model.Engine) { FailWhen = settings => settings.Beams == 3 };
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions(), backlog, new ThrowingObserver());

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            scheduler.TranslateAsync(new TranslationRequest(Dev(64, 2)) { Beams = 3 }, WorkPriority.Interactive, default));
        var served = await scheduler.TranslateAsync(Greedy with { Texts = Dev(66, 1) }, WorkPriority.Interactive, default);

        Assert.Equal(GatedEngine.FailureMessage, failure.Message);
        Assert.Single(served.Translations);
        Assert.Equal(0, scheduler.RunningBatches);
        Assert.Equal(0, backlog.PendingSentences);
    }

    /// <summary>A telemetry listener with a bug: every report throws.</summary>
    private sealed class ThrowingObserver : IBatchObserver
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public void BatchRan(string model, int sentences, TimeSpan duration, bool succeeded,
            IEnumerable<(WorkPriority Priority, TimeSpan Wait)> waits)
        {
            Interlocked.Increment(ref _calls);
            throw new InvalidOperationException("The observer failed.");
        }
    }

    [Fact]
    public async Task InvalidOptionsAreRejectedBeforeAnythingIsQueued()
    {
        var scheduler = new BatchScheduler(model.Engine, new BatchSchedulerOptions());
        await Assert.ThrowsAsync<InvalidRequestException>(() =>
            scheduler.TranslateAsync(new TranslationRequest(["Hello."]) { Beams = 99 }, WorkPriority.Interactive, default));
        Assert.Equal(0, scheduler.QueuedSentences);
    }

    /// <summary>The model inputs one text is planned into.</summary>
    private IReadOnlyList<int[]> Inputs(string text) =>
        TranslationPlan.Create([text], model.Engine.Tokenizer, model.Engine.MaxInputTokens).Inputs;

    /// <summary>For each of <paramref name="texts"/>' inputs, the index of the run that held it.</summary>
    private List<int> RunsHolding(GatedEngine engine, IEnumerable<string> texts)
    {
        var runs = engine.Runs.ToArray();
        var found = new List<int>();
        foreach (var input in texts.SelectMany(Inputs))
        {
            for (int r = 0; r < runs.Length; r++)
            {
                if (runs[r].Sources.Any(s => s.SequenceEqual(input)))
                {
                    found.Add(r);
                }
            }
        }

        return found;
    }
}

/// <summary>The real engine behind a gate that can hold its runs, recording every run it is given.</summary>
internal sealed class GatedEngine(ITranslationEngine inner) : ITranslationEngine
{
    public const string FailureMessage = "The engine failed this batch.";

    private readonly ManualResetEventSlim _open = new(true);

    public ConcurrentQueue<(GenerationSettings Settings, int[][] Sources)> Runs { get; } = new();

    /// <summary>Set when a run has been handed to the engine.</summary>
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when a held run's token was cancelled.</summary>
    public TaskCompletionSource Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Func<GenerationSettings, bool>? FailWhen { get; init; }

    public string ModelName => inner.ModelName;

    public ModelLimits Limits => inner.Limits;

    public void Close() => _open.Reset();

    public void Open() => _open.Set();

    /// <summary>Closes the gate and starts one single-sentence call, returned once its run holds the engine: every
    /// call made after this queues.</summary>
    public async Task<Task<TranslationResult>> HoldAsync(BatchScheduler scheduler)
    {
        Close();
        var call = scheduler.TranslateAsync(new TranslationRequest(["Hold on."]) { Beams = 1 }, WorkPriority.Interactive, default);
        await Entered.Task;
        return call;
    }

    public MarianTokenizer Tokenizer => inner.Tokenizer;
    public IReadOnlyList<string> IgnoredGenerationSettings => inner.IgnoredGenerationSettings;

    public int MaxInputTokens => inner.MaxInputTokens;

    public GenerationSettings Resolve(TranslationRequest request) => inner.Resolve(request);

    public BatchOutput Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, CancellationToken cancellationToken)
    {
        Runs.Enqueue((settings, sources.ToArray()));
        Entered.TrySetResult();
        try
        {
            _open.Wait(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Stopped.TrySetResult();
            throw;
        }

        if (FailWhen?.Invoke(settings) == true)
        {
            throw new InvalidOperationException(FailureMessage);
        }

        return inner.Generate(sources, settings, cancellationToken);
    }

    public void Dispose() => _open.Dispose();
}
