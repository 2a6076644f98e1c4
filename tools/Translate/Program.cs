using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ServerlessInference.Translation;

// translate --model <dir> [--beams N] [--batch N] [--max-new-tokens N]   (stdin: one text a line; stdout: JSONL)
// bench --model <dir> --input <file> [--limit N] [--repeat N] [--json <out>]
// Both: [--threads N] (intra-op threads), [--logits split|graph] (graph: no output projection split, the baseline).
var (command, options) = ParseArgs(args);
if (command is null || !options.TryGetValue("model", out var modelDir))
{
    Console.Error.WriteLine("usage: translate --model <dir> [--beams N] [--batch N] [--max-new-tokens N] < input.txt");
    Console.Error.WriteLine("       bench --model <dir> --input <file> [--limit N] [--json <out>]");
    return 2;
}

try
{
    using var translator = MarianTranslator.Load(Path.GetFileName(Path.GetFullPath(modelDir)), modelDir,
        new MarianTranslatorOptions
        {
            IntraOpThreads = Int(options, "threads", 0),
            MaxBatchSize = Int(options, "batch", 32),
            SplitOutputProjection = options.GetValueOrDefault("logits", "split") switch
            {
                "split" => true,
                "graph" => false,
                var other => throw new ArgumentException($"--logits must be split or graph, not '{other}'."),
            },
        });
    return command switch
    {
        "translate" => await TranslateLines(translator, options),
        "bench" => await Bench.Run(translator, options),
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

static async Task<int> TranslateLines(MarianTranslator translator, Dictionary<string, string> options)
{
    var translationOptions = new TranslationOptions
    {
        Beams = options.ContainsKey("beams") ? Int(options, "beams", 1) : null,
        MaxNewTokens = options.ContainsKey("max-new-tokens") ? Int(options, "max-new-tokens", 1) : null,
    };
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

        var result = await translator.TranslateAsync(lines, translationOptions);
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

/// <summary>Throughput and latency of the engine on a file of sentences, greedy and beam 4, batch 1 and batched.</summary>
internal static class Bench
{
    public static async Task<int> Run(MarianTranslator translator, Dictionary<string, string> options)
    {
        if (!options.TryGetValue("input", out var input))
        {
            throw new ArgumentException("bench needs --input <file> (one sentence a line, or a TSV whose first column is the sentence).");
        }

        int limit = options.TryGetValue("limit", out var l) ? int.Parse(l) : int.MaxValue;
        int batchSize = options.TryGetValue("batch", out var b) ? int.Parse(b) : 32;
        var sentences = File.ReadLines(input).Where(x => x.Trim().Length > 0).Select(x => x.Split('\t')[0]).Take(limit).ToArray();
        await translator.TranslateAsync(sentences.Take(8).ToArray(), new TranslationOptions { Beams = 1 }); // warm-up

        var results = new List<Dictionary<string, object>>();
        Console.WriteLine($"{sentences.Length} sentences; intra-op threads={(options.TryGetValue("threads", out var t) ? t : "default")}, cores={Environment.ProcessorCount}");
        Console.WriteLine("config           sent/s   tok/s   p50 ms   p90 ms   p99 ms   ort share");
        foreach (var beams in new[] { 1, 4 })
        {
            foreach (var batch in new[] { 1, batchSize })
            {
                var opts = new TranslationOptions { Beams = beams };
                var latencies = new List<double>();
                long tokens = 0;
                double ortSeconds = 0;
                var total = Stopwatch.StartNew();
                for (int i = 0; i < sentences.Length; i += batch)
                {
                    var chunk = sentences.Skip(i).Take(batch).ToArray();
                    var sw = Stopwatch.StartNew();
                    var r = await translator.TranslateAsync(chunk, opts);
                    latencies.Add(sw.Elapsed.TotalMilliseconds);
                    tokens += r.Translations.Sum(t => t.OutputTokens);
                    ortSeconds += r.OnnxRuntime.TotalSeconds;
                }

                double seconds = total.Elapsed.TotalSeconds;
                latencies.Sort();
                double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
                var row = new Dictionary<string, object>
                {
                    ["engine"] = options.GetValueOrDefault("logits") == "graph" ? "csharp, logits from the graph" : "csharp",
                    ["beams"] = beams, ["batch"] = batch, ["sentences"] = sentences.Length,
                    ["threads"] = options.TryGetValue("threads", out var th) ? int.Parse(th) : 0,
                    ["seconds"] = seconds, ["sentencesPerSecond"] = sentences.Length / seconds,
                    ["tokensPerSecond"] = tokens / seconds, ["outputTokens"] = tokens,
                    ["p50Ms"] = P(0.5), ["p90Ms"] = P(0.9), ["p99Ms"] = P(0.99), ["onnxRuntimeShare"] = ortSeconds / seconds,
                };
                results.Add(row);
                Console.WriteLine($"beams={beams} batch={batch,-3} {sentences.Length / seconds,8:F1} {tokens / seconds,7:F0} {P(0.5),8:F2} {P(0.9),8:F2} {P(0.99),8:F2} {ortSeconds / seconds,10:P1}");
            }
        }

        if (options.TryGetValue("json", out var jsonPath))
        {
            await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        }

        return 0;
    }
}
