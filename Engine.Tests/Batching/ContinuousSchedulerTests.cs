using System.Collections.Concurrent;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Tokenization;

namespace ServerlessInference.Engine.Tests.Batching;

/// <summary>
/// The scheduler's continuous batches on the shipped model. The engine is wrapped so that a test acts between two
/// steps of the running decode (queues a caller, looks at who has finished): what joins which decode is decided by
/// the scheduler alone, never by timing.
/// </summary>
[Collection(ShippedModelCollection.Name)]
public sealed class ContinuousSchedulerTests(ShippedModelFixture model)
{
    private string[] Dev(int skip, int take) => model.Greedy.Skip(skip).Take(take).Select(c => c.Source).ToArray();

    [Fact]
    public async Task ACallerArrivingWhileABatchDecodesJoinsItAndIsAnsweredBeforeItEnds()
    {
        var engine = new SteppedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 8 });
        // The longest dev sentence decodes for many steps; a short one arrives at its third step.
        var longest = model.Greedy.MaxBy(c => c.Ids.Length)!.Source;
        var shortest = model.Greedy.MinBy(c => c.Ids.Length)!.Source;
        Task<TranslationResult>? late = null;
        engine.BeforeStep = (decode, step) =>
        {
            if (step == 2)
            {
                late = scheduler.TranslateAsync(new TranslationRequest([shortest]) { Beams = 1 });
            }
        };

        var first = await scheduler.TranslateAsync(new TranslationRequest([longest]) { Beams = 1 });
        var second = await late!;

        var decode = engine.Decodes.Single();
        Assert.Equal([1, 1], decode.Joins);
        // The short input finished (and went to its caller) at a step after which the long one still ran.
        Assert.Contains(decode.Finishes, f => f.Finished == 1 && f.RunningAfter == 1);
        Assert.Empty(engine.WholeBatches);
        Assert.Equal(await AloneAsync(longest, 1), first.Translations[0].OutputIds);
        Assert.Equal(await AloneAsync(shortest, 1), second.Translations[0].OutputIds);
    }

    [Fact]
    public async Task JoinsStopWhileACallerWithOtherSettingsWaitsFirstInLine()
    {
        var engine = new SteppedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 8 });
        var longest = model.Greedy.MaxBy(c => c.Ids.Length)!.Source;
        Task<TranslationResult>? beam = null;
        Task<TranslationResult>? greedy = null;
        engine.BeforeStep = (_, step) =>
        {
            if (step == 1 && beam is null)
            {
                beam = scheduler.TranslateAsync(new TranslationRequest(Dev(0, 2)) { Beams = 4 });
                greedy = scheduler.TranslateAsync(new TranslationRequest(Dev(2, 2)) { Beams = 1 });
            }
        };

        await scheduler.TranslateAsync(new TranslationRequest([longest]) { Beams = 1 });
        var results = await Task.WhenAll(beam!, greedy!);

        // The greedy batch drained with its one input; the beam caller ran next, then the greedy caller.
        var decodes = engine.Decodes.ToArray();
        Assert.Equal([[1], [2], [2]], decodes.Select(d => d.Joins.ToArray()));
        Assert.Equal([1, 4, 1], decodes.Select(d => d.Settings.Beams));
        Assert.Equal(await AloneAsync(Dev(0, 1)[0], 4), results[0].Translations[0].OutputIds);
        Assert.Equal(await AloneAsync(Dev(3, 1)[0], 1), results[1].Translations[1].OutputIds);
    }

    [Fact]
    public async Task ManyCallersJoiningOneDecodeEachGetTheirAloneTranslations()
    {
        var engine = new SteppedEngine(model.Engine);
        var scheduler = new BatchScheduler(engine, new BatchSchedulerOptions { MaxBatchSize = 6 });
        var texts = Dev(40, 30);
        var pending = new List<Task<TranslationResult>>();
        var allQueued = new TaskCompletionSource();
        int next = 1;
        engine.BeforeStep = (_, step) =>
        {
            // One new caller of one or two sentences at every other step until all have come (each sentence takes
            // two steps at least, so the decode runs until then).
            if (step % 2 == 0 && next < texts.Length)
            {
                int take = Math.Min(1 + (step / 2 % 2), texts.Length - next);
                pending.Add(scheduler.TranslateAsync(new TranslationRequest(texts[next..(next + take)]) { Beams = 1 }));
                next += take;
                if (next == texts.Length)
                {
                    allQueued.SetResult();
                }
            }
        };

        var firstCaller = await scheduler.TranslateAsync(new TranslationRequest(texts[..1]) { Beams = 1 });
        await allQueued.Task.WaitAsync(TimeSpan.FromMinutes(5));

        var outputs = firstCaller.Translations.Concat((await Task.WhenAll(pending)).SelectMany(r => r.Translations))
            .Select(t => t.OutputIds.ToArray()).ToArray();
        Assert.Equal(texts.Length, outputs.Length);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(await AloneAsync(texts[i], 1), outputs[i]);
        }

        Assert.True(engine.Decodes.Max(d => d.Joins.Count) > 5, "callers joined running decodes");
        Assert.True(engine.Decodes.All(d => d.MaxRunning <= 6));
    }

    [Theory]
    [InlineData(0, 1, 1, true)]     // nothing runs: start at once
    [InlineData(16, 4, 1, true)]    // a quarter of the running inputs wait
    [InlineData(16, 3, 1, false)]   // fewer: wait for more ...
    [InlineData(16, 3, 3, false)]
    [InlineData(16, 1, BatchScheduler.MaxJoinWaitSteps, true)] // ... but not longer than this
    [InlineData(16, 0, 10, false)]  // nobody waits
    public void WaitingInputsJoinTogetherOrAfterABoundedWait(int running, int waiting, int stepsWaited, bool joins) =>
        Assert.Equal(joins, BatchScheduler.JoinsNow(running, waiting, stepsWaited));

    private async Task<int[]> AloneAsync(string text, int beams) =>
        (await model.Translator.TranslateAsync(new TranslationRequest([text]) { Beams = beams })).Translations[0].OutputIds.ToArray();
}

/// <summary>The shipped engine, its continuous decodes recorded and a hook run before each of their steps.</summary>
internal sealed class SteppedEngine(ITranslationEngine inner) : ITranslationEngine
{
    public ConcurrentQueue<RecordedDecode> Decodes { get; } = new();
    public ConcurrentQueue<int> WholeBatches { get; } = new();
    public Action<RecordedDecode, int>? BeforeStep { get; set; }

    public string ModelName => inner.ModelName;
    public ModelLimits Limits => inner.Limits;
    public IReadOnlyList<string> IgnoredGenerationSettings => inner.IgnoredGenerationSettings;
    public MarianTokenizer Tokenizer => inner.Tokenizer;
    public int MaxInputTokens => inner.MaxInputTokens;
    public GenerationSettings Resolve(TranslationRequest request) => inner.Resolve(request);

    public BatchOutput Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, CancellationToken cancellationToken)
    {
        WholeBatches.Enqueue(sources.Count);
        return inner.Generate(sources, settings, cancellationToken);
    }

    public IContinuousDecode? StartContinuous(GenerationSettings settings, CancellationToken cancellationToken)
    {
        var decode = new RecordedDecode(inner.StartContinuous(settings, cancellationToken)!, settings, this);
        Decodes.Enqueue(decode);
        return decode;
    }

    public void Dispose()
    {
    }

    internal sealed class RecordedDecode(IContinuousDecode inner, GenerationSettings settings, SteppedEngine owner)
        : IContinuousDecode
    {
        private int _steps;

        public GenerationSettings Settings => settings;
        public List<int> Joins { get; } = [];
        public List<(int Finished, int RunningAfter)> Finishes { get; } = [];
        public int MaxRunning { get; private set; }
        public int Running => inner.Running;
        public TimeSpan OnnxRuntime => inner.OnnxRuntime;

        public int[] Join(IReadOnlyList<int[]> sources)
        {
            Joins.Add(sources.Count);
            var numbers = inner.Join(sources);
            MaxRunning = Math.Max(MaxRunning, inner.Running);
            return numbers;
        }

        public IReadOnlyList<DecodedInput> Step()
        {
            owner.BeforeStep?.Invoke(this, _steps++);
            var finished = inner.Step();
            if (finished.Count > 0)
            {
                Finishes.Add((finished.Count, inner.Running));
            }

            return finished;
        }

        public void Dispose() => inner.Dispose();
    }
}
