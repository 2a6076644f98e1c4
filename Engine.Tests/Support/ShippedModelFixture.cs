using System.Text.Json;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;

namespace ServerlessInference.Tests.Support;

/// <summary>The shipped model loaded once for every engine test, and the reference fixtures recorded for it.</summary>
public sealed class ShippedModelFixture : IDisposable
{
    /// <summary>The engine with a scheduler of its own: the path every test translation takes.</summary>
    public Translator Translator { get; } = Translator.Load("marian-tiny-en-zh", RepoPaths.ShippedModel);

    public TranslationEngine Engine => Translator.Engine;

    /// <summary>The engine with the guardrails off, held to the references (transformers.js, PyTorch), which know
    /// nothing of them: one dev sentence loops ("作" 13 times) and the loop stop would end it sooner.</summary>
    public Translator Unguarded => _unguarded.Value;

    private readonly Lazy<Translator> _unguarded = new(() =>
        Translator.Load("marian-tiny-en-zh", RepoPaths.ShippedModel, EngineOptions.Default.WithoutGuardrails()));

    public IReadOnlyList<ReferenceCase> Greedy { get; } = ReferenceCase.Read("transformersjs-greedy.jsonl");

    public IReadOnlyList<ReferenceCase> Beam4 { get; } = ReferenceCase.Read("pytorch-beam4.jsonl");

    public void Dispose()
    {
        Translator.Dispose();
        if (_unguarded.IsValueCreated)
        {
            _unguarded.Value.Dispose();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ShippedModelCollection : ICollectionFixture<ShippedModelFixture>
{
    public const string Name = "shipped model";
}

/// <summary>One line of a reference fixture: what an independent implementation produced for a dev sentence.</summary>
public sealed record ReferenceCase(int Index, string Source, int[] Ids, string Translation, int[]? SourceIds)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static IReadOnlyList<ReferenceCase> Read(string fixture, string? folder = null) =>
        File.ReadLines(Path.Combine(folder ?? RepoPaths.Fixtures, fixture))
            .Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<ReferenceCase>(l, Json)!)
            .ToArray();
}
