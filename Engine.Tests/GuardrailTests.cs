using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Generation.Decoding;

namespace ServerlessInference.Engine.Tests;

/// <summary>The output guardrails (on by default) on the shipped model: what they stop, and that they leave ordinary
/// sentences alone.</summary>
[Collection(ShippedModelCollection.Name)]
public sealed class GuardrailTests(ShippedModelFixture model)
{
    private static readonly RepeatStop DefaultLoopStop =
        new(EngineOptions.Default.RepeatStopRepeats, EngineOptions.Default.RepeatStopMinTokens);

    /// <summary>The generated ids cut at each eos: one list per sentence piece, eos left out.</summary>
    private static List<List<int>> Pieces(IReadOnlyList<int> ids)
    {
        var pieces = new List<List<int>> { new() };
        foreach (var id in ids)
        {
            if (id == 0)
            {
                pieces.Add([]);
            }
            else
            {
                pieces[^1].Add(id);
            }
        }

        return pieces.Where(p => p.Count > 0).ToList();
    }

    private static bool LoopsSomewhere(List<int> piece) =>
        Enumerable.Range(1, piece.Count).Any(n => DefaultLoopStop.EndsInLoop(piece[..n]));

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task AHundredOfOneUnusualCharacterStopsAtTheFirstLoopInsteadOfRepeatingOn(int beams)
    {
        var request = new TranslationRequest([new string('\uFDFA', 100)]) { Beams = beams };
        var unguarded = (await model.Unguarded.TranslateAsync(request)).Translations[0];
        var guarded = (await model.Translator.TranslateAsync(request)).Translations[0];

        // Unguarded, the model repeats one token past the loop stop's threshold ("的是" 10 times).
        Assert.Contains(Pieces(unguarded.OutputIds), LoopsSomewhere);
        // Guarded, a piece ends (eos) as soon as it runs in a loop: no piece loops before its last token.
        var pieces = Pieces(guarded.OutputIds);
        Assert.Contains(pieces, DefaultLoopStop.EndsInLoop);
        Assert.All(pieces, p => Assert.False(LoopsSomewhere(p[..^1])));
        Assert.True(guarded.OutputTokens < unguarded.OutputTokens, $"{guarded.OutputTokens} vs {unguarded.OutputTokens}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void TheLengthBoundCapsEverySentenceByItsSourceLength(int beams)
    {
        using var tight = TranslationEngine.Load("tight", RepoPaths.ShippedModel,
            EngineOptions.Default.WithoutGuardrails() with { OutputLengthFactor = 0.5, OutputLengthFloor = 2 });
        var sources = model.Greedy.Take(40).Select(c => c.SourceIds!).ToArray();
        var settings = tight.Resolve(new TranslationRequest([]) { Beams = beams });
        var bounded = tight.Generate(sources, settings, CancellationToken.None).Ids;
        var free = model.Unguarded.Engine.Generate(sources, settings, CancellationToken.None).Ids;

        static int Bound(int[] source) => Math.Max(2, (source.Length + 1) / 2);
        Assert.All(sources.Zip(bounded), p => Assert.InRange(p.Second.Length, 1, Bound(p.First)));
        Assert.Contains(sources.Zip(free), p => p.Second.Length > Bound(p.First));
        // At the bound the model's forced eos ends the sentence, as at the length limit.
        Assert.All(bounded, ids => Assert.Equal(0, ids[^1]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task TheDefaultGuardrailsLeaveOrdinaryDevSentencesAsTheyWere(int beams)
    {
        // Every dev sentence but the one the model loops on (444: "作" 13 times) translates exactly as unguarded.
        var cases = beams == 1 ? model.Greedy : model.Beam4;
        var request = new TranslationRequest(cases.Select(c => c.Source).ToArray()) { Beams = beams };
        var guarded = await model.Translator.TranslateAsync(request);
        var unguarded = await model.Unguarded.TranslateAsync(request);
        var changed = cases.Where((c, i) => !guarded.Translations[i].OutputIds.SequenceEqual(unguarded.Translations[i].OutputIds))
            .Select(c => c.Index)
            .ToArray();
        Assert.All(changed, i => Assert.True(LoopsSomewhere(Pieces(unguarded.Translations[i].OutputIds)[0]), $"dev {i}"));
        Assert.True(changed.Length <= 1, string.Join(", ", changed));
    }
}
