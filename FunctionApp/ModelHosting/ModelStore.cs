using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessInference.Storage;
using ServerlessInference.Telemetry;

namespace ServerlessInference.ModelHosting;

/// <summary>Mirrors a model's blobs into a local cache folder keyed by their ETags. A download goes to a staging
/// folder first and is renamed into place only once every file is complete and verified, so a crash or a
/// concurrent process never leaves a half-written folder that looks valid.</summary>
public sealed class ModelStore
{
    private const string ManifestFile = ".manifest.json";
    private const int DownloadParallelism = 4;

    private readonly BlobContainerClient _container;
    private readonly string _cacheRoot;
    private readonly InferenceTelemetry _telemetry;
    private readonly ILogger<ModelStore> _logger;

    public ModelStore(StorageClientFactory clients, IOptions<ModelsOptions> options, InferenceTelemetry telemetry,
        ILogger<ModelStore> logger)
        : this(clients.CreateBlobServiceClient(options.Value.Connection).GetBlobContainerClient(options.Value.Container),
            options.Value.CacheDirectory, telemetry, logger)
    {
    }

    /// <summary>For tests that put their own transport in front of the container.</summary>
    internal ModelStore(BlobContainerClient container, string cacheRoot, InferenceTelemetry telemetry, ILogger<ModelStore> logger)
    {
        _container = container;
        _cacheRoot = cacheRoot;
        _telemetry = telemetry;
        _logger = logger;
    }

    /// <summary>Returns a local folder holding exactly the current versions of the model's blobs that
    /// <paramref name="selectFiles"/> picks (by path relative to the model's prefix) from what is listed there.</summary>
    /// <exception cref="ModelNotProvisionedException">No blobs under the prefix (or no container).</exception>
    /// <exception cref="ModelIntegrityException">A blob's size or Content-MD5 did not match.</exception>
    public Task<string> EnsureLocalAsync(ModelCatalogEntry model,
        Func<IReadOnlyCollection<string>, IReadOnlyList<string>> selectFiles, CancellationToken cancellationToken) =>
        EnsureLocalAsync(model, selectFiles, fileReady: null, cancellationToken);

    /// <param name="selectFiles">Also the download order: files it names first start downloading first.</param>
    /// <param name="fileReady">Told (relative path, full path) of each file once downloaded and verified, before the
    /// rest is complete; not called when the cache already holds the folder. The path is in a staging folder, so the
    /// work it returns must be all that uses the path: the store waits for that work (whatever its outcome) before it
    /// moves or deletes the staging folder, and before it returns or throws.</param>
    public async Task<string> EnsureLocalAsync(ModelCatalogEntry model,
        Func<IReadOnlyCollection<string>, IReadOnlyList<string>> selectFiles, Func<string, string, Task?>? fileReady,
        CancellationToken cancellationToken)
    {
        var listed = await ListAsync(model, cancellationToken);
        var order = selectFiles(listed.Select(b => b.RelativePath).ToList())
            .Distinct(StringComparer.Ordinal)
            .Select((path, index) => (path, index))
            .ToDictionary(p => p.path, p => p.index, StringComparer.Ordinal);
        // The cache key and manifest keep the listing's (sorted) order; downloads go in the selection's order.
        var blobs = listed.Where(b => order.ContainsKey(b.RelativePath)).ToList();
        var downloadOrder = blobs.OrderBy(b => order[b.RelativePath]).ToList();
        var modelRoot = Path.Combine(_cacheRoot, model.Name);
        var target = Path.Combine(modelRoot, CacheKey(blobs));
        if (IsValidCache(target, blobs))
        {
            _telemetry.ModelCacheHit(model.Name, target);
            return target;
        }

        Directory.CreateDirectory(modelRoot);
        var staging = Path.Combine(modelRoot, ".staging-" + Guid.NewGuid().ToString("N"));
        var consumers = new List<Task>();
        try
        {
            var stopwatch = Stopwatch.StartNew();
            TimeSpan downloadTime;
            try
            {
                await Parallel.ForEachAsync(downloadOrder,
                    new ParallelOptions { MaxDegreeOfParallelism = DownloadParallelism, CancellationToken = cancellationToken },
                    async (blob, ct) =>
                    {
                        var path = Path.Combine(staging, blob.RelativePath);
                        await DownloadAsync(blob, path, ct);
                        if (fileReady?.Invoke(blob.RelativePath, path) is { } work)
                        {
                            lock (consumers)
                            {
                                consumers.Add(work);
                            }
                        }
                    });
                downloadTime = stopwatch.Elapsed;
            }
            finally
            {
                Task[] started;
                lock (consumers)
                {
                    started = [.. consumers];
                }
                // Their outcome is the consumer's to report; here they only must be done with the staging paths.
                await Task.WhenAll(started).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            await File.WriteAllTextAsync(Path.Combine(staging, ManifestFile), JsonSerializer.Serialize(blobs), cancellationToken);
            _telemetry.ModelDownloaded(model.Name, blobs.Sum(b => b.Length), blobs.Count, downloadTime);

            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true); // an invalid leftover
            }

            try
            {
                Directory.Move(staging, target); // a rename: atomic on one file system
            }
            catch (IOException) when (IsValidCache(target, blobs))
            {
                // Another worker process on this instance finished the same version first; use theirs.
            }
        }
        finally
        {
            TryDelete(staging);
        }
        RemoveOtherVersions(modelRoot, target);
        return target;
    }

    /// <summary>Drops a cached folder, e.g. after the engine rejected it, so the next load starts clean.</summary>
    public void Invalidate(string directory) => TryDelete(directory);

    private async Task<List<ModelBlob>> ListAsync(ModelCatalogEntry model, CancellationToken cancellationToken)
    {
        var blobs = new List<ModelBlob>();
        try
        {
            await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = model.Prefix }, cancellationToken))
            {
                var relative = item.Name[model.Prefix.Length..].TrimStart('/');
                if (relative.Length == 0 || relative.Split('/').Any(p => p is "" or "." or ".."))
                {
                    continue; // folder markers and names that would escape the cache folder
                }

                blobs.Add(new ModelBlob(item.Name, relative, item.Properties.ContentLength ?? 0,
                    item.Properties.ETag?.ToString() ?? "",
                        item.Properties.ContentHash is { Length: > 0 } h ? Convert.ToBase64String(h) : null));
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new ModelNotProvisionedException($"Blob container '{_container.Name}' does not exist.");
        }
        if (blobs.Count == 0)
        {
            throw new ModelNotProvisionedException($"No blobs under '{_container.Name}/{model.Prefix}'.");
        }

        blobs.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        return blobs;
    }

    private async Task DownloadAsync(ModelBlob blob, string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // If-Match: a blob replaced between listing and download would otherwise mix two model versions.
        var response = await _container.GetBlobClient(blob.Name).DownloadStreamingAsync(new BlobDownloadOptions
        {
            Conditions = new BlobRequestConditions { IfMatch = new ETag(blob.ETag) },
        }, cancellationToken);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        long length = 0;
        await using (var source = response.Value.Content)
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
        {
            var buffer = new byte[81920];
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                md5.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                length += read;
            }
        }
        if (length != blob.Length)
        {
            throw new ModelIntegrityException($"Blob '{blob.Name}': expected {blob.Length} bytes, received {length}.");
        }

        if (blob.ContentMd5 is not null && Convert.ToBase64String(md5.GetHashAndReset()) != blob.ContentMd5)
        {
            throw new ModelIntegrityException($"Blob '{blob.Name}': content does not match its Content-MD5.");
        }
    }

    private static bool IsValidCache(string directory, List<ModelBlob> blobs)
    {
        if (!File.Exists(Path.Combine(directory, ManifestFile)))
        {
            return false;
        }

        return blobs.All(b => new FileInfo(Path.Combine(directory, b.RelativePath)) is { Exists: true } f && f.Length == b.Length);
    }

    private static string CacheKey(List<ModelBlob> blobs)
    {
        var text = string.Join("\n", blobs.Select(b => $"{b.RelativePath}\t{b.ETag}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>Older versions of the model are dead weight once a newer one is in place. Best effort: a translator
    /// still serving an old version has its weights in memory already.</summary>
    private void RemoveOtherVersions(string modelRoot, string keep)
    {
        foreach (var directory in Directory.GetDirectories(modelRoot))
        {
            if (Path.GetFileName(directory).StartsWith(".staging-", StringComparison.Ordinal))
            {
                continue; // may be in flight
            }

            if (!string.Equals(directory, keep, StringComparison.Ordinal))
            {
                TryDelete(directory);
            }
        }
    }

    private void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.CacheFolderNotDeleted(ex, directory);
        }
    }

    private sealed record ModelBlob(string Name, string RelativePath, long Length, string ETag, string? ContentMd5);
}
