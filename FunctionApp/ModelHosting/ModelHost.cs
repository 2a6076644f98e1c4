using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Storage;
using ServerlessInference.Telemetry;

namespace ServerlessInference.ModelHosting;

public enum ModelState { NotLoaded, Loading, Ready, Failed }

/// <param name="TargetLanguages">The target-language codes of a loaded model's vocab (empty: a single target
/// language); null until it is loaded.</param>
/// <param name="DefaultTargetLanguage">The catalog entry's default, if it sets one.</param>
public sealed record ModelStatus(string Name, ModelState State, string? Reason, DateTimeOffset? RetryAfter,
    IReadOnlyList<string>? TargetLanguages = null, string? DefaultTargetLanguage = null, bool? BatchInvariant = null);

/// <summary>Process-wide holder of loaded engines. Concurrent first calls share one load (single flight); a
/// failed load is remembered for a short back-off only, so a later call retries it; at most
/// <see cref="ModelsOptions.MaxLoaded"/> models stay loaded, the least recently used is evicted and disposed once
/// the last request using it has released its lease.</summary>
public sealed class ModelHost : IDisposable
{
    private readonly ModelCatalog _catalog;
    private readonly ModelStore _store;
    private readonly IEngineFactory _factory;
    private readonly InferenceTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly ILogger<ModelHost> _logger;
    private readonly TimeSpan _backOff;
    private readonly int _maxLoaded;
    private readonly BatchSchedulerOptions _scheduling;
    private readonly ServingBacklog _backlog;
    private readonly Dictionary<string, Entry> _entries;
    private long _useCounter;

    public ModelHost(ModelCatalog catalog, ModelStore store, IEngineFactory factory, IOptions<ModelsOptions> options,
        IOptions<EngineOptions> engine, IOptions<ServingOptions> serving, ServingBacklog backlog,
        InferenceTelemetry telemetry, TimeProvider time, ILogger<ModelHost> logger)
    {
        _catalog = catalog;
        _store = store;
        _factory = factory;
        _telemetry = telemetry;
        _time = time;
        _logger = logger;
        _backOff = TimeSpan.FromSeconds(options.Value.RetryAfterSeconds);
        _maxLoaded = options.Value.MaxLoaded;
        _scheduling = new BatchSchedulerOptions
        {
            MaxBatchSize = engine.Value.MaxBatchSize,
            MaxConcurrentBatches = serving.Value.MaxConcurrentBatches,
            Batching = serving.Value.Batching,
        };
        _backlog = backlog;
        _entries = catalog.Entries.ToDictionary(e => e.Name, e => new Entry(e), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Gets the model, loading it if needed. Dispose the lease when the request is done with it.</summary>
    /// <exception cref="UnknownModelException">Not in the catalog.</exception>
    /// <exception cref="ModelUnavailableException">Loading failed now or recently; retry after its RetryAfter.</exception>
    public async Task<ModelLease> AcquireAsync(string? model, CancellationToken cancellationToken)
    {
        var entry = _entries[_catalog.Resolve(model).Name];
        while (true)
        {
            Task<LoadedModel> loading;
            lock (entry)
            {
                if (entry.Loaded is { } loaded && loaded.TryAddRef())
                {
                    entry.LastUsed = Interlocked.Increment(ref _useCounter);
                    return new ModelLease(loaded);
                }
                if (entry.Loading is null)
                {
                    if (entry.Failure is { } failure && _time.GetUtcNow() < failure.RetryAt)
                    {
                        throw new ModelUnavailableException(entry.Catalog.Name, failure.Reason, failure.RetryAt - _time.GetUtcNow());
                    }
                    // Not bound to this caller's token: other callers wait on the same load.
                    entry.Loading = Task.Run(() => LoadAsync(entry));
                }
                loading = entry.Loading;
            }
            // Loops to take the lease under the lock; a model evicted in between is simply loaded again.
            await loading.WaitAsync(cancellationToken);
        }
    }

    public IReadOnlyList<ModelStatus> GetStatuses()
    {
        var now = _time.GetUtcNow();
        return _entries.Values.OrderBy(e => e.Catalog.Name, StringComparer.Ordinal).Select(e =>
        {
            lock (e)
            {
                if (e.Loaded is not null)
                {
                    return new ModelStatus(e.Catalog.Name, ModelState.Ready, null, null,
                        e.Loaded.Engine.Limits.TargetLanguages, Default(e), e.Loaded.Engine.Limits.BatchInvariant);
                }

                if (e.Loading is not null)
                {
                    return new ModelStatus(e.Catalog.Name, ModelState.Loading, null, null, null, Default(e));
                }

                if (e.Failure is { } f)
                {
                    return new ModelStatus(e.Catalog.Name, ModelState.Failed, f.Reason, f.RetryAt > now ? f.RetryAt : now, null,
                        Default(e));
                }

                return new ModelStatus(e.Catalog.Name, ModelState.NotLoaded, null, null, null, Default(e));
            }
        }).ToList();

        static string? Default(Entry e) => string.IsNullOrEmpty(e.Catalog.TargetLanguage) ? null : e.Catalog.TargetLanguage;
    }

    private async Task<LoadedModel> LoadAsync(Entry entry)
    {
        var name = entry.Catalog.Name;
        string? directory = null;
        var started = Stopwatch.StartNew();
        try
        {
            var dtype = entry.Catalog.Dtype;
            // The load opens what it can (the encoder) as its files arrive, while the rest still downloads.
            using var load = _factory.BeginLoad(name, dtype);
            directory = await _store.EnsureLocalAsync(entry.Catalog, load.SelectFiles, load.FileReady, CancellationToken.None);
            var stopwatch = Stopwatch.StartNew();
            var engine = await load.CompleteAsync(directory, CancellationToken.None);
            try
            {
                CheckCatalogAgainst(entry.Catalog, engine.Limits);
            }
            catch
            {
                engine.Dispose();
                throw;
            }

            _telemetry.ModelLoaded(name, stopwatch.Elapsed, started.Elapsed);
            if (engine.IgnoredGenerationSettings.Count > 0)
            {
                _logger.GenerationSettingsIgnored(name, string.Join(", ", engine.IgnoredGenerationSettings));
            }

            foreach (var note in engine.Limits.LoadNotes)
            {
                _logger.ModelLoadNote(name, note);
            }

            var loaded = new LoadedModel(new BatchScheduler(engine, _scheduling, _backlog, _telemetry));
            lock (entry)
            {
                entry.Loaded = loaded;
                entry.Loading = null;
                entry.Failure = null;
                entry.LastUsed = Interlocked.Increment(ref _useCounter);
            }
            EvictBeyondCap(entry);
            return loaded;
        }
        catch (Exception ex)
        {
            var (kind, reason) = Describe(ex);
            // Engine messages name the local cache folder; callers only need to know which model file is wrong.
            if (directory is not null)
            {
                reason = reason.Replace(directory, $"<{name}>", StringComparison.Ordinal);
            }

            if (ex is ModelFormatException && directory is not null)
            {
                _store.Invalidate(directory); // the next attempt downloads afresh instead of trusting this copy
            }

            _telemetry.ModelLoadFailed(name, kind, started.Elapsed);
            if (StorageFailures.IsUnavailable(ex))
            {
                // An outage fails every retry the same way; the reason says it, the stack adds nothing each time.
                _logger.ModelLoadStorageUnavailable(name, kind, reason);
                _logger.ModelLoadStorageUnavailableDetail(ex, name);
            }
            else
            {
                _logger.ModelLoadFailed(ex, name, kind, reason);
            }
            // Settings do not change under a running app: retrying a misconfigured entry soon would only reload it.
            var backOff = ex is ModelConfigurationException && _backOff < MisconfiguredBackOff ? MisconfiguredBackOff : _backOff;
            lock (entry)
            {
                entry.Failure = new Failure(reason, _time.GetUtcNow() + backOff);
                entry.Loading = null;
            }
            throw new ModelUnavailableException(name, reason, backOff, ex);
        }
    }

    private void EvictBeyondCap(Entry justLoaded)
    {
        while (true)
        {
            Entry? victim = null;
            var loadedCount = 0;
            foreach (var e in _entries.Values)
            {
                lock (e)
                {
                    if (e.Loaded is null)
                    {
                        continue;
                    }

                    loadedCount++;
                    if (e != justLoaded && (victim is null || e.LastUsed < victim.LastUsed))
                    {
                        victim = e;
                    }
                }
            }
            if (loadedCount <= _maxLoaded || victim is null)
            {
                return;
            }

            LoadedModel? evicted;
            lock (victim)
            {
                evicted = victim.Loaded;
                victim.Loaded = null;
            }
            if (evicted is null)
            {
                continue;
            }

            _logger.ModelEvicted(victim.Catalog.Name, _maxLoaded);
            evicted.Evict();
        }
    }

    private static readonly TimeSpan MisconfiguredBackOff = TimeSpan.FromMinutes(5);

    /// <summary>The entry's target-language settings name only tokens the model's vocab has; found at load, the
    /// first moment the vocab is known, and reported with the codes the model does have.</summary>
    /// <exception cref="ModelConfigurationException"/>
    private static void CheckCatalogAgainst(ModelCatalogEntry catalog, ModelLimits limits)
    {
        var known = limits.TargetLanguages;
        var supported = known.Count == 0 ? "none: it has a single target language" : string.Join(", ", known);
        if (!string.IsNullOrEmpty(catalog.TargetLanguage) && !known.Contains(catalog.TargetLanguage, StringComparer.Ordinal))
        {
            throw new ModelConfigurationException(
                $"its catalog entry's TargetLanguage '{catalog.TargetLanguage}' is not a target-language token of the " +
                $"model's vocab (the model has: {supported}).");
        }

        var declared = ModelLanguages.Of(catalog)?.Targets.Where(t => t.Token is not null).Select(t => t.Token!) ?? [];
        foreach (var token in declared)
        {
            if (!known.Contains(token, StringComparer.Ordinal))
            {
                throw new ModelConfigurationException(
                    $"its catalog entry's Languages names the token '{token}', which is not a target-language token of " +
                    $"the model's vocab (the model has: {supported}).");
            }
        }
    }

    private static (string Kind, string Reason) Describe(Exception ex) => ex switch
    {
        ModelConfigurationException => (InferenceTelemetry.FailureKinds.Configuration, ex.Message),
        ModelNotProvisionedException => (InferenceTelemetry.FailureKinds.ModelMissing, ex.Message),
        ModelIntegrityException => (InferenceTelemetry.FailureKinds.Integrity, ex.Message),
        ModelFormatException => (InferenceTelemetry.FailureKinds.ModelFormat, ex.Message),
        _ when StorageFailures.Describe(ex) is { } storage => (InferenceTelemetry.FailureKinds.Storage, storage),
        _ => (InferenceTelemetry.FailureKinds.Unexpected, $"Unexpected {ex.GetType().Name} while loading the model."),
    };

    public void Dispose()
    {
        foreach (var entry in _entries.Values)
        {
            LoadedModel? loaded;
            lock (entry)
            {
                loaded = entry.Loaded;
                entry.Loaded = null;
            }
            loaded?.Evict();
        }
    }

    private sealed class Entry(ModelCatalogEntry catalog)
    {
        public ModelCatalogEntry Catalog { get; } = catalog;
        public LoadedModel? Loaded { get; set; }
        public Task<LoadedModel>? Loading { get; set; }
        public Failure? Failure { get; set; }
        public long LastUsed { get; set; }
    }

    private sealed record Failure(string Reason, DateTimeOffset RetryAt);
}

/// <summary>An engine, the scheduler all its callers go through, and the number of requests using it; disposed
/// once evicted and no longer used.</summary>
internal sealed class LoadedModel(BatchScheduler scheduler)
{
    private readonly Lock _gate = new();
    private int _references;
    private bool _evicted;

    public BatchScheduler Scheduler { get; } = scheduler;

    public ITranslationEngine Engine => Scheduler.Engine;

    public bool TryAddRef()
    {
        lock (_gate)
        {
            if (_evicted)
            {
                return false;
            }

            _references++;
            return true;
        }
    }

    public void Release()
    {
        bool dispose;
        lock (_gate)
        {
            _references--;
            dispose = _evicted && _references == 0;
        }
        if (dispose)
        {
            Engine.Dispose();
        }
    }

    public void Evict()
    {
        bool dispose;
        lock (_gate)
        {
            if (_evicted)
            {
                return;
            }

            _evicted = true;
            dispose = _references == 0;
        }
        if (dispose)
        {
            Engine.Dispose();
        }
    }
}

/// <summary>A request's hold on a loaded model; keeps it from being disposed while in use.</summary>
public sealed class ModelLease : IDisposable
{
    private LoadedModel? _model;

    internal ModelLease(LoadedModel model) => _model = model;

    public ITranslationEngine Engine => Model.Engine;

    /// <summary>Where the model's work is queued and batched with other callers'.</summary>
    public BatchScheduler Scheduler => Model.Scheduler;

    private LoadedModel Model => _model ?? throw new ObjectDisposedException(nameof(ModelLease));

    public void Dispose() => Interlocked.Exchange(ref _model, null)?.Release();
}
