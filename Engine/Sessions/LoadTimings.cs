using System.Diagnostics;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// Where a model's load spent its time, phase by phase (session creation, the decoder rewrite, quantisation), for the
/// load benchmarks to report: cold start is a sum of these, and which one dominates decides what to remove.
/// Phases may be added from several threads (the encoder opens while the decoder downloads).
/// </summary>
public sealed class LoadTimings
{
    private readonly Lock _gate = new();
    private readonly List<KeyValuePair<string, TimeSpan>> _phases = [];
    private readonly List<KeyValuePair<string, TimeSpan>> _cpu = [];

    /// <summary>Each phase and its duration, in the order they finished.</summary>
    public IReadOnlyList<KeyValuePair<string, TimeSpan>> Phases
    {
        get
        {
            lock (_gate)
            {
                return [.. _phases];
            }
        }
    }

    /// <summary>The CPU time of each phase measured with <see cref="Measure"/>, on the thread that ran it (Linux only;
    /// empty elsewhere). Phases load at once, so on a busy machine their wall times include waiting for a core: their
    /// CPU times tell what each chain of phases would take on idle cores.</summary>
    public IReadOnlyList<KeyValuePair<string, TimeSpan>> CpuPhases
    {
        get
        {
            lock (_gate)
            {
                return [.. _cpu];
            }
        }
    }

    public void Add(string phase, TimeSpan duration)
    {
        lock (_gate)
        {
            _phases.Add(new(phase, duration));
        }
    }

    /// <summary>Times <paramref name="action"/> as <paramref name="phase"/>.</summary>
    public T Measure<T>(string phase, Func<T> action)
    {
        var started = Stopwatch.GetTimestamp();
        var cpuStarted = ThreadCpuTime.Now();
        try
        {
            return action();
        }
        finally
        {
            Add(phase, Stopwatch.GetElapsedTime(started));
            if (cpuStarted is { } cpu && ThreadCpuTime.Now() is { } cpuEnded)
            {
                lock (_gate)
                {
                    _cpu.Add(new(phase, cpuEnded - cpu));
                }
            }
        }
    }
}
