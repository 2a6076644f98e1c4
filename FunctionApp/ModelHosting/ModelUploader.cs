using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace ServerlessInference.ModelHosting;

/// <summary>Uploads a local model folder under a blob prefix with Content-MD5 set, so the app can verify every
/// download. Shared by tests and the local provisioning tool (tools/Provision), hence dependency-free.</summary>
public static class ModelUploader
{
    public static async Task<int> UploadDirectoryAsync(
        BlobContainerClient container, string directory, string prefix, CancellationToken cancellationToken = default)
    {
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var files = Directory.GetFiles(directory, "*", SearchOption.AllDirectories);
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(directory, file).Replace(Path.DirectorySeparatorChar, '/');
            await UploadFileAsync(container.GetBlobClient(prefix + relative), file, cancellationToken);
        }
        return files.Length;
    }

    public static async Task UploadFileAsync(BlobClient blob, string file, CancellationToken cancellationToken = default)
    {
        byte[] md5;
        await using (var hashStream = File.OpenRead(file))
        {
            md5 = await MD5.HashDataAsync(hashStream, cancellationToken);
        }

        await using var stream = File.OpenRead(file);
        await blob.UploadAsync(stream, new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentHash = md5, ContentType = "application/octet-stream" },
        }, cancellationToken);
    }
}
