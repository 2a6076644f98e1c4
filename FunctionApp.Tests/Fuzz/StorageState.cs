using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace ServerlessInference.Tests.Fuzz;

/// <summary>What a case may not change, read before and after it: the account's containers, the models
/// container's blobs (name and ETag) and the jobs container's blobs.</summary>
internal sealed record StorageState(
    IReadOnlySet<string> Containers, IReadOnlyDictionary<string, string> Models, IReadOnlyDictionary<string, string> Jobs)
{
    /// <summary>Without a jobs container (functions that never write one), its blobs are not read.</summary>
    public static async Task<StorageState> ReadAsync(BlobServiceClient blobs, string? jobsContainer) => new(
        await ContainersAsync(blobs),
        await BlobsAsync(blobs.GetBlobContainerClient(StorageFixture.ModelsContainer)),
        jobsContainer is null ? new SortedDictionary<string, string>() : await BlobsAsync(blobs.GetBlobContainerClient(jobsContainer)));

    /// <summary>Differences, phrased as problems. <paramref name="mayWriteJob"/> says which jobs-container blobs the
    /// case may add or change (none when null).</summary>
    public IEnumerable<string> Compare(StorageState after, Func<string, bool>? mayWriteJob)
    {
        foreach (var added in after.Containers.Except(Containers))
        {
            yield return $"container '{added}' created";
        }

        foreach (var removed in Containers.Except(after.Containers))
        {
            yield return $"container '{removed}' deleted";
        }

        foreach (var change in Diff(Models, after.Models))
        {
            yield return $"models container: {change}";
        }

        foreach (var change in Diff(Jobs, after.Jobs))
        {
            if (mayWriteJob is null || !mayWriteJob(change.Name))
            {
                yield return $"jobs container: {change}";
            }
        }
    }

    /// <summary>Every blob of every container but the one a test owns, for a whole-run comparison.</summary>
    public static async Task<SortedDictionary<string, string>> AccountAsync(BlobServiceClient blobs, string? exceptContainer)
    {
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await foreach (var container in blobs.GetBlobContainersAsync())
        {
            if (container.Name == exceptContainer)
            {
                continue;
            }

            all[container.Name + "/"] = container.Properties.ETag.ToString();
            foreach (var (name, etag) in await BlobsAsync(blobs.GetBlobContainerClient(container.Name)))
            {
                all[container.Name + "/" + name] = etag;
            }
        }
        return all;
    }

    /// <summary>Removes what a defect added outside the test's own container, so it does not break later tests.</summary>
    public static async Task RemoveAddedAsync(BlobServiceClient blobs, IEnumerable<Change> changes)
    {
        foreach (var change in changes.Where(c => c.What == "added"))
        {
            var slash = change.Name.IndexOf('/');
            var container = blobs.GetBlobContainerClient(change.Name[..slash]);
            if (slash == change.Name.Length - 1)
            {
                await container.DeleteIfExistsAsync();
            }
            else
            {
                await container.GetBlobClient(change.Name[(slash + 1)..]).DeleteIfExistsAsync();
            }
        }
    }

    public static IEnumerable<Change> Diff(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after)
    {
        foreach (var (name, etag) in after)
        {
            if (!before.TryGetValue(name, out var old))
            {
                yield return new Change(name, "added");
            }
            else if (old != etag)
            {
                yield return new Change(name, "changed");
            }
        }
        foreach (var name in before.Keys.Where(n => !after.ContainsKey(n)))
        {
            yield return new Change(name, "deleted");
        }
    }

    private static async Task<SortedSet<string>> ContainersAsync(BlobServiceClient blobs)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var container in blobs.GetBlobContainersAsync())
        {
            names.Add(container.Name);
        }

        return names;
    }

    private static async Task<SortedDictionary<string, string>> BlobsAsync(BlobContainerClient container)
    {
        var blobs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        try
        {
            await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { States = BlobStates.Uncommitted }))
            {
                blobs[blob.Name] = blob.Properties.ETag?.ToString() ?? "";
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container: no blobs; a case that creates it is reported as creating a container.
        }
        return blobs;
    }

    internal sealed record Change(string Name, string What)
    {
        public override string ToString() => $"'{FuzzJson.Preview(Name, 120)}' {What}";
    }
}
