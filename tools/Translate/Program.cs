using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Tools;

// Verbs translate (the default), bench, memory, burst, load and cold, and their flags: TranslateCommandLine.cs, or
// `translate --help`. Load.cs runs load and cold; the others load the model folder here.
var parsed = TranslateCommandLine.Definition.Parse(args);
if (parsed.Finished(out int exitCode))
{
    return exitCode;
}

var (command, options) = (parsed.Verb!.Name, parsed.Values);
if (command is "load" or "cold")
{
    return await Load.Run(command, options);
}

var modelDir = options["model"];
try
{
    var loading = System.Diagnostics.Stopwatch.StartNew();
    var engineOptions = new EngineOptions
    {
        IntraOpThreads = Int(options, "threads", 0),
        MaxBatchSize = Int(options, "batch", 32),
        SplitOutputProjection = options.GetValueOrDefault("logits", "split") switch
        {
            "split" => true,
            "graph" => false,
            var other => throw new ArgumentException($"--logits must be split or graph, not '{other}'."),
        },
    };
    engineOptions = options.GetValueOrDefault("guardrails", "on") switch
    {
        "on" => engineOptions,
        "off" => engineOptions.WithoutGuardrails(),
        "length" => engineOptions with { RepeatStopRepeats = 0 },
        "repeat" => engineOptions with { OutputLengthFactor = 0 },
        var other => throw new ArgumentException($"--guardrails must be on, off, length or repeat, not '{other}'."),
    };
    using var translator = Translator.Load(Path.GetFileName(Path.GetFullPath(modelDir)), modelDir, engineOptions,
        options.GetValueOrDefault("dtype"));
    // On stderr, so that stdout stays the translations: a variant that runs one sentence at a time is much slower.
    foreach (var note in translator.Limits.LoadNotes)
    {
        Console.Error.WriteLine($"note: {note}");
    }

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
        Beams = options.IntOrNull("beams"),
        MaxNewTokens = options.IntOrNull("max-new-tokens"),
        TargetLanguage = options.GetValueOrDefault("target-language"),
    };
    translator.Engine.Resolve(translationOptions);
    int batch = options.Int("batch");
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
