using System.Text.Json;

namespace ServerlessInference.Engine.Loading;

/// <summary>
/// A Marian / opus-mt model folder in the Hugging Face Optimum (transformers.js) layout: what the files say and
/// where the ONNX graphs are. Reading it touches no ONNX Runtime state, so a bad folder fails fast and clearly.
/// </summary>
public sealed record MarianModelFolder
{
    public required string Directory { get; init; }
    public required string EncoderPath { get; init; }

    /// <summary>decoder_model_merged.onnx, when the folder has one (preferred: one session, shared weights).</summary>
    public string? MergedDecoderPath { get; init; }

    /// <summary>decoder_model.onnx + decoder_with_past_model.onnx, used when there is no merged decoder.</summary>
    public string? DecoderPath { get; init; }
    public string? DecoderWithPastPath { get; init; }

    public required string SourceSpmPath { get; init; }
    public required string VocabPath { get; init; }

    public required int DecoderLayers { get; init; }
    public required int DecoderHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int VocabSize { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public required GenerationConfig Generation { get; init; }

    /// <summary>Which graph variant was loaded (<see cref="ModelDtype"/>).</summary>
    public string Dtype { get; init; } = ModelDtype.Default;

    /// <param name="dtype">The graph variant (<see cref="ModelDtype"/>); null or "fp32" reads the plain graphs.</param>
    public static MarianModelFolder Read(string directory, string? dtype = null)
    {
        string suffix;
        try
        {
            suffix = ModelDtype.Suffix(dtype);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(e.Message, e);
        }

        if (!System.IO.Directory.Exists(directory))
        {
            throw new ModelFormatException($"Model folder '{directory}' does not exist.");
        }

        var config = ReadJson(directory, "config.json", required: true)!.Value;
        var generation = ReadJson(directory, "generation_config.json", required: false);
        var modelType = GetString(config, "model_type");
        if (modelType is not null && modelType != "marian")
        {
            throw new ModelFormatException($"config.json: model_type is '{modelType}'; only 'marian' models are supported.");
        }

        int dModel = RequireInt(config, "d_model", "config.json");
        int heads = RequireInt(config, "decoder_attention_heads", "config.json");
        if (heads <= 0 || dModel % heads != 0)
        {
            throw new ModelFormatException($"config.json: d_model {dModel} is not divisible by decoder_attention_heads {heads}.");
        }

        // generation_config.json wins over config.json, as in transformers.
        int? Gen(string name) => (generation is { } g ? GetInt(g, name) : null) ?? GetInt(config, name);
        int pad = Gen("pad_token_id") ?? throw new ModelFormatException("config.json: pad_token_id is missing.");
        int eos = Gen("eos_token_id") ?? throw new ModelFormatException("config.json: eos_token_id is missing.");
        var badWords = ReadBadWords(generation, config, eos);
        var ignored = new List<string>();
        double repetitionPenalty = GetDouble(generation, "repetition_penalty") ?? GetDouble(config, "repetition_penalty") ?? 1.0;
        if (!(repetitionPenalty > 0))
        {
            // transformers refuses it too (RepetitionPenaltyLogitsProcessor: "has to be a strictly positive float").
            throw new ModelFormatException($"generation_config.json: repetition_penalty must be above 0; it is {repetitionPenalty}.");
        }

        int? maxNewTokens = generation is { } gc ? GetInt(gc, "max_new_tokens") : null;
        var defaults = new GenerationConfig
        {
            DecoderStartTokenId = Gen("decoder_start_token_id") ?? pad,
            EosTokenId = eos,
            PadTokenId = pad,
            ForcedEosTokenId = Gen("forced_eos_token_id"),
            // max_new_tokens wins over max_length, as in transformers; the decoder input starts with one token.
            MaxLength = maxNewTokens is > 0 ? maxNewTokens.Value + 1 : Gen("max_length") ?? 512,
            NumBeams = Gen("num_beams") ?? 1,
            LengthPenalty = GetDouble(generation, "length_penalty") ?? GetDouble(config, "length_penalty") ?? 1.0,
            EarlyStopping = ReadEarlyStopping(generation, config, ignored),
            BadTokenIds = badWords.Where(b => b.Length == 1).Select(b => b[0]).ToArray(),
            BadSequences = badWords.Where(b => b.Length > 1).ToArray(),
            RepetitionPenalty = repetitionPenalty,
            NoRepeatNgramSize = Math.Max(0, Gen("no_repeat_ngram_size") ?? 0),
            RenormalizeLogits = GetBool(generation, "renormalize_logits") ?? GetBool(config, "renormalize_logits") ?? false,
            IgnoredSettings = generation is { } g2 ? IgnoredKeys(g2, ignored) : ignored,
        };

        string onnxDir = System.IO.Directory.Exists(Path.Combine(directory, "onnx")) ? Path.Combine(directory, "onnx") : directory;
        string? Find(string name)
        {
            var path = Path.Combine(onnxDir, name + suffix + ".onnx");
            return File.Exists(path) ? path : null;
        }
        string variant = suffix.Length == 0 ? "" : $" (dtype {dtype})";
        var encoder = Find("encoder_model")
            ?? throw new ModelFormatException($"Model folder '{directory}' has no onnx/encoder_model{suffix}.onnx{variant}.");
        var merged = Find("decoder_model_merged");
        var decoder = Find("decoder_model");
        var withPast = Find("decoder_with_past_model");
        if (merged is null && (decoder is null || withPast is null))
        {
            throw new ModelFormatException(
                $"Model folder '{directory}' needs onnx/decoder_model_merged{suffix}.onnx, " +
                $"or onnx/decoder_model{suffix}.onnx with onnx/decoder_with_past_model{suffix}.onnx{variant}.");
        }

        return new MarianModelFolder
        {
            Directory = directory,
            EncoderPath = encoder,
            MergedDecoderPath = merged,
            DecoderPath = merged is null ? decoder : null,
            DecoderWithPastPath = merged is null ? withPast : null,
            SourceSpmPath = RequireFile(directory, "source.spm"),
            VocabPath = RequireFile(directory, "vocab.json"),
            DecoderLayers = RequireInt(config, "decoder_layers", "config.json"),
            DecoderHeads = heads,
            HeadDim = dModel / heads,
            VocabSize = RequireInt(config, "vocab_size", "config.json"),
            MaxPositionEmbeddings = GetInt(config, "max_position_embeddings") ?? 512,
            Generation = defaults,
            Dtype = string.IsNullOrEmpty(dtype) ? ModelDtype.Default : dtype,
        };
    }

    /// <summary>
    /// The files <see cref="Read"/> and the engine will open, out of a listing of a model folder's files (relative
    /// paths with '/'): the same choice of layout and decoder as <see cref="Read"/>, plus ONNX external-data files
    /// named after a chosen graph. Everything else under the folder (target.spm, tokenizer.json, other exports, a
    /// stray upload) is left out, so it changes neither what is loaded nor how much is downloaded. Required files
    /// that are missing are not invented here: <see cref="Read"/> reports them after the download.
    /// </summary>
    /// <param name="dtype">The graph variant (<see cref="ModelDtype"/>): only its graphs are named, so a folder holding
    /// every variant downloads one.</param>
    public static IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available, string? dtype = null)
    {
        var suffix = ModelDtype.Suffix(dtype) + ".onnx";
        var files = new HashSet<string>(available, StringComparer.Ordinal);
        var onnxDir = files.Any(f => f.StartsWith("onnx/", StringComparison.Ordinal)) ? "onnx/" : "";
        var graphs = files.Contains(onnxDir + "decoder_model_merged" + suffix)
            ? new[] { "encoder_model" + suffix, "decoder_model_merged" + suffix }
            : ["encoder_model" + suffix, "decoder_model" + suffix, "decoder_with_past_model" + suffix];
        var wanted = new List<string> { "config.json", "generation_config.json", "source.spm", "vocab.json" };
        foreach (var graph in graphs)
        {
            wanted.Add(onnxDir + graph);
            // Optimum and onnx.save_model name a graph's external weights after the graph.
            wanted.Add(onnxDir + graph + "_data");
            wanted.Add(onnxDir + graph + ".data");
        }

        return wanted.Where(files.Contains).ToList();
    }

    private static string RequireFile(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        return File.Exists(path) ? path : throw new ModelFormatException($"Model folder '{directory}' has no {name}.");
    }

    private static JsonElement? ReadJson(string directory, string name, bool required)
    {
        var path = Path.Combine(directory, name);
        if (!File.Exists(path))
        {
            return required ? throw new ModelFormatException($"Model folder '{directory}' has no {name}.") : null;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object
                ? doc.RootElement.Clone()
                : throw new ModelFormatException($"{name} in '{directory}' is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{name} in '{directory}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>The generation_config.json keys <see cref="Read"/> applies, or that change nothing for a Marian model
    /// (bos_token_id: generation starts from decoder_start_token_id) or are metadata.</summary>
    private static readonly HashSet<string> AppliedKeys = new(StringComparer.Ordinal)
    {
        "decoder_start_token_id", "eos_token_id", "pad_token_id", "forced_eos_token_id", "max_length", "max_new_tokens",
        "num_beams", "length_penalty", "early_stopping", "bad_words_ids", "repetition_penalty", "no_repeat_ngram_size",
        "renormalize_logits", "bos_token_id", "transformers_version", "_from_model_config",
    };

    /// <summary>Keys of generation_config.json that nothing here applies (do_sample, min_length, num_return_sequences,
    /// …), each as "key=value", plus <paramref name="alsoIgnored"/>: listed so that the host logs them instead of
    /// running a model differently from its card without a word.</summary>
    private static List<string> IgnoredKeys(JsonElement generation, List<string> alsoIgnored)
    {
        var ignored = new List<string>(alsoIgnored);
        foreach (var property in generation.EnumerateObject())
        {
            if (!AppliedKeys.Contains(property.Name))
            {
                var value = property.Value.GetRawText();
                ignored.Add($"{property.Name}={(value.Length <= 40 ? value : value[..40] + "…")}");
            }
        }

        return ignored;
    }

    /// <summary>early_stopping true or false; transformers' "never" (finish only when no beam could improve even at
    /// max_length) is not implemented and runs as false, which it also lists as ignored.</summary>
    private static bool ReadEarlyStopping(JsonElement? generation, JsonElement config, List<string> ignored)
    {
        foreach (var source in new[] { generation, config })
        {
            if (source is { } s && s.TryGetProperty("early_stopping", out var v))
            {
                if (v.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    return v.GetBoolean();
                }

                ignored.Add($"early_stopping={v.GetRawText()} (runs as false)");
                return false;
            }
        }

        return false;
    }

    /// <summary>bad_words_ids: every entry a non-empty list of token ids; an entry that is just eos is dropped, as
    /// NoBadWordsLogitsProcessor drops it.</summary>
    private static IReadOnlyList<int[]> ReadBadWords(JsonElement? generation, JsonElement config, int eos)
    {
        foreach (var source in new[] { generation, config })
        {
            if (source is { } s && s.TryGetProperty("bad_words_ids", out var bad) && bad.ValueKind == JsonValueKind.Array)
            {
                var entries = new List<int[]>();
                foreach (var entry in bad.EnumerateArray())
                {
                    if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() == 0 ||
                        entry.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out var id) || id < 0))
                    {
                        throw new ModelFormatException(
                            $"bad_words_ids must be a list of non-empty lists of token ids; found {entry.GetRawText()}.");
                    }

                    var ids = entry.EnumerateArray().Select(t => t.GetInt32()).ToArray();
                    if (!(ids.Length == 1 && ids[0] == eos))
                    {
                        entries.Add(ids);
                    }
                }

                return entries;
            }
        }

        return [];
    }

    private static int RequireInt(JsonElement e, string name, string file) =>
        GetInt(e, name) ?? throw new ModelFormatException($"{file}: {name} is missing or not an integer.");

    private static int? GetInt(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    private static double? GetDouble(JsonElement? e, string name) =>
        e is { } x && x.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static bool? GetBool(JsonElement? e, string name) =>
        e is { } x && x.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean() : null;

    private static string? GetString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
