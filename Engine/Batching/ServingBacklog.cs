namespace ServerlessInference.Engine.Batching;

/// <summary>
/// The instance's pending work in sentence inputs (queued or running, over every loaded model), bounded so that a
/// burst beyond what the engine can finish soon is turned away at once instead of timing out in a queue. Background
/// work may fill only half of the bound, so interactive callers still get in while queue chunks wait. It also keeps
/// the measured engine speed, from which a turned-away caller learns when to come back.
/// </summary>
public sealed class ServingBacklog(int maxPendingSentences, int concurrentBatches)
{
    /// <summary>Per-sentence engine time assumed until a batch has been measured.</summary>
    private static readonly TimeSpan AssumedSentenceTime = TimeSpan.FromMilliseconds(20);

    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(2);

    private readonly Lock _gate = new();
    private long _pending;
    private double _secondsPerSentence = AssumedSentenceTime.TotalSeconds;
    private bool _measured;

    public int MaxPendingSentences { get; } = maxPendingSentences;

    /// <summary>Sentence inputs admitted and not yet finished.</summary>
    public long PendingSentences
    {
        get
        {
            lock (_gate)
            {
                return _pending;
            }
        }
    }

    /// <summary>Engine throughput over all slots, from recent batches; null until one has run.</summary>
    public double? SentencesPerSecond
    {
        get
        {
            lock (_gate)
            {
                return _measured ? concurrentBatches / _secondsPerSentence : null;
            }
        }
    }

    /// <summary>How long the pending work should take at the measured speed, in seconds.</summary>
    public double EstimatedSeconds
    {
        get
        {
            lock (_gate)
            {
                return DrainSecondsLocked();
            }
        }
    }

    /// <summary>The wait a turned-away caller is told: <see cref="EstimatedSeconds"/>, within 1 s and 2 min.</summary>
    public TimeSpan RetryAfter
    {
        get
        {
            lock (_gate)
            {
                return RetryAfterLocked();
            }
        }
    }

    /// <summary>Counts <paramref name="sentences"/> in, or turns them away if they would pass the bound. Work that is
    /// alone (nothing pending) is always admitted, so a request larger than the bound still runs on an idle instance.</summary>
    /// <exception cref="ServerBusyException"/>
    public void Admit(int sentences, WorkPriority priority)
    {
        lock (_gate)
        {
            long bound = priority == WorkPriority.Interactive ? MaxPendingSentences : MaxPendingSentences / 2;
            if (_pending > 0 && _pending + sentences > bound)
            {
                throw new ServerBusyException(
                    $"The instance is busy: {_pending} sentences are pending and it accepts {bound}. Retry later.",
                    RetryAfterLocked());
            }

            _pending += sentences;
        }
    }

    /// <summary>A batch of <paramref name="sentences"/> finished (or failed) after <paramref name="duration"/>.</summary>
    public void Completed(int sentences, TimeSpan duration, bool measured)
    {
        lock (_gate)
        {
            _pending -= sentences;
            if (measured && sentences > 0)
            {
                double sample = duration.TotalSeconds / sentences;
                // A moving average: recent batches count most, one odd batch does not swing the estimate.
                _secondsPerSentence = _measured ? 0.8 * _secondsPerSentence + 0.2 * sample : sample;
                _measured = true;
            }
        }
    }

    /// <summary>Queued sentences that will not run (their caller went away or failed).</summary>
    public void Withdrawn(int sentences)
    {
        lock (_gate)
        {
            _pending -= sentences;
        }
    }

    private double DrainSecondsLocked() => _pending * _secondsPerSentence / concurrentBatches;

    private TimeSpan RetryAfterLocked() => TimeSpan.FromSeconds(Math.Clamp(DrainSecondsLocked(), 1, MaxRetryAfter.TotalSeconds));
}
