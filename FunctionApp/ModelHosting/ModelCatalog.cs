using Microsoft.Extensions.Options;

namespace ServerlessInference.ModelHosting;

/// <summary>The models callers may name, resolved case-insensitively.</summary>
public sealed class ModelCatalog(IOptions<ModelsOptions> options)
{
    private readonly Dictionary<string, ModelCatalogEntry> _entries =
        options.Value.Catalog.ToDictionary(e => e.Name, StringComparer.OrdinalIgnoreCase);

    public string DefaultModel { get; } = options.Value.DefaultModel;

    public IReadOnlyCollection<ModelCatalogEntry> Entries => _entries.Values;

    /// <exception cref="UnknownModelException">Not in the catalog.</exception>
    public ModelCatalogEntry Resolve(string? name) =>
        _entries.TryGetValue(string.IsNullOrWhiteSpace(name) ? DefaultModel : name, out var entry)
            ? entry
            : throw new UnknownModelException(name!);
}
