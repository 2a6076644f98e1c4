using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using ServerlessInference.ModelHosting;

namespace ServerlessInference.Tests.Support;

[CollectionDefinition(Name)]
public sealed class StorageCollection : ICollectionFixture<StorageFixture>
{
    public const string Name = "Azurite";
}

/// <summary>One Azurite (from node_modules) on free ports for the whole test run, with the model uploaded to
/// <c>models/marian-tiny-en-zh/</c> as a deployment would have it.</summary>
public sealed class StorageFixture : IAsyncLifetime
{
    public const string ModelsContainer = "models";

    private readonly Azurite _azurite = new();

    public string ConnectionString { get; private set; } = "";
    public BlobServiceClient Blobs { get; private set; } = null!;
    public QueueServiceClient Queues { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        TestModel.EnsurePresent();
        await _azurite.StartAsync();
        ConnectionString = _azurite.ConnectionString;
        Blobs = new BlobServiceClient(ConnectionString);
        Queues = new QueueServiceClient(ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await ModelUploader.UploadDirectoryAsync(Blobs.GetBlobContainerClient(ModelsContainer), RepoPaths.ShippedModel,
            RepoPaths.ShippedModelName + "/");
    }

    /// <summary>A connection string to a storage account nobody listens for (a port just released on loopback).</summary>
    public static string UnreachableConnectionString()
    {
        var port = FreePorts(1)[0];
        return Azurite.ConnectionStringFor(port, port, port);
    }

    /// <summary>A fresh container name, so tests that break storage on purpose never disturb each other.</summary>
    public static string UniqueContainer(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    public static int[] FreePorts(int count) => LoopbackPorts.Free(count);
}
