using System.Diagnostics;

namespace ServerlessInference.Engine.Batching;

/// <summary>
/// Dynamic batching for one loaded model, and the one way texts reach it: every caller's request is checked against
/// the model and its texts planned into sentence inputs (<see cref="TranslationPlan"/>), queued, and the
/// engine runs batches merged from whoever is waiting (inputs of equal generation settings only, length-sorted, up to
/// <see cref="BatchSchedulerOptions.MaxBatchSize"/>). A caller arriving at an idle engine runs at once; what arrives
/// while every engine slot is busy goes into the next batch. Batches take inputs round-robin, one sentence per caller
/// per turn, so a long document cannot hold the engine while single sentences wait, and interactive callers are
/// taken before background ones. A caller that cancels takes its queued inputs out; a batch whose callers have all
/// gone is stopped. A failing batch fails only the callers with inputs in it.
/// </summary>
public sealed class BatchScheduler
{
    private readonly ITranslationEngine _engine;
    private readonly BatchSchedulerOptions _options;
    private readonly ServingBacklog _backlog;
    private readonly IBatchObserver? _observer;
    private readonly Lock _gate = new();

    // Callers with queued inputs, per priority, in round-robin order.
    private readonly List<Submission>[] _waiting = [[], []];
    private int _running;

    public BatchScheduler(ITranslationEngine engine, BatchSchedulerOptions options, ServingBacklog? backlog = null,
        IBatchObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentBatches, 1);
        _engine = engine;
        _options = options;
        _backlog = backlog ?? new ServingBacklog(int.MaxValue, options.MaxConcurrentBatches);
        _observer = observer;
    }

    public ITranslationEngine Engine => _engine;

    /// <summary>Most sentence inputs in one engine run: 1 for a model whose output depends on its batch-mates
    /// (<see cref="ModelLimits.BatchInvariant"/>), so that a caller's translation never changes with other traffic.</summary>
    public int MaxBatchSize => _engine.Limits.BatchInvariant ? _options.MaxBatchSize : 1;

    /// <summary>Engine runs in progress.</summary>
    public int RunningBatches
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <summary>Sentence inputs waiting for a batch.</summary>
    public int QueuedSentences
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Sum(q => q.Sum(s => s.Pending.Count));
            }
        }
    }

    /// <summary>Translates an interactive caller's texts: the synchronous path of tools and tests, which shares every
    /// step with the app's.</summary>
    public Task<TranslationResult> TranslateAsync(TranslationRequest request, CancellationToken cancellationToken = default) =>
        TranslateAsync(request, WorkPriority.Interactive, cancellationToken);

    /// <summary>Translates each text; results are in input order.</summary>
    /// <exception cref="InvalidRequestException">An option is out of the model's range, or a text is null.</exception>
    /// <exception cref="ServerBusyException">The instance already holds as much pending work as it accepts.</exception>
    /// <exception cref="WorkLimitExceededException">The planned inputs hold more than
    /// <paramref name="maxSourceTokens"/> tokens; nothing was queued.</exception>
    public async Task<TranslationResult> TranslateAsync(TranslationRequest request, WorkPriority priority,
        CancellationToken cancellationToken, int maxSourceTokens = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var started = Stopwatch.GetTimestamp();
        var settings = _engine.Resolve(request);
        var plan = TranslationPlan.Create(request.Texts, _engine.Tokenizer, _engine.MaxInputTokens, request.TargetLanguage);
        var sourceTokens = plan.Inputs.Sum(input => input.Length);
        if (sourceTokens > maxSourceTokens)
        {
            throw new WorkLimitExceededException(sourceTokens, maxSourceTokens);
        }

        if (plan.Inputs.Count == 0)
        {
            return new TranslationResult(plan.Assemble([]), Stopwatch.GetElapsedTime(started), TimeSpan.Zero);
        }

        _backlog.Admit(plan.Inputs.Count, priority);
        var submission = new Submission(plan, settings, priority);
        lock (_gate)
        {
            _waiting[(int)priority].Add(submission);
            DispatchLocked();
        }

        await using (cancellationToken.Register(() => Cancel(submission, cancellationToken)))
        {
            var outputs = await submission.Completion.Task;
            return new TranslationResult(plan.Assemble(outputs), Stopwatch.GetElapsedTime(started), submission.OnnxRuntime);
        }
    }

    /// <summary>Starts batches while engine slots are free and inputs wait.</summary>
    private void DispatchLocked()
    {
        // Without batching every caller runs at once, as each request did before the scheduler existed.
        while ((!_options.Batching || _running < _options.MaxConcurrentBatches) && TakeBatchLocked() is { } batch)
        {
            _running++;
            _ = Task.Run(() => Run(batch));
        }
    }

    /// <summary>The next batch: led by the first waiting caller (interactive first), filled round-robin from every
    /// waiting caller with the same settings; callers that got a turn move to the back of their queue.</summary>
    private Batch? TakeBatchLocked()
    {
        var leader = _options.Batching
            ? _waiting.SelectMany(q => q).FirstOrDefault()
            : _waiting.SelectMany(q => q).FirstOrDefault(s => s.InFlight.Count == 0);
        if (leader is null)
        {
            return null;
        }

        var settings = leader.Settings;
        var candidates = _options.Batching
            ? _waiting.SelectMany(q => q).Where(s => s.Settings == settings).ToList()
            : [leader];
        var batch = new Batch(settings);
        bool added = true;
        int maxBatchSize = MaxBatchSize;
        while (added && batch.Entries.Count < maxBatchSize)
        {
            added = false;
            foreach (var submission in candidates)
            {
                if (batch.Entries.Count == maxBatchSize)
                {
                    break;
                }

                if (submission.Pending.TryDequeue(out var input))
                {
                    batch.Entries.Add((submission, input));
                    if (batch.Members.Add(submission))
                    {
                        submission.InFlight.Add(batch);
                    }

                    added = true;
                }
            }
        }

        foreach (var queue in _waiting)
        {
            var served = queue.Where(batch.Members.Contains).ToList();
            queue.RemoveAll(batch.Members.Contains);
            queue.AddRange(served.Where(s => s.Pending.Count > 0));
        }

        batch.LiveMembers = batch.Members.Count;
        return batch;
    }

    /// <summary>Runs one batch and hands each caller its outputs. Whatever throws on the way (the engine, the backlog,
    /// the observer), the slot is given back and every caller of the batch is finished: a caller left waiting would
    /// wait for good.</summary>
    private void Run(Batch batch)
    {
        var ordered = batch.Entries.OrderBy(e => e.Submission.Plan.Inputs[e.Input].Length).ToArray();
        var sources = ordered.Select(e => e.Submission.Plan.Inputs[e.Input]).ToArray();
        var started = Stopwatch.GetTimestamp();
        BatchOutput? output = null;
        Exception? failure = null;
        try
        {
            try
            {
                output = _engine.Generate(sources, batch.Settings, batch.Stop.Token);
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            _backlog.Completed(sources.Length, elapsed, measured: failure is null);
            // Before the callers hear back, so that what a caller then reads (metrics) includes its own batch.
            Observe(sources.Length, elapsed, failure is null, ordered, started);
        }
        finally
        {
            Finish(batch, ordered, output, failure);
        }
    }

    private void Finish(Batch batch, (Submission Submission, int Input)[] ordered, BatchOutput? output, Exception? failure)
    {
        var completed = new List<Submission>();
        var failed = new List<Submission>();
        lock (_gate)
        {
            _running--;
            foreach (var submission in batch.Members)
            {
                submission.OnnxRuntime += output?.OnnxRuntime ?? TimeSpan.Zero;
            }

            for (int i = 0; i < ordered.Length; i++)
            {
                var (submission, input) = ordered[i];
                submission.InFlight.Remove(batch);
                if (submission.Finished)
                {
                    continue;
                }

                if (output is null)
                {
                    failed.Add(submission);
                    FinishLocked(submission);
                    continue;
                }

                submission.Outputs[input] = output.Ids[i];
                if (--submission.Remaining == 0)
                {
                    completed.Add(submission);
                    FinishLocked(submission);
                }
            }

            DispatchLocked();
        }

        batch.Stop.Dispose();

        foreach (var submission in completed)
        {
            submission.Completion.TrySetResult(submission.Outputs);
        }

        var error = failure ?? new InvalidOperationException("The engine run returned no output.");
        foreach (var submission in failed)
        {
            submission.Completion.TrySetException(error);
        }
    }

    private void Observe(int sentences, TimeSpan duration, bool succeeded, (Submission Submission, int Input)[] ordered,
        long started)
    {
        if (_observer is null)
        {
            return;
        }

        try
        {
            _observer.BatchRan(_engine.ModelName, sentences, duration, succeeded,
                ordered.Select(e => (e.Submission.Priority, Stopwatch.GetElapsedTime(e.Submission.Queued, started))).ToArray());
        }
#pragma warning disable CA1031 // Telemetry must not fail a translation that has already been handed out.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void Cancel(Submission submission, CancellationToken cancellationToken)
    {
        var stop = new List<Batch>();
        lock (_gate)
        {
            if (submission.Finished)
            {
                return;
            }

            foreach (var batch in submission.InFlight)
            {
                if (--batch.LiveMembers == 0)
                {
                    stop.Add(batch);
                }
            }

            FinishLocked(submission);
        }

        // Outside the lock: cancelling runs the engine's registrations (ONNX Runtime's terminate flag).
        foreach (var batch in stop)
        {
            try
            {
                batch.Stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The batch ended meanwhile.
            }
        }

        submission.Completion.TrySetCanceled(cancellationToken);
    }

    /// <summary>Takes the caller out of the queue; its queued inputs leave the backlog with it.</summary>
    private void FinishLocked(Submission submission)
    {
        submission.Finished = true;
        _waiting[(int)submission.Priority].Remove(submission);
        _backlog.Withdrawn(submission.Pending.Count);
        submission.Pending.Clear();
    }

    private sealed class Submission
    {
        public Submission(TranslationPlan plan, GenerationSettings settings, WorkPriority priority)
        {
            Plan = plan;
            Settings = settings;
            Priority = priority;
            Outputs = new int[plan.Inputs.Count][];
            Remaining = plan.Inputs.Count;
            // Shortest first within a caller, so its batches group similar lengths as the engine's own rebatching does.
            foreach (var i in Enumerable.Range(0, plan.Inputs.Count).OrderBy(i => plan.Inputs[i].Length))
            {
                Pending.Enqueue(i);
            }
        }

        public TranslationPlan Plan { get; }

        /// <summary>Inputs may only be batched with inputs of equal settings.</summary>
        public GenerationSettings Settings { get; }
        public WorkPriority Priority { get; }
        public long Queued { get; } = Stopwatch.GetTimestamp();
        public Queue<int> Pending { get; } = new();
        public int[][] Outputs { get; }
        public int Remaining { get; set; }
        public bool Finished { get; set; }
        public HashSet<Batch> InFlight { get; } = [];
        public TimeSpan OnnxRuntime { get; set; }

        public TaskCompletionSource<int[][]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Batch(GenerationSettings settings)
    {
        public GenerationSettings Settings { get; } = settings;
        public List<(Submission Submission, int Input)> Entries { get; } = [];
        public HashSet<Submission> Members { get; } = [];
        public int LiveMembers { get; set; }
        public CancellationTokenSource Stop { get; } = new();
    }
}
