using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using ServerlessInference.Jobs;
using ServerlessInference.ModelHosting;

namespace ServerlessInference.E2ETests.Support;

/// <summary>The app as a user deploys it locally: Azurite provisioned as tools/Provision does (containers, queues,
/// the shipped model uploaded), the published app under a Functions host, its Prometheus endpoint on a free port,
/// and a model cache of its own (so every instance starts cold).</summary>
public sealed class AppInstance : IAsyncDisposable
{
    public const string ModelName = RepoPaths.ShippedModelName;

    private readonly string _cache = Path.Combine(Path.GetTempPath(), "si-e2e-cache-" + Guid.NewGuid().ToString("N")[..8]);

    private AppInstance(Azurite storage)
    {
        Storage = storage;
        Blobs = new BlobServiceClient(storage.ConnectionString);
        Queues = new QueueServiceClient(storage.ConnectionString);
        Base64Queues = new QueueServiceClient(storage.ConnectionString,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
    }

    public Azurite Storage { get; }
    public FunctionsHost Host { get; private set; } = null!;
    public BlobServiceClient Blobs { get; }

    /// <summary>Sends message text as it is (plain JSON, as <c>az storage message put</c> and the app do).</summary>
    public QueueServiceClient Queues { get; }

    /// <summary>Sends base64 of the text, as the .NET SDK does with <see cref="QueueMessageEncoding.Base64"/>.</summary>
    public QueueServiceClient Base64Queues { get; }

    public int MetricsPort { get; private set; }

    public BlobContainerClient Jobs => Blobs.GetBlobContainerClient("jobs");

    /// <param name="settings">App settings beyond the defaults here.</param>
    /// <param name="provision">Storage set-up beyond the shipped model, before the host starts.</param>
    public static async Task<AppInstance> StartAsync(IReadOnlyDictionary<string, string>? settings = null,
        Func<AppInstance, Task>? provision = null)
    {
        var appDirectory = await AppPublish.DirectoryAsync();
        var storage = new Azurite();
        var instance = new AppInstance(storage);
        try
        {
            await storage.StartAsync();
            await instance.ProvisionAsync();
            if (provision is not null)
            {
                await provision(instance);
            }

            instance.MetricsPort = LoopbackPorts.Free(1)[0];
            var all = new Dictionary<string, string>
            {
                ["AzureWebJobsStorage"] = storage.ConnectionString,
                ["Models__CacheDirectory"] = instance._cache,
                ["Monitoring__PrometheusEnabled"] = "true",
                ["Monitoring__PrometheusPort"] = instance.MetricsPort.ToString(),
            };
            foreach (var (name, value) in settings ?? new Dictionary<string, string>())
            {
                all[name] = value;
            }

            instance.Host = await FunctionsHost.StartAsync(appDirectory, all);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    private async Task ProvisionAsync()
    {
        await ModelUploader.UploadDirectoryAsync(Blobs.GetBlobContainerClient("models"), RepoPaths.ShippedModel, ModelName + "/");
        await Jobs.CreateIfNotExistsAsync();
        foreach (var queue in new[] { JobsOptions.Queue, JobsOptions.PoisonQueue })
        {
            await Queues.GetQueueClient(queue).CreateIfNotExistsAsync();
        }
    }

    /// <summary>The app's Prometheus scrape.</summary>
    public async Task<Metrics> ScrapeAsync()
    {
        using var client = new HttpClient();
        return new Metrics(await client.GetStringAsync($"http://127.0.0.1:{MetricsPort}/metrics"));
    }

    public async ValueTask DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        await Storage.DisposeAsync();
        try
        {
            Directory.Delete(_cache, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
