using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace ServerlessInference.Translation;

/// <summary>
/// Marian's tokenisation, as transformers' MarianTokenizer does it: the source SentencePiece model splits text into
/// pieces, and vocab.json (not the spm model) gives each piece its model id; a piece vocab.json lacks becomes
/// &lt;unk&gt;, and &lt;/s&gt; ends every sequence. Decoding drops special tokens and joins the target pieces.
/// </summary>
public sealed class MarianTokenizer
{
    private const char SentencePieceSpace = '\u2581';
    private readonly SentencePieceTokenizer _source;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _pieces;
    private readonly HashSet<int> _special;

    public int EosId { get; }
    public int UnkId { get; }
    public int PadId { get; }

    private MarianTokenizer(SentencePieceTokenizer source, Dictionary<string, int> vocab)
    {
        _source = source;
        _vocab = vocab;
        EosId = Require(vocab, "</s>");
        UnkId = Require(vocab, "<unk>");
        PadId = Require(vocab, "<pad>");
        _pieces = new string[vocab.Values.Max() + 1];
        foreach (var (piece, id) in vocab)
        {
            _pieces[id] = piece;
        }

        _special = [EosId, UnkId, PadId];
    }

    public static MarianTokenizer Load(string sourceSpmPath, string vocabPath)
    {
        SentencePieceTokenizer source;
        try
        {
            using var stream = File.OpenRead(sourceSpmPath);
            source = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new ModelFormatException($"{Path.GetFileName(sourceSpmPath)} is not a SentencePiece model: {e.Message}", e);
        }

        Dictionary<string, int>? vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"vocab.json is not a JSON object of piece to id: {e.Message}", e);
        }

        if (vocab is null || vocab.Count == 0)
        {
            throw new ModelFormatException("vocab.json is empty.");
        }

        return new MarianTokenizer(source, vocab);
    }

    /// <summary>Model ids for <paramref name="text"/>, &lt;/s&gt; appended.</summary>
    public int[] Encode(string text)
    {
        var tokens = _source.EncodeToTokens(text, out _, addBeginningOfSentence: false, addEndOfSentence: false);
        var ids = new int[tokens.Count + 1];
        for (int i = 0; i < tokens.Count; i++)
        {
            ids[i] = _vocab.TryGetValue(tokens[i].Value, out var id) ? id : UnkId;
        }

        ids[^1] = EosId;
        return ids;
    }

    /// <summary>The pieces the source model splits <paramref name="text"/> into (for diagnostics and tests).</summary>
    public IReadOnlyList<string> Pieces(string text) =>
        _source.EncodeToTokens(text, out _, addBeginningOfSentence: false, addEndOfSentence: false).Select(t => t.Value).ToArray();

    /// <summary>Text for generated ids: special tokens dropped, pieces joined, '▁' read as a space.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if (_special.Contains(id) || id < 0 || id >= _pieces.Length || _pieces[id] is null)
            {
                continue;
            }

            sb.Append(_pieces[id]);
        }

        sb.Replace(SentencePieceSpace, ' ');
        return sb.ToString().Trim();
    }

    private static int Require(Dictionary<string, int> vocab, string token) =>
        vocab.TryGetValue(token, out var id) ? id : throw new ModelFormatException($"vocab.json has no {token} entry.");
}
