using System.Text.Json;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;

/// <summary>
/// What loading a model costs: load time, the process's peak resident memory (VmHWM) and its resident memory
/// (VmRSS) after the load, after translating a few sentences greedy (what bench/transformersjs-memory.mjs does, so
/// the two compare), and after translating them again with beam search. One JSON line.
/// </summary>
internal static class Memory
{
    public static async Task<int> Run(Translator translator, Dictionary<string, string> options, TimeSpan loading)
    {
        var afterLoadAt = DateTime.Now;
        var afterLoad = Status();
        var sentences = options.TryGetValue("input", out var input)
            ? File.ReadLines(input).Where(x => x.Trim().Length > 0).Select(x => x.Split('\t')[0]).Take(8).ToArray()
            : ["The weather is nice today.", "Where is the station?"];
        await translator.TranslateAsync(new TranslationRequest(sentences) { Beams = 1 });
        var afterTranslate = Status();
        await translator.TranslateAsync(new TranslationRequest(sentences) { Beams = 4 });
        var afterBeam = Status();
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["engine"] = options.GetValueOrDefault("logits") == "graph" ? "csharp, logits from the graph" : "csharp",
            ["loadSeconds"] = loading.TotalSeconds,
            ["rssAfterLoadMB"] = afterLoad.Rss,
            ["peakAfterLoadMB"] = afterLoad.Peak,
            ["rssAfterTranslateMB"] = afterTranslate.Rss,
            ["peakMB"] = afterTranslate.Peak,
            ["rssAfterBeamMB"] = afterBeam.Rss,
            ["peakAfterBeamMB"] = afterBeam.Peak,
            ["managedHeapMB"] = GC.GetTotalMemory(forceFullCollection: false) / 1e6,
            ["loadPhases"] = Phases(translator.Engine.LoadTimings),
            ["loadPhasesCpu"] = CpuPhases(translator.Engine.LoadTimings),
            ["processStartToLoadedSeconds"] = ProcessSeconds(afterLoadAt),
        }));
        return 0;
    }

    /// <summary>Each load phase's seconds, in the order they finished.</summary>
    internal static Dictionary<string, double> Phases(ServerlessInference.Engine.Sessions.LoadTimings timings) =>
        timings.Phases.ToDictionary(p => p.Key, p => Math.Round(p.Value.TotalSeconds, 4));

    /// <summary>Each load phase's CPU seconds on its own thread (the phases overlap, so their wall times include
    /// waiting for a core on a busy machine).</summary>
    internal static Dictionary<string, double> CpuPhases(ServerlessInference.Engine.Sessions.LoadTimings timings) =>
        timings.CpuPhases.ToDictionary(p => p.Key, p => Math.Round(p.Value.TotalSeconds, 4));

    /// <summary>Seconds from this process's start (runtime start-up and JIT included) to <paramref name="at"/>.</summary>
    internal static double ProcessSeconds(DateTime at) =>
        Math.Round((at - System.Diagnostics.Process.GetCurrentProcess().StartTime).TotalSeconds, 3);

    /// <summary>VmRSS and VmHWM of this process in MB (10^6 bytes); zeros where /proc is not there.</summary>
    private static (double Rss, double Peak) Status()
    {
        if (!File.Exists("/proc/self/status"))
        {
            return (0, 0);
        }

        double Field(string[] lines, string name) => lines.Where(l => l.StartsWith(name + ":", StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024 / 1e6).FirstOrDefault();
        var status = File.ReadAllLines("/proc/self/status");
        return (Field(status, "VmRSS"), Field(status, "VmHWM"));
    }
}
