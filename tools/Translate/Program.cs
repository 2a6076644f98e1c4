using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;

// translate --model <dir> [--beams N] [--batch N] [--max-new-tokens N] [--target-language CODE]
//   (stdin: one text a line; stdout: JSONL)
// bench --model <dir> --input <file> [--limit N] [--repeat N] [--json <out>] [--beams 1,4]
// memory --model <dir> [--input <file>]   (load time, peak and resident memory: one JSON line)
// burst --model <dir> --input <file> [--clients N] [--beams N] [--concurrency N] [--direct 1]   (one JSON line)
// These three: [--threads N] (intra-op threads), [--logits split|graph] (graph: no output projection split, the
// baseline), [--dtype fp32|fp16|q8|int8|uint8|q4] (which graph variant of the folder to load, transformers.js' naming).
// load --storage <connection> --input <file> --out <rows.jsonl> [--duration S] [--warmup S] [--concurrency 1,4,16,64]
//      [--beams 1,4] [--rates R,R] [--rate-beams 1] [--upload <modelDir>]   (the app composed by its DI, see Load.cs)
// cold --storage <connection> --input <file> --out <rows.jsonl> [--clients N] [--beams N] [--upload <modelDir>]
var (command, options) = ParseArgs(args);
if (command is "load" or "cold")
{
    return await Load.Run(command, options);
}

if (command is null || !options.TryGetValue("model", out var modelDir))
{
    Console.Error.WriteLine(
        "usage: translate --model <dir> [--beams N] [--batch N] [--max-new-tokens N] [--target-language CODE] < input.txt");
    Console.Error.WriteLine("       bench --model <dir> --input <file> [--limit N] [--json <out>]");
    Console.Error.WriteLine("       burst --model <dir> --input <file> [--clients N] [--beams N] [--concurrency N] [--direct 1]");
    return 2;
}

try
{
    var loading = System.Diagnostics.Stopwatch.StartNew();
    using var translator = Translator.Load(Path.GetFileName(Path.GetFullPath(modelDir)), modelDir,
        new EngineOptions
        {
            IntraOpThreads = Int(options, "threads", 0),
            MaxBatchSize = Int(options, "batch", 32),
            SplitOutputProjection = options.GetValueOrDefault("logits", "split") switch
            {
                "split" => true,
                "graph" => false,
                var other => throw new ArgumentException($"--logits must be split or graph, not '{other}'."),
            },
        },
        options.GetValueOrDefault("dtype"));
    return command switch
    {
        "translate" => await TranslateLines(translator, options),
        "bench" => await Bench.Run(translator, options),
        "burst" => await Burst.Run(translator, options, loading.Elapsed),
        "memory" => await Memory.Run(translator, options, loading.Elapsed),
        _ => Fail($"unknown command '{command}'"),
    };
}
catch (ModelFormatException e)
{
    return Fail(e.Message);
}
catch (ArgumentException e)
{
    return Fail(e.Message);
}
catch (InvalidRequestException e)
{
    return Fail(e.Message);
}

static async Task<int> TranslateLines(Translator translator, Dictionary<string, string> options)
{
    var translationOptions = new TranslationRequest([])
    {
        Beams = options.ContainsKey("beams") ? Int(options, "beams", 1) : null,
        MaxNewTokens = options.ContainsKey("max-new-tokens") ? Int(options, "max-new-tokens", 1) : null,
        TargetLanguage = options.GetValueOrDefault("target-language"),
    };
    translator.Engine.Resolve(translationOptions);
    int batch = Int(options, "batch", 32);
    var json = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    using var stdin = new StreamReader(Console.OpenStandardInput(), Encoding.UTF8);
    await using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
    var lines = new List<string>();
    async Task Flush()
    {
        if (lines.Count == 0)
        {
            return;
        }

        var result = await translator.TranslateAsync(translationOptions with { Texts = lines });
        for (int i = 0; i < lines.Count; i++)
        {
            var t = result.Translations[i];
            await stdout.WriteLineAsync(JsonSerializer.Serialize(new { source = lines[i], translation = t.Text, ids = t.OutputIds }, json));
        }

        lines.Clear();
        await stdout.FlushAsync();
    }

    while (await stdin.ReadLineAsync() is { } line)
    {
        lines.Add(line);
        if (lines.Count == batch)
        {
            await Flush();
        }
    }

    await Flush();
    return 0;
}

static int Fail(string message)
{
    Console.Error.WriteLine($"error: {message}");
    return 1;
}

static int Int(Dictionary<string, string> options, string name, int fallback) =>
    !options.TryGetValue(name, out var v) ? fallback
    : int.TryParse(v, out var i) ? i : throw new ArgumentException($"--{name} must be an integer, not '{v}'.");

static (string? Command, Dictionary<string, string> Options) ParseArgs(string[] args)
{
    var options = new Dictionary<string, string>();
    for (int i = 1; i < args.Length; i++)
    {
        if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
        {
            options[args[i][2..]] = args[++i];
        }
    }

    return (args.Length > 0 ? args[0] : null, options);
}
