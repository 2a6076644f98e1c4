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
/// <para>When the engine offers it (<see cref="ITranslationEngine.StartContinuous"/>), batches are continuous: inputs
/// that arrive while a batch decodes join it at the next step (while it has room and no caller with other settings
/// waits for the engine), and each input's output goes to its caller as soon as it is done.</para>
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

        var batch = new Batch(leader.Settings);
        FillLocked(batch, _options.Batching ? null : leader, MaxBatchSize);
        return batch;
    }

    /// <summary>Adds up to <paramref name="room"/> inputs to <paramref name="batch"/>, round-robin over the waiting
    /// callers with its settings (only <paramref name="only"/> when given); callers that got a turn move to the back
    /// of their queue. Returns the inputs added.</summary>
    private List<(Submission Submission, int Input)> FillLocked(Batch batch, Submission? only, int room)
    {
        var candidates = only is null
            ? _waiting.SelectMany(q => q).Where(s => s.Settings == batch.Settings).ToList()
            : [only];
        var added = new List<(Submission Submission, int Input)>();
        var served = new HashSet<Submission>();
        bool more = true;
        while (more && added.Count < room)
        {
            more = false;
            foreach (var submission in candidates)
            {
                if (added.Count == room)
                {
                    break;
                }

                if (submission.Pending.TryDequeue(out var input))
                {
                    added.Add((submission, input));
                    served.Add(submission);
                    // A caller may come back into a continuous batch it had left (its earlier inputs all delivered).
                    if (submission.InFlight.Add(batch))
                    {
                        batch.Members.Add(submission);
                        batch.LiveMembers++;
                    }

                    more = true;
                }
            }
        }

        batch.Entries.AddRange(added);
        foreach (var queue in _waiting)
        {
            var moved = queue.Where(served.Contains).ToList();
            queue.RemoveAll(served.Contains);
            queue.AddRange(moved.Where(s => s.Pending.Count > 0));
        }

        return added;
    }

    /// <summary>Runs one batch and hands each caller its outputs. Whatever throws on the way (the engine, the backlog,
    /// the observer), the slot is given back and every caller of the batch is finished: a caller left waiting would
    /// wait for good.</summary>
    private void Run(Batch batch)
    {
        IContinuousDecode? decode = null;
        try
        {
            // Without batching a run belongs to one caller: nobody else may join it.
            decode = _options.Batching ? _engine.StartContinuous(batch.Settings, batch.Stop.Token) : null;
        }
#pragma warning disable CA1031 // Whatever failed starting it, the batch still runs as a whole.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        if (decode is not null)
        {
            RunContinuous(batch, decode);
            return;
        }

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
            Observe(sources.Length, elapsed, failure is null, ordered, ordered.Select(_ => started).ToArray());
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

    /// <summary>
    /// Runs a continuous batch: its inputs join the decode, then step by step each finished input goes to its caller
    /// and waiting inputs with the batch's settings join while there is room. Joining stops while a caller with other
    /// settings is first in line (it gets the engine once this batch drains) or once every caller has gone. Whatever
    /// throws, the slot is given back and every caller still waiting on the batch is failed.
    /// </summary>
    private void RunContinuous(Batch batch, IContinuousDecode decode)
    {
        var owners = new Dictionary<int, (Submission Submission, int Input)>();
        var joining = new List<(Submission Submission, int Input)>(batch.Entries);
        var lastReport = Stopwatch.GetTimestamp();
        var joined = new Dictionary<(Submission, int), long>();
        int stepsWaited = 0;
        Exception? failure = null;
        try
        {
            using (decode)
            {
                while (joining.Count > 0 || decode.Running > 0)
                {
                    if (joining.Count > 0)
                    {
                        // Shortest first, as whole batches run: the encoder groups similar lengths.
                        joining.Sort((x, y) => x.Submission.Plan.Inputs[x.Input].Length - y.Submission.Plan.Inputs[y.Input].Length);
                        var now = Stopwatch.GetTimestamp();
                        var numbers = decode.Join(joining.Select(e => e.Submission.Plan.Inputs[e.Input]).ToArray());
                        for (int i = 0; i < numbers.Length; i++)
                        {
                            owners[numbers[i]] = joining[i];
                            joined[joining[i]] = now;
                        }

                        joining.Clear();
                    }

                    var done = decode.Step();
                    var elapsed = Stopwatch.GetElapsedTime(lastReport);
                    if (done.Count > 0)
                    {
                        lastReport = Stopwatch.GetTimestamp();
                        var delivered = done.Select(d => (Entry: owners[d.Input], d.Ids)).ToArray();
                        foreach (var d in done)
                        {
                            owners.Remove(d.Input);
                        }

                        _backlog.Completed(delivered.Length, elapsed, measured: true);
                        Observe(delivered.Length, elapsed, true,
                            delivered.Select(d => (d.Entry.Submission, d.Entry.Input)).ToArray(),
                            delivered.Select(d => joined[d.Entry]).ToArray());
                        Deliver(batch, delivered, decode.OnnxRuntime);
                    }

                    lock (_gate)
                    {
                        var first = _waiting.SelectMany(q => q).FirstOrDefault();
                        int room = MaxBatchSize - decode.Running;
                        if (batch.Stopping || first?.Settings != batch.Settings || room == 0)
                        {
                            stepsWaited = 0;
                        }
                        else if (WaitingLocked(batch.Settings) is var waiting && waiting == 0)
                        {
                            stepsWaited = 0;
                        }
                        else if (JoinsNow(decode.Running, waiting, ++stepsWaited))
                        {
                            joining = FillLocked(batch, null, room);
                            stepsWaited = 0;
                        }
                    }
                }
            }
        }
#pragma warning disable CA1031 // Handed to the callers of the batch below.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }
        finally
        {
            var undelivered = owners.Values.Concat(joining).ToArray();
            if (undelivered.Length > 0)
            {
                var elapsed = Stopwatch.GetElapsedTime(lastReport);
                _backlog.Completed(undelivered.Length, elapsed, measured: false);
                Observe(undelivered.Length, elapsed, false, undelivered, undelivered.Select(_ => lastReport).ToArray());
            }

            Finish(batch, undelivered, null, failure);
        }
    }

    /// <summary>Steps an input may wait to join a running decode, at most, when few wait (see <see cref="JoinsNow"/>).</summary>
    internal const int MaxJoinWaitSteps = 4;

    /// <summary>
    /// Whether waiting inputs join the running decode at this step boundary. A join costs runs of its own (the
    /// encoder and a first decoder step for the joining inputs, each with a fixed cost whatever their number), so
    /// inputs join together: once they are a quarter of the running ones, once one has waited
    /// <see cref="MaxJoinWaitSteps"/> steps (a step is a few milliseconds: small against the decode they then join),
    /// or at once when nothing runs.
    /// </summary>
    internal static bool JoinsNow(int running, int waiting, int stepsWaited) =>
        waiting > 0 && (running == 0 || 4 * waiting >= running || stepsWaited >= MaxJoinWaitSteps);

    /// <summary>Inputs waiting with <paramref name="settings"/>.</summary>
    private int WaitingLocked(GenerationSettings settings) =>
        _waiting.Sum(q => q.Where(s => s.Settings == settings).Sum(s => s.Pending.Count));

    /// <summary>Hands finished inputs of a continuous batch to their callers; a caller whose last input this was
    /// completes.</summary>
    private void Deliver(Batch batch, ((Submission Submission, int Input) Entry, int[] Ids)[] delivered, TimeSpan onnxRuntime)
    {
        var completed = new List<Submission>();
        lock (_gate)
        {
            foreach (var ((submission, input), ids) in delivered)
            {
                batch.Entries.Remove((submission, input));
                if (!batch.Entries.Any(e => e.Submission == submission))
                {
                    submission.InFlight.Remove(batch);
                    if (!submission.Finished)
                    {
                        batch.LiveMembers--; // a caller that cancelled was counted out then
                    }
                }

                if (submission.Finished)
                {
                    continue;
                }

                submission.Outputs[input] = ids;
                if (--submission.Remaining == 0)
                {
                    // The decode's time so far: shared by everyone in it, as a whole batch's time is.
                    submission.OnnxRuntime += onnxRuntime;
                    completed.Add(submission);
                    FinishLocked(submission);
                }
            }
        }

        foreach (var submission in completed)
        {
            submission.Completion.TrySetResult(submission.Outputs);
        }
    }

    /// <param name="started">When each input started running (its wait ends there).</param>
    private void Observe(int sentences, TimeSpan duration, bool succeeded, (Submission Submission, int Input)[] ordered,
        long[] started)
    {
        if (_observer is null)
        {
            return;
        }

        try
        {
            _observer.BatchRan(_engine.ModelName, sentences, duration, succeeded,
                ordered.Select((e, i) => (e.Submission.Priority, Stopwatch.GetElapsedTime(e.Submission.Queued, started[i]))).ToArray());
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
                    batch.Stopping = true;
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

        /// <summary>Every caller has gone: the batch is being stopped, and no input joins it any more.</summary>
        public bool Stopping { get; set; }
        public CancellationTokenSource Stop { get; } = new();
    }
}
