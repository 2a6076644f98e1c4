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
        try
        {
            return action();
        }
        finally
        {
            Add(phase, Stopwatch.GetElapsedTime(started));
        }
    }
}
