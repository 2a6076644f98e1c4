using System.Text.RegularExpressions;

namespace ServerlessInference.Jobs;

/// <summary>
/// The one rule for blob names that come from callers or queue messages (docs/jobs.md, "Names"). Storage clients
/// put a name into a URL path, so "../models/x" or "%2e%2e/x" would address another container: every such name is
/// checked here before any storage call, and only names of the documented shape get through.
/// </summary>
public static partial class JobBlobNames
{
    /// <summary>Caller-supplied input blobs live under this prefix of the jobs container, apart from job folders.</summary>
    public const string InputPrefix = "inputs/";

    public const int MaxInputBlobLength = 256;

    public const string JobIdRule = "'jobId' must be 32 lowercase hexadecimal characters, as the app generates them.";

    public const string InputBlobRule =
        "'inputBlob' must be a blob name under 'inputs/' in the jobs container: segments of letters, digits, '.', '_' " +
        "or '-' separated by '/', each starting with a letter or digit, at most 256 characters (e.g. 'inputs/2026/batch-1.jsonl').";

    /// <summary>A new job id: 32 lowercase hex digits.</summary>
    public static string NewJobId() => Guid.NewGuid().ToString("N");

    /// <summary>True only for ids of the form <see cref="NewJobId"/> produces.</summary>
    public static bool IsJobId(string? id) => id is not null && JobIdPattern().IsMatch(id);

    /// <summary>True for a plain relative name under <see cref="InputPrefix"/>: no empty, "." or ".." segment, no
    /// leading '/', no '\', no '%' escapes, no characters outside the documented set.</summary>
    public static bool IsInputBlob(string? name) =>
        name is { Length: <= MaxInputBlobLength } && name.StartsWith(InputPrefix, StringComparison.Ordinal)
        && InputBlobPattern().IsMatch(name);

    [GeneratedRegex(@"^[0-9a-f]{32}\z", RegexOptions.CultureInvariant)]
    private static partial Regex JobIdPattern();

    // \z rather than $: '$' also matches before a final '\n'.
    [GeneratedRegex(@"^inputs(/[A-Za-z0-9][A-Za-z0-9._-]*)+\z", RegexOptions.CultureInvariant)]
    private static partial Regex InputBlobPattern();
}
