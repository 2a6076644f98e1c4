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
    private readonly SpmNormalizer _normalizer;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _pieces;
    private readonly HashSet<int> _special;

    public int EosId { get; }
    public int UnkId { get; }
    public int PadId { get; }

    private MarianTokenizer(SentencePieceTokenizer source, SpmNormalizer normalizer, Dictionary<string, int> vocab)
    {
        _source = source;
        _normalizer = normalizer;
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
        SpmNormalizer normalizer;
        try
        {
            var model = File.ReadAllBytes(sourceSpmPath);
            source = LoadSentencePiece(model);
            normalizer = SpmNormalizer.FromModel(model);
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

        return new MarianTokenizer(source, normalizer, vocab);
    }

    /// <summary>
    /// Marian's spm models have no &lt;s&gt; (bos_id -1), which Microsoft.ML.Tokenizers 2.0 indexes unchecked. A second
    /// trainer_spec appended to the serialized ModelProto is merged into the first (protobuf merge semantics) and
    /// sets bos_id to 0, Marian's eos id; the tokenizer is never asked to add a BOS, so nothing else changes.
    /// </summary>
    private static SentencePieceTokenizer LoadSentencePiece(byte[] model)
    {
        try
        {
            return SentencePieceTokenizer.Create(new MemoryStream(model), addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (IndexOutOfRangeException)
        {
            byte[] bosIdZero = [0x12, 0x03, 0xC8, 0x02, 0x00]; // field 2 (trainer_spec) { field 41 (bos_id): 0 }
            return SentencePieceTokenizer.Create(new MemoryStream([.. model, .. bosIdZero]), addBeginningOfSentence: false,
                addEndOfSentence: false);
        }
    }

    /// <summary>Model ids for <paramref name="text"/>, &lt;/s&gt; appended.</summary>
    public int[] Encode(string text)
    {
        var pieces = Pieces(text);
        var ids = new int[pieces.Count + 1];
        for (int i = 0; i < pieces.Count; i++)
        {
            ids[i] = _vocab.TryGetValue(pieces[i], out var id) ? id : UnkId;
        }

        ids[^1] = EosId;
        return ids;
    }

    /// <summary>The pieces the source model splits <paramref name="text"/> into, as spm_encode prints them: a run
    /// of characters the model does not know is one piece (SentencePiece merges consecutive unknowns; Microsoft.ML.
    /// Tokenizers returns one per character). MarianTokenizer then looks each piece up in vocab.json.</summary>
    public IReadOnlyList<string> Pieces(string text)
    {
        // The library throws on text that its normalisation makes much longer (see SpmNormalizer): the text is
        // normalised here and the library only segments it.
        var normalized = _normalizer.Normalize(text);
        var tokens = _source.EncodeToTokens(normalized, out _, addBeginningOfSentence: false, addEndOfSentence: false,
            considerNormalization: false);
        var pieces = new List<string>(tokens.Count);
        int unknown = _source.UnknownId;
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Id == unknown && i > 0 && tokens[i - 1].Id == unknown)
            {
                pieces[^1] += tokens[i].Value;
            }
            else
            {
                pieces.Add(tokens[i].Value);
            }
        }

        return pieces;
    }

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
