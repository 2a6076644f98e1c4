using System.Security.Cryptography;
using ServerlessInference.ModelHosting;

namespace ServerlessInference.E2ETests.Support;

[CollectionDefinition(Name)]
public sealed class HostCollection : ICollectionFixture<HostFixture>
{
    /// <summary>Every test of the suite is in this collection, so they run one at a time: they share the machine's
    /// cores with a Functions host and its worker.</summary>
    public const string Name = "Functions host";
}

/// <summary>The instance most tests share: the shipped model as the default, plus a catalog entry whose encoder is
/// not an ONNX graph (a model that fails to load). Started only when a host exists, so a machine without one reports
/// the tests as skipped instead of failing the fixture.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    public const string BrokenModel = "broken-model";

    private AppInstance? _app;

    public AppInstance App => _app ?? throw new InvalidOperationException("No Functions host: " + FunctionsHostLocator.Reason);

    public FunctionsHost Host => App.Host;

    public async Task InitializeAsync()
    {
        if (FunctionsHostLocator.Launcher is null)
        {
            return;
        }

        _app = await AppInstance.StartAsync(new Dictionary<string, string>
        {
            ["Models__Catalog__0__Name"] = AppInstance.ModelName,
            ["Models__Catalog__0__Prefix"] = AppInstance.ModelName + "/",
            ["Models__Catalog__1__Name"] = BrokenModel,
            ["Models__Catalog__1__Prefix"] = BrokenModel + "/",
        }, UploadBrokenModelAsync);
    }

    /// <summary>The shipped folder with garbage for its encoder graph, uploaded with a matching Content-MD5: the
    /// download verifies, the load fails.</summary>
    private static async Task UploadBrokenModelAsync(AppInstance app)
    {
        var container = app.Blobs.GetBlobContainerClient("models");
        await ModelUploader.UploadDirectoryAsync(container, RepoPaths.ShippedModel, BrokenModel + "/");
        var garbage = RandomNumberGenerator.GetBytes(4096);
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, garbage);
            var encoder = container.GetBlobClient(BrokenModel + "/onnx/encoder_model.onnx");
            await encoder.DeleteIfExistsAsync();
            await ModelUploader.UploadFileAsync(encoder, file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
