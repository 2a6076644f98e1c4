using Microsoft.ApplicationInsights;
using Microsoft.ApplicationInsights.Extensibility;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ServerlessInference.Engine;
using ServerlessInference.Telemetry;

namespace ServerlessInference.Tests.Support;

/// <summary>The app's real service wiring against Azurite, as one fresh worker instance: its own model holder,
/// cache folder (unless shared on purpose), clock and telemetry recorder. No hosted services are started.</summary>
public sealed class TestApp : IDisposable
{
    private readonly ServiceProvider _provider;
    private readonly bool _ownsCache;

    public TestApp(StorageFixture storage, IDictionary<string, string?>? settings = null, string? cacheDirectory = null)
    {
        _ownsCache = cacheDirectory is null;
        CacheDirectory = cacheDirectory ?? Path.Combine(Path.GetTempPath(), "si-tests-cache-" + Guid.NewGuid().ToString("N"));
        var values = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = storage.ConnectionString,
            ["Models:CacheDirectory"] = CacheDirectory,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        Configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();

        Factory = new TrackingEngineFactory(TestEngine.CreateFactory(Configuration));
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(Logs));
        services.AddSingleton(Configuration);
        services.AddSingleton<TimeProvider>(Clock);
        services.AddSingleton(new TelemetryClient(new TelemetryConfiguration
        {
            TelemetryChannel = Telemetry,
            ConnectionString = "InstrumentationKey=00000000-0000-0000-0000-000000000000",
        }));
        services.AddSingleton<IEngineFactory>(Factory);
        services.AddPrometheusEndpoint(Configuration);
        services.AddServerlessInference();
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public IConfiguration Configuration { get; }
    public string CacheDirectory { get; }
    public ManualTimeProvider Clock { get; } = new();
    public RecordingTelemetryChannel Telemetry { get; } = new();
    public RecordingLoggerProvider Logs { get; } = new();
    public TrackingEngineFactory Factory { get; }
    public IServiceProvider Services => _provider;

    /// <summary>A function class built the way the worker builds it (constructor injection).</summary>
    public T Function<T>() where T : class => ActivatorUtilities.CreateInstance<T>(_provider);

    public T Get<T>() where T : notnull => _provider.GetRequiredService<T>();

    /// <summary>What Application Insights has been sent so far, pre-aggregated metrics included (they are otherwise
    /// sent once a minute).</summary>
    public RecordingTelemetryChannel FlushTelemetry()
    {
        Get<TelemetryClient>().Flush();
        return Telemetry;
    }

    public void Dispose()
    {
        _provider.Dispose();
        if (_ownsCache && Directory.Exists(CacheDirectory))
        {
            try
            {
                Directory.Delete(CacheDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A load a readiness probe started in the background may still be writing its last file; the folder is
                // a temporary one, and a test's verdict must not depend on cleaning it up.
            }
        }
    }
}
