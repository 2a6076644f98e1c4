using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using ServerlessInference.Engine.Loading;

namespace ServerlessInference.Engine.Tokenization;

/// <summary>
/// Marian's tokenisation, as transformers' MarianTokenizer does it: the source SentencePiece model splits text into
/// pieces, and vocab.json (not the spm model) gives each piece its model id; a piece vocab.json lacks becomes
/// &lt;unk&gt;, and &lt;/s&gt; ends every sequence. Decoding drops special tokens and joins the target pieces.
/// A multi-target model's vocab also holds target-language tokens (&gt;&gt;cmn_Hans&lt;&lt;): one that starts the
/// text becomes its id directly, never SentencePiece pieces, as transformers' MarianTokenizer does.
/// </summary>
public sealed class MarianTokenizer
{
    private const char SentencePieceSpace = '\u2581';
    private readonly SentencePieceTokenizer _source;
    private readonly SpmNormalizer _normalizer;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _pieces;
    private readonly HashSet<int> _special;
    private readonly Dictionary<string, int> _languages;

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
        _languages = vocab.Where(e => IsLanguageToken(e.Key))
            .ToDictionary(e => e.Key[2..^2], e => e.Value, StringComparer.Ordinal);
        TargetLanguages = [.. _languages.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>The target-language codes the vocab holds (cmn_Hans for &gt;&gt;cmn_Hans&lt;&lt;), sorted; empty
    /// for a model with a single target language.</summary>
    public IReadOnlyList<string> TargetLanguages { get; }

    /// <summary>The id of <paramref name="code"/>'s token (cmn_Hans, without the brackets); false when the vocab
    /// has none.</summary>
    public bool TryGetLanguageId(string code, out int id) => _languages.TryGetValue(code, out id);

    /// <summary>&gt;&gt;code&lt;&lt; with a code of ASCII letters, digits and '_', the form transformers'
    /// MarianTokenizer (and transformers.js') recognises.</summary>
    private static bool IsLanguageToken(string piece) =>
        piece.Length > 4 && piece.StartsWith(">>", StringComparison.Ordinal) && piece.EndsWith("<<", StringComparison.Ordinal)
        && piece[2..^2].All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

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
        // A missing or unreadable file stays an IOException; protobuf's parse error derives from IOException too, and
        // means the bytes are not a SentencePiece model.
        catch (Exception e) when (e is Google.Protobuf.InvalidProtocolBufferException or not IOException)
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

    /// <summary>Model ids for <paramref name="text"/>, &lt;/s&gt; appended. A target-language token the vocab holds
    /// at the start of the text (after normalisation, spaces around it ignored) is its own id; anywhere else it is
    /// plain text. A code the vocab lacks is plain text too, as the tokenizer.json beside the model (what
    /// transformers.js reads) encodes it.</summary>
    public int[] Encode(string text)
    {
        var normalized = _normalizer.Normalize(text);
        int? language = null;
        if (_languages.Count > 0 && LeadingLanguage(normalized) is var (codeId, rest))
        {
            language = codeId;
            normalized = rest;
        }

        var pieces = Segment(normalized);
        int offset = language is null ? 0 : 1;
        var ids = new int[offset + pieces.Count + 1];
        if (language is int code)
        {
            ids[0] = code;
        }

        for (int i = 0; i < pieces.Count; i++)
        {
            ids[offset + i] = _vocab.TryGetValue(pieces[i], out var id) ? id : UnkId;
        }

        ids[^1] = EosId;
        return ids;
    }

    /// <summary>A leading "▁&gt;&gt;code&lt;&lt;" of normalised text that the vocab knows, and the text after it
    /// (with its own leading '▁', or empty).</summary>
    private (int Id, string Remainder)? LeadingLanguage(string normalized)
    {
        const string open = "\u2581>>";
        if (!normalized.StartsWith(open, StringComparison.Ordinal))
        {
            return null;
        }

        int close = normalized.IndexOf("<<", open.Length, StringComparison.Ordinal);
        if (close < 0 || !_languages.TryGetValue(normalized[open.Length..close], out var id))
        {
            return null;
        }

        var rest = normalized[(close + 2)..].TrimStart(SentencePieceSpace);
        return (id, rest.Length == 0 ? "" : SentencePieceSpace + rest);
    }

    /// <summary>The pieces the source model splits <paramref name="text"/> into, as spm_encode prints them: a run
    /// of characters the model does not know is one piece (SentencePiece merges consecutive unknowns; Microsoft.ML.
    /// Tokenizers returns one per character). MarianTokenizer then looks each piece up in vocab.json.</summary>
    public IReadOnlyList<string> Pieces(string text)
    {
        // The library throws on text that its normalisation makes much longer (see SpmNormalizer): the text is
        // normalised here and the library only segments it.
        return Segment(_normalizer.Normalize(text));
    }

    private List<string> Segment(string normalized)
    {
        if (normalized.Length == 0)
        {
            return [];
        }

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
