using System.Diagnostics;
using System.Text.Json;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Tools;

/// <summary>Throughput and latency of the engine on a file of sentences, greedy and beam 4, batch 1 and batched.</summary>
internal static class Bench
{
    public static async Task<int> Run(Translator translator, Dictionary<string, string> options)
    {
        var input = options["input"];
        int limit = options.IntOrNull("limit") ?? int.MaxValue;
        int batchSize = options.Int("batch");
        var sentences = File.ReadLines(input).Where(x => x.Trim().Length > 0).Select(x => x.Split('\t')[0]).Take(limit).ToArray();
        // Warm-up of every path measured below: the first beam-search calls of a process allocate and initialise
        // what greedy decoding never touches, and would otherwise land in the beam rows' tail latencies.
        foreach (var warmBeams in new[] { 1, 4 })
        {
            await translator.TranslateAsync(new TranslationRequest(sentences.Take(8).ToArray()) { Beams = warmBeams });
            await translator.TranslateAsync(new TranslationRequest(sentences.Take(1).ToArray()) { Beams = warmBeams });
        }

        var results = new List<Dictionary<string, object>>();
        var dtype = options.GetValueOrDefault("dtype", ModelDtype.Default);
        var threads = options.TryGetValue("threads", out var t) ? t : "default";
        Console.WriteLine($"{sentences.Length} sentences; intra-op threads={threads}, cores={Environment.ProcessorCount}");
        Console.WriteLine("config           sent/s   tok/s   p50 ms   p90 ms   p99 ms   ort share");
        // --beams 1 leaves beam search out (a large model's beam rows take longest and have no transformers.js peer).
        var beamWidths = options.Ints("beams");
        foreach (var beams in beamWidths)
        {
            foreach (var batch in new[] { 1, batchSize })
            {
                var opts = new TranslationRequest([]) { Beams = beams };
                var latencies = new List<double>();
                long tokens = 0;
                double ortSeconds = 0;
                var total = Stopwatch.StartNew();
                for (int i = 0; i < sentences.Length; i += batch)
                {
                    var chunk = sentences.Skip(i).Take(batch).ToArray();
                    var sw = Stopwatch.StartNew();
                    var r = await translator.TranslateAsync(opts with { Texts = chunk });
                    latencies.Add(sw.Elapsed.TotalMilliseconds);
                    tokens += r.Translations.Sum(t => t.OutputTokens);
                    ortSeconds += r.OnnxRuntime.TotalSeconds;
                }

                double seconds = total.Elapsed.TotalSeconds;
                latencies.Sort();
                double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
                var row = new Dictionary<string, object>
                {
                    ["engine"] = (options.GetValueOrDefault("logits") == "graph" ? "csharp, logits from the graph" : "csharp")
                        + (dtype == ModelDtype.Default ? "" : " " + dtype),
                    ["dtype"] = dtype,
                    ["beams"] = beams,
                    ["batch"] = batch,
                    ["sentences"] = sentences.Length,
                    ["threads"] = options.IntOrNull("threads") ?? 0,
                    ["seconds"] = seconds,
                    ["sentencesPerSecond"] = sentences.Length / seconds,
                    ["tokensPerSecond"] = tokens / seconds,
                    ["outputTokens"] = tokens,
                    ["p50Ms"] = P(0.5),
                    ["p90Ms"] = P(0.9),
                    ["p99Ms"] = P(0.99),
                    ["onnxRuntimeShare"] = ortSeconds / seconds,
                };
                results.Add(row);
                Console.WriteLine($"beams={beams} batch={batch,-3} {sentences.Length / seconds,8:F1} {tokens / seconds,7:F0} " +
                                  $"{P(0.5),8:F2} {P(0.9),8:F2} {P(0.99),8:F2} {ortSeconds / seconds,10:P1}");
            }
        }

        if (options.TryGetValue("json", out var jsonPath))
        {
            await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        }

        return 0;
    }
}
