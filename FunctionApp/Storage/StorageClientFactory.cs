using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace ServerlessInference.Storage;

/// <summary>Builds storage clients from a Functions-style connection name, so the app reads the same settings
/// the host's triggers read: <c>{name}</c> is a connection string; otherwise <c>{name}__blobServiceUri</c> /
/// <c>{name}__queueServiceUri</c> or <c>{name}__accountName</c> select identity-based access with
/// <see cref="DefaultAzureCredential"/> (a user-assigned identity through <c>{name}__clientId</c>).</summary>
public sealed class StorageClientFactory(IConfiguration configuration, IOptions<StorageClientOptions> storage)
{
    public static bool IsConfigured(IConfiguration configuration, string name) =>
        !string.IsNullOrWhiteSpace(configuration[name])
        || !string.IsNullOrWhiteSpace(configuration[$"{name}:blobServiceUri"])
        || !string.IsNullOrWhiteSpace(configuration[$"{name}:accountName"]);

    public BlobServiceClient CreateBlobServiceClient(string name)
    {
        var options = new BlobClientOptions();
        Configure(options);
        if (configuration[name] is { Length: > 0 } connectionString)
        {
            return new BlobServiceClient(connectionString, options);
        }

        return new BlobServiceClient(ServiceUri(name, "blob"), Credential(name), options);
    }

    /// <summary>Messages go out as plain text (JSON), readable in any queue browser: host.json sets
    /// <c>messageEncoding: none</c>, and the app reads base64 from other producers too (<c>JobQueueMessage</c>).</summary>
    public QueueServiceClient CreateQueueServiceClient(string name)
    {
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None };
        Configure(options);
        if (configuration[name] is { Length: > 0 } connectionString)
        {
            return new QueueServiceClient(connectionString, options);
        }

        return new QueueServiceClient(ServiceUri(name, "queue"), Credential(name), options);
    }

    private void Configure(ClientOptions options)
    {
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = storage.Value.MaxRetries;
        options.Retry.Delay = TimeSpan.FromSeconds(0.5);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(4);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(storage.Value.NetworkTimeoutSeconds);
    }

    private Uri ServiceUri(string name, string service)
    {
        if (configuration[$"{name}:{service}ServiceUri"] is { Length: > 0 } uri)
        {
            return new Uri(uri);
        }

        if (configuration[$"{name}:accountName"] is { Length: > 0 } account)
        {
            return new Uri($"https://{account}.{service}.core.windows.net");
        }

        throw new InvalidOperationException(
            $"Storage connection '{name}' is not configured: set '{name}' (connection string), " +
            $"'{name}__{service}ServiceUri' or '{name}__accountName'.");
    }

    private TokenCredential Credential(string name)
    {
        var clientId = configuration[$"{name}:clientId"];
        return new DefaultAzureCredential(new DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = string.IsNullOrWhiteSpace(clientId) ? null : clientId,
        });
    }
}
