namespace ServerlessInference.Engine.Batching;

/// <summary>Told about every engine run a <see cref="BatchScheduler"/> makes (the app's telemetry); a continuous batch
/// reports each step at which sentences finished, with those sentences and the time since its last report. Called on the
/// run's thread after the run; what it throws is dropped, so it can never hold up or fail the callers of the batch.</summary>
public interface IBatchObserver
{
    /// <param name="waits">Each input's priority and how long its caller waited for this run.</param>
    void BatchRan(string model, int sentences, TimeSpan duration, bool succeeded,
        IEnumerable<(WorkPriority Priority, TimeSpan Wait)> waits);
}
