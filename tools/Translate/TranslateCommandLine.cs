using ServerlessInference.Tools;

/// <summary>The verbs of tools/Translate and their flags (tools/Shared/CommandLine.cs parses them). The defaults here
/// are the values the verbs run with; a flag without one means what its description says when it is left out.</summary>
internal static class TranslateCommandLine
{
    private const string InputFile = "one sentence a line, or a TSV whose first column is the sentence";

    public static readonly CommandLine Definition = new("translate",
        "Command-line front end of the translation engine: translate with a model folder, benchmark the engine, "
        + "load-test the serving path.",
        [
            new Verb("translate", "Translate stdin, one text a line, with a model folder; writes JSONL to stdout "
                + "(source, translation, ids).", [.. Engine(), Beams(), MaxNewTokens(), TargetLanguage()],
                Tail: "< input.txt"),
            new Verb("bench", "Throughput and latency of the engine on a file of sentences: every beam width at batch 1 "
                + "and at --batch, printed as a table.",
                [
                    .. Engine(),
                    Flag.Text("input", "<file>", InputFile, required: true),
                    Flag.Int("limit", "use the first N sentences (default: all)"),
                    Flag.IntList("beams", "beam widths to measure (1 leaves beam search out)", "1,4"),
                    Flag.Text("json", "<file>", "also write the rows to this file as JSON"),
                ]),
            new Verb("memory", "What loading a model costs: load time, peak and resident memory after the load, after "
                + "translating a few sentences greedy and with beam 4. One JSON line.",
                [.. Engine(), Flag.Text("input", "<file>", InputFile + "; its first 8 (default: two built-in sentences)")]),
            new Verb("burst", "A cold burst: right after the model loads, N clients each send one request at once, "
                + "through the serving scheduler, with or without batching. One JSON line.",
                [
                    .. Engine(),
                    Flag.Text("input", "<file>", InputFile, required: true),
                    Flag.Int("clients", "clients, each sending one of the first N sentences", "50"),
                    Beams(),
                    Flag.Int("concurrency", "the scheduler's MaxConcurrentBatches", "1"),
                    Flag.Choice("direct", ["1"], "no merging: each request runs by itself at once (the scheduler with batching off)"),
                ]),
            new Verb("load", "The load benchmark (bench/load.sh): the app composed by its own DI against --storage, "
                + "batching on and off, closed loops of N clients, then open loops at fixed rates. Appends JSON rows to --out.",
                [
                    .. Storage(),
                    Flag.Number("duration", "S", "seconds per point", "60"),
                    Flag.Number("warmup", "S", "seconds of warm-up per shape", "5"),
                    Flag.IntList("concurrency", "closed-loop client counts", "1,4,16,64"),
                    Flag.IntList("beams", "beam widths of the closed loops", "1,4"),
                    Flag.IntList("rates", "open-loop arrival rates, requests/s (default: none)", ""),
                    Flag.IntList("rate-beams", "beam widths of the open loops", "1"),
                ]),
            new Verb("cold", "One app instance with an empty model cache in a fresh process; N calls at once, each timed "
                + "from its start (model download and load included). Appends a JSON row to --out.",
                [
                    .. Storage(),
                    Flag.Int("clients", "calls at once", "50"),
                    Flag.Int("beams", "beam width", "1"),
                ]),
        ],
        DefaultVerb: "translate");

    /// <summary>The flags of the verbs that load a model folder themselves.</summary>
    private static Flag[] Engine() =>
    [
        Flag.Text("model", "<dir>", "the model folder", required: true),
        Flag.Text("dtype", "<dtype>", "which graph variant of the folder to load, in transformers.js' naming: "
            + "fp32, fp16, q8, int8, uint8 or q4 (default: fp32)"),
        Flag.Int("threads", "ONNX Runtime's intra-op threads (default: ONNX Runtime's choice)"),
        Flag.Choice("logits", ["split", "graph"], "split: the engine's own output projection; graph: the logits the "
            + "decoder graph computes (the baseline)", "split"),
        Flag.Int("batch", "most sentences in one engine run (translate: also lines read per batch)", "32"),
        Flag.Choice("guardrails", ["on", "off", "length", "repeat"], "the engine's output guardrails: on (the defaults), "
            + "off (what transformers' generate produces), or only the length bound or only the loop stop", "on"),
    ];

    /// <summary>The flags of the verbs that drive the app's serving path.</summary>
    private static Flag[] Storage() =>
    [
        Flag.Text("storage", "<connection>", "the storage connection string (Azurite's, say)", required: true),
        Flag.Text("input", "<file>", InputFile, required: true),
        Flag.Text("out", "<rows.jsonl>", "the file the JSON rows are appended to", required: true),
        Flag.Text("upload", "<modelDir>", "first upload this model folder to the models container"),
    ];

    private static Flag Beams() => Flag.Int("beams", "beam width (default: the model's generation_config)");

    private static Flag MaxNewTokens() =>
        Flag.Int("max-new-tokens", "most tokens generated per text (default: the model's generation_config)");

    private static Flag TargetLanguage() =>
        Flag.Text("target-language", "<code>", "a multi-target model's target language (cmn_Hant for >>cmn_Hant<<), put in "
            + "front of every text (default: none)");
}
