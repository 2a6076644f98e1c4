using Microsoft.Extensions.Options;

namespace ServerlessInference.ModelHosting;

/// <param name="IsReady">Whether the instance should take traffic.</param>
/// <param name="Model">The catalog's default model.</param>
/// <param name="State">That model's state now (after the instance became ready, it may have been evicted since).</param>
/// <param name="Detail">Why the instance is not ready, safe to show callers; null when ready.</param>
/// <param name="RetryAfter">When to ask again; zero when ready.</param>
/// <param name="ReadySince">When readiness first found the model loaded; null until then.</param>
/// <param name="BatchInvariant">Whether the loaded model's output is independent of batch-mates; null while it is not
/// loaded.</param>
public sealed record Readiness(bool IsReady, string Model, ModelState State, string? Detail, TimeSpan RetryAfter,
    DateTimeOffset? ReadySince, bool? BatchInvariant = null);

/// <summary>Whether this instance can translate: ready once the catalog's default model has been loaded. Asking
/// starts that load in the background on an instance that has none running (cold, or a failed load whose back-off
/// is over), never waits for it, and leaves single flight and back-off to <see cref="ModelHost"/>, so probes cannot
/// start a second load or retry faster than callers would.
/// <para>Once ready, the instance stays ready for the life of the process: an evicted default model is reloaded by
/// the next call that needs it like any other model, and a probe that reloaded it would evict the model in use;
/// an outage after warm-up is answered by the calls themselves (503), not by pulling every pod out of service.</para>
/// </summary>
public sealed class ModelReadiness(ModelHost host, ModelCatalog catalog, IOptions<ModelsOptions> options, TimeProvider time)
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _readySince;

    public Readiness Check()
    {
        var model = catalog.Resolve(null).Name;
        var status = host.GetStatuses().First(s => string.Equals(s.Name, model, StringComparison.Ordinal));
        // Read after the statuses: a failure whose back-off has passed then never looks as if it were still running.
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (status.State == ModelState.Ready)
            {
                _readySince ??= now;
            }

            if (_readySince is { } since)
            {
                return new Readiness(true, model, status.State, null, TimeSpan.Zero, since, status.BatchInvariant);
            }
        }

        var loadingRetry = TimeSpan.FromSeconds(options.Value.RetryAfterSeconds);
        switch (status.State)
        {
            case ModelState.Loading:
                return Loading(model, loadingRetry);
            case ModelState.Failed when status.RetryAfter is { } retryAt && retryAt > now:
                return new Readiness(false, model, ModelState.Failed, $"Model '{model}' failed to load: {status.Reason}",
                    retryAt - now, null);
            default:
                StartLoading();
                return Loading(model, loadingRetry);
        }
    }

    private static Readiness Loading(string model, TimeSpan retryAfter) =>
        new(false, model, ModelState.Loading, $"Model '{model}' is loading; this instance is not ready yet.", retryAfter, null);

    private void StartLoading() => _ = LoadAsync();

    private async Task LoadAsync()
    {
        try
        {
            // The lease is dropped at once: the point is only that the model is loaded when a request comes.
            using var lease = await host.AcquireAsync(null, CancellationToken.None);
        }
        catch (ModelUnavailableException)
        {
            // ModelHost has logged the failure and remembers it for its back-off; the next probe reports it.
        }
    }
}
