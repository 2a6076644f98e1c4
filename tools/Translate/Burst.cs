using System.Diagnostics;
using System.Text.Json;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Tools;

/// <summary>A cold burst: right after the model loads in a fresh process, N clients each send one request at once,
/// through the serving scheduler (as the app does) or each run by itself with no merging (--direct). What start-up
/// settings (tiered compilation, ReadyToRun) change is how long the first requests run as unoptimised code.</summary>
internal static class Burst
{
    public static async Task<int> Run(Translator translator, Dictionary<string, string> options, TimeSpan loadTime)
    {
        var input = options["input"];
        int clients = options.Int("clients");
        int? beams = options.IntOrNull("beams");
        bool direct = options.ContainsKey("direct");
        var sentences = File.ReadLines(input).Where(x => x.Trim().Length > 0).Select(x => x.Split('\t')[0]).Take(clients).ToArray();
        var scheduler = new BatchScheduler(translator.Engine, new BatchSchedulerOptions
        {
            MaxConcurrentBatches = options.Int("concurrency"),
            MaxBatchSize = translator.Scheduler.MaxBatchSize,
            // --direct: no merging; each request runs by itself at once, as it would without a scheduler.
            Batching = !direct,
        });
        var translationOptions = new TranslationRequest([]) { Beams = beams };
        var latencies = new double[sentences.Length];
        var total = Stopwatch.StartNew();
        await Task.WhenAll(sentences.Select((s, i) => Task.Run(async () =>
        {
            var sw = Stopwatch.StartNew();
            _ = await scheduler.TranslateAsync(translationOptions with { Texts = [s] }, WorkPriority.Interactive, CancellationToken.None);
            latencies[i] = sw.Elapsed.TotalMilliseconds;
        })));
        double seconds = total.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        var row = new Dictionary<string, object>
        {
            ["clients"] = sentences.Length,
            ["beams"] = beams ?? translator.Engine.Generation.NumBeams,
            ["path"] = direct ? "direct" : "scheduler",
            ["loadSeconds"] = Math.Round(loadTime.TotalSeconds, 3),
            ["burstSeconds"] = Math.Round(seconds, 3),
            ["p50Ms"] = Math.Round(latencies[latencies.Length / 2], 1),
            ["maxMs"] = Math.Round(latencies[^1], 1),
            ["sinceProcessStartSeconds"] = Math.Round((DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds, 3),
            ["env"] = string.Join(' ', Environment.GetEnvironmentVariables().Keys.Cast<string>()
                .Where(v => v.StartsWith("DOTNET_", StringComparison.Ordinal)).Order()
                .Select(v => $"{v}={Environment.GetEnvironmentVariable(v)}")),
        };
        Console.WriteLine(JsonSerializer.Serialize(row));
        return 0;
    }
}
