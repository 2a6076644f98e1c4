using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using ServerlessInference.Models;
using Xunit;

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
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    public const string ModelsContainer = "models";

    private readonly StringBuilder _output = new();
    private Process? _azurite;
    private string? _location;

    public string ConnectionString { get; private set; } = "";
    public BlobServiceClient Blobs { get; private set; } = null!;
    public QueueServiceClient Queues { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var executable = Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed ({executable} is missing): run `npm ci` in {RepoPaths.Root} first.");
        }

        TestModel.EnsurePresent();

        // Three distinct ports: each probe releases its port, so the OS may hand the same one out twice.
        var ports = FreePorts(3);
        var (blobPort, queuePort, tablePort) = (ports[0], ports[1], ports[2]); // table unused; its default 10002 could clash
        _location = Path.Combine(Path.GetTempPath(), "azurite-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_location);
        var start = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
                 {
                     "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1",
                     "--tableHost", "127.0.0.1",
                     "--blobPort", blobPort.ToString(), "--queuePort", queuePort.ToString(), "--tablePort", tablePort.ToString(),
                     "--location", _location,
                 })
        {
            start.ArgumentList.Add(arg);
        }

        _azurite = Process.Start(start)!;
        _azurite.OutputDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        _azurite.ErrorDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        _azurite.BeginOutputReadLine();
        _azurite.BeginErrorReadLine();
        await WaitForPortAsync(blobPort);
        await WaitForPortAsync(queuePort);

        ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
                           $"AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;" +
                           $"QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;";
        Blobs = new BlobServiceClient(ConnectionString);
        Queues = new QueueServiceClient(ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await ModelUploader.UploadDirectoryAsync(Blobs.GetBlobContainerClient(ModelsContainer), RepoPaths.ShippedModel,
            RepoPaths.ShippedModelName + "/");
    }

    /// <summary>A connection string to a storage account nobody listens for (a port just released on loopback).</summary>
    public static string UnreachableConnectionString()
    {
        var port = FreePorts(1)[0];
        return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
               $"AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;" +
               $"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;";
    }

    /// <summary>A fresh container name, so tests that break storage on purpose never disturb each other.</summary>
    public static string UniqueContainer(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];

    public async Task DisposeAsync()
    {
        if (_azurite is { HasExited: false })
        {
            _azurite.Kill(entireProcessTree: true);
            await _azurite.WaitForExitAsync();
        }
        _azurite?.Dispose();
        if (_location is not null && Directory.Exists(_location))
        {
            Directory.Delete(_location, recursive: true);
        }
    }

    private Task WaitForPortAsync(int port) => LoopbackPorts.WaitUntilListeningAsync(port, TimeSpan.FromSeconds(60),
        () => _azurite!.HasExited ? $"Azurite exited with {_azurite.ExitCode}: {Output()}" : null);

    private string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    public static int[] FreePorts(int count) => LoopbackPorts.Free(count);
}
