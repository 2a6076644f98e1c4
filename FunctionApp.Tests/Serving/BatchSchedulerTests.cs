using System.Collections.Concurrent;
using ServerlessInference.Serving;
using ServerlessInference.Tests.Translation;
using ServerlessInference.Translation;

namespace ServerlessInference.Tests.Serving;

/// <summary>The scheduler on the shipped model. A gate holds the engine's first run while the test queues work, so
/// which inputs share a batch is decided by the scheduler alone, never by timing.</summary>
[Collection(ShippedModelCollection.Name)]
public sealed class BatchSchedulerTests(ShippedModelFixture model)
{
    private static readonly TranslationOptions Greedy = new() { Beams = 1 };
    private static readonly TranslationOptions Beam4 = new() { Beams = 4 };

    private string[] Dev(int skip, int take) => model.Greedy.Skip(skip).Take(take).Select(c => c.Source).ToArray();

    [Fact]
    public async Task ConcurrentCallersEachGetTheirOwnTranslationsIdenticalToUnbatchedRuns()
    {
        var engine = new GatedEngine(model.Translator);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 32 });
        var blocker = await engine.HoldAsync(scheduler);
        var calls = new (string[] Texts, TranslationOptions Options)[]
        {
            (Dev(0, 5), Greedy),
            ([string.Join(" ", Dev(5, 6)), "", Dev(11, 1)[0]], Greedy),
            (Dev(12, 3), Beam4),
            (Dev(15, 1), Greedy),
            ([string.Join(" ", Dev(16, 3)), Dev(19, 1)[0]], Beam4),
            (Dev(20, 4), new TranslationOptions { Beams = 1, MaxNewTokens = 4 }),
            (Dev(24, 2), Greedy),
        };
        var pending = calls.Select(c => scheduler.TranslateAsync(c.Texts, c.Options, WorkPriority.Interactive, default)).ToArray();
        engine.Open();
        await blocker;
        var results = await Task.WhenAll(pending);

        for (int i = 0; i < calls.Length; i++)
        {
            var alone = await model.Translator.TranslateAsync(calls[i].Texts, calls[i].Options);
            Assert.Equal(alone.Translations.Select(t => t.OutputIds.ToArray()), results[i].Translations.Select(t => t.OutputIds.ToArray()));
            Assert.Equal(alone.Translations.Select(t => t.Text), results[i].Translations.Select(t => t.Text));
        }

        // The blocker's run, then one merged run per distinct setting (greedy, beam 4, greedy with maxNewTokens 4).
        Assert.Equal(4, engine.Runs.Count);
    }

    [Fact]
    public async Task WorkOverTheSourceTokenBoundIsRefusedCountedAfterNormalisationAndNothingRuns()
    {
        var engine = new GatedEngine(model.Translator);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 32 });
        // 50 characters, within any character limit; NFKC makes each of them 18 characters, hundreds of tokens.
        var expanding = new string('\uFDFA', 50);
        var tokens = model.Translator.Plan([expanding], Greedy).Inputs.Sum(i => i.Length);
        Assert.True(tokens > 200, $"{tokens} tokens");

        var refused = await Assert.ThrowsAsync<WorkLimitExceededException>(
            () => scheduler.TranslateAsync([expanding], Greedy, WorkPriority.Interactive, default, maxSourceTokens: tokens - 1));
        Assert.Empty(engine.Runs);
        var allowed = await scheduler.TranslateAsync([expanding], new TranslationOptions { Beams = 1, MaxNewTokens = 2 },
            WorkPriority.Interactive, default, maxSourceTokens: tokens);

        Assert.Equal((tokens, tokens - 1), (refused.SourceTokens, refused.Limit));
        Assert.Contains("Translation__MaxSourceTokens", refused.Message);
        Assert.Equal(tokens, allowed.Translations.Single().InputTokens);
    }

    [Fact]
    public async Task SingleSentencesAreBatchedAheadOfTheRestOfALongDocument()
    {
        var engine = new GatedEngine(model.Translator);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 4 });
        var blocker = await engine.HoldAsync(scheduler);
        var document = scheduler.TranslateAsync([string.Join(" ", Dev(30, 10))], Greedy, WorkPriority.Interactive, default);
        var singles = Dev(40, 3).Select(t => scheduler.TranslateAsync([t], Greedy, WorkPriority.Interactive, default)).ToArray();
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
        var engine = new GatedEngine(model.Translator);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 2 });
        var blocker = await engine.HoldAsync(scheduler);
        var background = Dev(50, 2).Select(t => scheduler.TranslateAsync([t], Greedy, WorkPriority.Background, default)).ToArray();
        var interactive = Dev(52, 2).Select(t => scheduler.TranslateAsync([t], Greedy, WorkPriority.Interactive, default)).ToArray();
        engine.Open();
        await Task.WhenAll([blocker, .. background, .. interactive]);

        Assert.Equal([1, 1], RunsHolding(engine, Dev(52, 2)));
        Assert.Equal([2, 2], RunsHolding(engine, Dev(50, 2)));
    }

    [Fact]
    public async Task ACancelledCallerTakesItsQueuedSentencesOut()
    {
        var engine = new GatedEngine(model.Translator);
        var backlog = new ServingBacklog(1000, 1);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions(), backlog);
        var blocker = await engine.HoldAsync(scheduler);
        using var leaving = new CancellationTokenSource();
        var kept = scheduler.TranslateAsync(Dev(60, 2), Greedy, WorkPriority.Interactive, default);
        var cancelled = scheduler.TranslateAsync(Dev(62, 3), Greedy, WorkPriority.Interactive, leaving.Token);
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
        var engine = new GatedEngine(model.Translator);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions());
        using var leaving = new CancellationTokenSource();
        engine.Close();
        var gone = scheduler.TranslateAsync(Dev(70, 1), Greedy, WorkPriority.Interactive, leaving.Token);
        await engine.Entered.Task;

        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone);
        // The held run sees its token cancelled (the real engine would terminate ONNX Runtime's Run).
        await engine.Stopped.Task;
        engine.Open();
        var after = await scheduler.TranslateAsync(Dev(71, 1), Greedy, WorkPriority.Interactive, default);
        Assert.NotEmpty(after.Translations[0].Text);
    }

    [Fact]
    public async Task AFailingBatchFailsOnlyItsCallersAndTheSchedulerKeepsServing()
    {
        var engine = new GatedEngine(model.Translator) { FailWhen = s => s.Beams == 3 };
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions());
        var blocker = await engine.HoldAsync(scheduler);
        var failing = scheduler.TranslateAsync(Dev(80, 2), new TranslationOptions { Beams = 3 }, WorkPriority.Interactive, default);
        var healthy = scheduler.TranslateAsync(Dev(82, 2), Greedy, WorkPriority.Interactive, default);
        engine.Open();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        Assert.Equal(GatedEngine.FailureMessage, error.Message);
        Assert.Equal(2, (await healthy).Translations.Count);
        await blocker;
        var after = await scheduler.TranslateAsync(Dev(84, 1), Greedy, WorkPriority.Interactive, default);
        Assert.NotEmpty(after.Translations[0].Text);
    }

    [Fact]
    public async Task NoMoreRunsThanAllowedAreInProgressAtOnce()
    {
        var engine = new GatedEngine(model.Translator);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxConcurrentBatches = 2 });
        engine.Close();
        // Distinct settings cannot share a batch: three runs are wanted, two may start.
        var calls = new[] { 1, 2, 3 }.Select(b =>
            scheduler.TranslateAsync(Dev(90 + b, 1), new TranslationOptions { Beams = b }, WorkPriority.Interactive, default)).ToArray();

        Assert.Equal(2, scheduler.RunningBatches);
        Assert.Equal(1, scheduler.QueuedSentences);
        engine.Open();
        await Task.WhenAll(calls);
        Assert.Equal(3, engine.Runs.Count);
    }

    [Fact]
    public async Task WorkBeyondTheInstanceBacklogIsTurnedAwayAndQueuedWorkStillCompletes()
    {
        var engine = new GatedEngine(model.Translator);
        var backlog = new ServingBacklog(4, 1);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions(), backlog);
        var blocker = await engine.HoldAsync(scheduler);
        var queued = scheduler.TranslateAsync(Dev(100, 3), Greedy, WorkPriority.Interactive, default);

        var busy = await Assert.ThrowsAsync<ServerBusyException>(() =>
            scheduler.TranslateAsync(Dev(103, 1), Greedy, WorkPriority.Interactive, default));
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
        var engine = new GatedEngine(model.Translator);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { Batching = false });
        engine.Close();
        var texts = Dev(110, 3);
        var calls = texts.Select(t => scheduler.TranslateAsync([t], Greedy, WorkPriority.Interactive, default)).ToArray();

        Assert.Equal(3, scheduler.RunningBatches); // nobody waits for a slot, as before the scheduler
        Assert.Equal(0, scheduler.QueuedSentences);
        engine.Open();
        var results = await Task.WhenAll(calls);
        Assert.All(engine.Runs, run => Assert.Single(run.Sources));
        for (int i = 0; i < texts.Length; i++)
        {
            var alone = await model.Translator.TranslateAsync([texts[i]], Greedy);
            Assert.Equal(alone.Translations[0].OutputIds, results[i].Translations[0].OutputIds);
        }
    }

    [Fact]
    public async Task InvalidOptionsAreRejectedBeforeAnythingIsQueued()
    {
        var scheduler = new BatchScheduler(model.Translator, new BatchSchedulerOptions());
        await Assert.ThrowsAsync<ArgumentException>(() =>
            scheduler.TranslateAsync(["Hello."], new TranslationOptions { Beams = 99 }, WorkPriority.Interactive, default));
        Assert.Equal(0, scheduler.QueuedSentences);
    }

    /// <summary>For each of <paramref name="texts"/>' inputs, the index of the run that held it.</summary>
    private List<int> RunsHolding(GatedEngine engine, IEnumerable<string> texts)
    {
        var runs = engine.Runs.ToArray();
        var found = new List<int>();
        foreach (var input in texts.SelectMany(t => model.Translator.Plan([t], Greedy).Inputs))
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
internal sealed class GatedEngine(ITranslator inner) : ITranslator
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

    public GenerationLimits Limits => inner.Limits;

    public void Close() => _open.Reset();

    public void Open() => _open.Set();

    /// <summary>Closes the gate and starts one single-sentence call, returned once its run holds the engine: every
    /// call made after this queues.</summary>
    public async Task<Task<TranslationBatchResult>> HoldAsync(BatchScheduler scheduler)
    {
        Close();
        var call = scheduler.TranslateAsync(["Hold on."], new TranslationOptions { Beams = 1 }, WorkPriority.Interactive, default);
        await Entered.Task;
        return call;
    }

    public Task<TranslationBatchResult> TranslateAsync(IReadOnlyList<string> texts, TranslationOptions options,
        CancellationToken cancellationToken = default) => inner.TranslateAsync(texts, options, cancellationToken);

    public PlannedTranslation Plan(IReadOnlyList<string> texts, TranslationOptions options) => inner.Plan(texts, options);

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
