using Microsoft.Extensions.Configuration;
using ServerlessInference.Storage;

namespace ServerlessInference.Tests.Storage;

public sealed class StorageConnectionTests
{
    private static StorageClientFactory Factory(Dictionary<string, string?> values) =>
        new(new ConfigurationBuilder().AddInMemoryCollection(values).Build(),
            Microsoft.Extensions.Options.Options.Create(new StorageClientOptions()));

    [Fact]
    public void AccountNameSelectsTheAccountsPublicEndpointsWithIdentity()
    {
        var factory = Factory(new() { ["Storage:accountName"] = "acct", ["Storage:clientId"] = "00000000-0000-0000-0000-000000000001" });
        Assert.Equal(new Uri("https://acct.blob.core.windows.net"), factory.CreateBlobServiceClient("Storage").Uri);
        Assert.Equal(new Uri("https://acct.queue.core.windows.net"), factory.CreateQueueServiceClient("Storage").Uri);
    }

    [Fact]
    public void ServiceUriWinsOverAccountNameAndConnectionStringWinsOverBoth()
    {
        var identity = Factory(new() { ["Storage:accountName"] = "acct", ["Storage:blobServiceUri"] = "https://private.example/" });
        Assert.Equal(new Uri("https://private.example/"), identity.CreateBlobServiceClient("Storage").Uri);
        var keyed = Factory(new() { ["Storage"] = "UseDevelopmentStorage=true", ["Storage:accountName"] = "acct" });
        Assert.Equal("devstoreaccount1", keyed.CreateBlobServiceClient("Storage").AccountName);
    }

    [Fact]
    public void MissingConnectionSaysWhichSettingsToSet()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Factory([]).CreateBlobServiceClient("Storage"));
        Assert.Contains("Storage__blobServiceUri", error.Message);
    }
}
