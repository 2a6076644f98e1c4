using System.Collections.Frozen;

namespace ServerlessInference.TryPage;

/// <summary>One file of the try page, as it is sent.</summary>
public sealed record PageFile(string Name, string ContentType, byte[] Content);

/// <summary>The try page (GET /api/try) and its script and style sheet: plain files embedded in the assembly, so
/// <c>func start</c>, a publish and the container image serve the same bytes with no content folder to deploy.</summary>
public static class TryPageAssets
{
    /// <summary>Only files from this origin; no inline script or style, no plugins, no framing (clickjacking), no
    /// form posts elsewhere. The page's fetches go to the same origin's API.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, PageFile> Files = new[]
    {
        Load("", "index.html", "text/html; charset=utf-8"),
        Load("app.js", "app.js", "text/javascript; charset=utf-8"),
        Load("style.css", "style.css", "text/css; charset=utf-8"),
    }.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);

    /// <summary>The names the route serves: "" is the page itself.</summary>
    public static IReadOnlyCollection<string> Names => Files.Keys;

    /// <param name="name">The route's last segment (null or empty: the page); only the fixed names above match.</param>
    public static PageFile? Find(string? name) => Files.GetValueOrDefault(name ?? "");

    private static PageFile Load(string name, string resource, string contentType)
    {
        var assembly = typeof(TryPageAssets).Assembly;
        using var stream = assembly.GetManifestResourceStream("TryPage." + resource)
            ?? throw new InvalidOperationException($"The try page's {resource} is not embedded in {assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new PageFile(name, contentType, copy.ToArray());
    }
}
