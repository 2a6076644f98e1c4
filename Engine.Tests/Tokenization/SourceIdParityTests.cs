using System.Text.Json;
using ServerlessInference.Engine.Tokenization;
using ServerlessInference.Engine.Tokenization.SentencePiece;

namespace ServerlessInference.Engine.Tests.Tokenization;

/// <summary>Source ids of three implementations held equal: transformers.js reading a model folder's tokenizer.json,
/// MarianTokenizer's rule (spm_encode's pieces looked up in vocab.json; recorded by models/training/spm_ids.py) and
/// the C# tokenizer. The fixtures come from models/training/make_fixtures.sh.</summary>
public sealed class SourceIdParityTests
{
    private static readonly string LanguagesModel = Path.Combine(RepoPaths.Fixtures, "marian-micro-languages");

    private sealed record Row(string Text, int[] Transformersjs, int[] Spm);

    private static Row[] Rows(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<Row>(l, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!)
            .ToArray();

    private static MarianTokenizer Tokenizer(string folder) =>
        MarianTokenizer.Load(Path.Combine(folder, "source.spm"), Path.Combine(folder, "vocab.json"));

    private static ModelProto SourceModel(string folder) =>
        ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "source.spm")));

    private static bool IsPiece(ModelProto.Types.SentencePiece p) =>
        p.Type is ModelProto.Types.SentencePiece.Types.Type.Normal or ModelProto.Types.SentencePiece.Types.Type.UserDefined;

    [Theory]
    [InlineData("models/marian-tiny-en-zh")]
    [InlineData("Engine.Tests/Fixtures/marian-micro-languages")]
    public void TokenizerJsonSegmentsWithSourceSpmPiecesAndScoresOnly(string relativeFolder)
    {
        var folder = Path.Combine(RepoPaths.Root, relativeFolder);
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(Path.Combine(folder, "vocab.json")))!;
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "tokenizer.json")));
        var entries = json.RootElement.GetProperty("model").GetProperty("vocab").EnumerateArray()
            .Select(e => (Piece: e[0].GetString()!, Score: e[1].GetDouble()))
            .ToArray();
        Assert.Equal(vocab.Count, entries.Length);

        var source = SourceModel(folder).Pieces.Where(IsPiece).ToDictionary(p => p.Piece, p => p.Score);
        foreach (var (piece, score) in source)
        {
            Assert.Equal((piece, score), (entries[vocab[piece]].Piece, (float)entries[vocab[piece]].Score));
        }

        // Every other entry that text could match is a special token (matched as an added token before the Unigram
        // model) or a single character source.spm lacks, which spm_encode leaves as a piece of its own.
        string[] special = ["</s>", "<unk>", "<pad>"];
        var others = entries.Select(e => e.Piece)
            .Where(p => !source.ContainsKey(p) && !special.Contains(p))
            .Where(p => !p.StartsWith('\u0002') && !p.StartsWith("\u2581\u0001", StringComparison.Ordinal))
            .ToArray();
        Assert.All(others, p => Assert.True(p.Length == 1 && p != "\u2581", $"'{p}' is matchable but not a source piece"));
    }

    [Fact]
    public void TransformersJsSourceIdsEqualSpmEncodesOnTheDevSetAndHardCases()
    {
        var rows = Rows(Path.Combine(RepoPaths.Fixtures, "source-ids.jsonl"));
        var cases = File.ReadAllLines(Path.Combine(RepoPaths.Root, "models", "training", "data", "tokenizer-cases.txt"));
        Assert.Equal(500 + cases.Length, rows.Length);
        var tokenizer = Tokenizer(RepoPaths.ShippedModel);
        var known = SourceModel(RepoPaths.ShippedModel).Pieces.Where(IsPiece).Select(p => p.Piece).ToHashSet();

        Assert.All(rows, r => Assert.Equal(r.Spm, tokenizer.Encode(r.Text)));
        // A run of two or more characters source.spm lacks is one piece to spm_encode, looked up whole in vocab.json
        // (almost always <unk>); a Unigram tokenizer.json cannot express that and gives each character's own id
        // where the vocab has one (see models/training/README.md). Every other text must agree.
        bool HasUnknownRun(string text) => tokenizer.Pieces(text).Any(p => p.Length > 1 && !known.Contains(p));
        var disagreeing = rows.Where(r => !r.Transformersjs.SequenceEqual(r.Spm)).Select(r => r.Text).ToArray();
        Assert.Equal(rows.Where(r => HasUnknownRun(r.Text) && !r.Transformersjs.SequenceEqual(r.Spm)).Select(r => r.Text), disagreeing);
        Assert.All(rows.Take(500), r => Assert.Equal(r.Spm, r.Transformersjs));
        foreach (var text in new[] { "“Stop,” she said.", "I love pizza 🍕!", "Café crème brûlée, naïve résumé, São Paulo, Zürich.",
                     "Price: €5 ≥ $3, © ™ ® ½ № ° ± × ÷ § ¶ •", "Thumbs up 👍🏽, family 👨‍👩‍👧, flag 🇨🇳." })
        {
            var row = Assert.Single(rows, r => r.Text == text);
            Assert.Equal(row.Spm, row.Transformersjs);
        }
    }

    [Fact]
    public void LanguageTokenIdsMatchTransformersJsWithAndWithoutACode()
    {
        var rows = Rows(Path.Combine(LanguagesModel, "source-ids.jsonl"));
        var cases = File.ReadAllLines(Path.Combine(RepoPaths.Root, "models", "training", "data", "language-cases.txt"));
        Assert.Equal(cases.Length, rows.Length);
        var tokenizer = Tokenizer(LanguagesModel);
        Assert.All(rows, r =>
        {
            Assert.Equal(r.Transformersjs, tokenizer.Encode(r.Text));
            Assert.Equal(r.Spm, r.Transformersjs);
        });
    }

    [Fact]
    public void OnlyALeadingCodeTheVocabHoldsBecomesItsToken()
    {
        var tokenizer = Tokenizer(LanguagesModel);
        Assert.True(tokenizer.TryGetLanguageId("cmn_Hant", out var hant));
        Assert.True(tokenizer.TryGetLanguageId("cmn_Hans", out var hans));
        var plain = tokenizer.Encode("The weather is nice today.");

        Assert.Equal([hant, .. plain], tokenizer.Encode(">>cmn_Hant<< The weather is nice today."));
        Assert.Equal([hant, .. plain], tokenizer.Encode("  >>cmn_Hant<<The weather is nice today."));
        Assert.Equal([hans, tokenizer.EosId], tokenizer.Encode(">>cmn_Hans<<"));

        var later = tokenizer.Encode("Not at the start: >>cmn_Hant<< here.");
        Assert.DoesNotContain(hant, later);
        const string unknown = ">>deu<< A code the model lacks.";
        Assert.Equal(tokenizer.Pieces(unknown).Count + 1, tokenizer.Encode(unknown).Length);
    }

    [Fact]
    public void TargetLanguagesAreTheCodesInTheVocab()
    {
        Assert.Equal(["cmn", "cmn_Hans", "cmn_Hant", "lzh", "yue_Hans", "yue_Hant"], Tokenizer(LanguagesModel).TargetLanguages);
        Assert.Empty(Tokenizer(RepoPaths.ShippedModel).TargetLanguages);
    }
}
