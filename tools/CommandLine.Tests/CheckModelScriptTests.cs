using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServerlessInference.Tools.Tests;

/// <summary>The conformance check users run on a downloaded model folder (scripts/check-model.sh, which runs
/// models/training/transformersjs/check-model.mjs with tools/Translate's translate.dll): the real C# engine and the
/// real transformers.js on the bundled sentence set. Needs Node.js and transformers.js installed
/// (`cd models/training/transformersjs &amp;&amp; ONNXRUNTIME_NODE_INSTALL=skip npm ci`).</summary>
public sealed class CheckModelScriptTests : IDisposable
{
    private static readonly string Root = FindRoot();

    private static readonly string EmbeddedModel = Path.Combine(Root, "models", "marian-tiny-en-zh");

    private readonly string _temp = Directory.CreateTempSubdirectory("check-model-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task EmbeddedModelPassesForEachVariantItHoldsWithIdenticalIdsOnEverySentence()
    {
        var sentences = File.ReadAllLines(Path.Combine(Root, "models", "conformance", "sentences.txt")).Count(l => l.Trim().Length > 0);
        var (exitCode, output, report) = await RunAsync(EmbeddedModel);

        Assert.True(exitCode == 0, output);
        Assert.Contains("PASSED", output);
        // Exactly the variants whose two graphs are in the folder, in transformers.js' dtype names.
        Assert.Equal(["fp32", "q8", "q4"], report["variants"]!.AsArray().Select(v => (string)v!["dtype"]!));
        Assert.All(report["variants"]!.AsArray(), v =>
        {
            Assert.Equal(sentences, (int)v!["identical"]!);
            Assert.Empty(v["mismatches"]!.AsArray());
        });
        Assert.False((bool)report["opusMtEnZh"]!);
    }

    [Fact]
    public async Task FolderWhoseTokenizerJsonDisagreesWithItsSpmFilesFailsWithExitCodeOne()
    {
        // The embedded model's fp32 files, but a tokenizer.json (read by transformers.js only) that no longer appends
        // </s>: what a hand-edited or mismatched tokenizer.json does to a real download.
        var folder = Path.Combine(_temp, "broken-tokenizer");
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        foreach (var file in new[] { "config.json", "generation_config.json", "source.spm", "target.spm", "vocab.json",
                     "tokenizer_config.json", "special_tokens_map.json", "onnx/encoder_model.onnx", "onnx/decoder_model_merged.onnx" })
        {
            // Copies: the engine refuses a symlinked decoder whose rewritten graph keeps its weights as external data in
            // the link's target, outside the model folder (ONNX Runtime's external data path check).
            File.Copy(Path.Combine(EmbeddedModel, file), Path.Combine(folder, file));
        }

        var tokenizer = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(EmbeddedModel, "tokenizer.json")))!;
        tokenizer["post_processor"]!["single"] = new JsonArray(JsonNode.Parse("""{"Sequence": {"id": "A", "type_id": 0}}"""));
        await File.WriteAllTextAsync(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString());

        var (exitCode, output, report) = await RunAsync(folder);

        Assert.True(exitCode == 1, output);
        Assert.Contains("FAILED", output);
        var fp32 = Assert.Single(report["variants"]!.AsArray());
        Assert.NotEmpty(fp32!["mismatches"]!.AsArray());
        Assert.Contains("first difference at output position", output);
    }

    [Fact]
    public async Task VariantTheFolderLacksIsABadArgumentWithExitCodeTwo()
    {
        var (exitCode, output, _) = await RunAsync(EmbeddedModel, "--dtype", "fp16");
        Assert.Equal(2, exitCode);
        Assert.Contains("no graph variant of fp16", output);
    }

    private async Task<(int ExitCode, string Output, JsonNode Report)> RunAsync(string model, params string[] extra)
    {
        var script = Path.Combine(Root, "models", "training", "transformersjs", "check-model.mjs");
        var modules = Path.Combine(Root, "models", "training", "transformersjs", "node_modules", "@huggingface", "transformers");
        Assert.True(Directory.Exists(modules),
            $"transformers.js is not installed ({modules}): cd models/training/transformersjs && ONNXRUNTIME_NODE_INSTALL=skip npm ci");
        var translate = TranslateDll();
        Assert.True(File.Exists(translate), $"{translate} is missing: build tools/Translate in this configuration");

        var report = Path.Combine(_temp, $"report-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { script, "--translate", translate, model, "--json", report }.Concat(extra))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout + await stderr;
        var json = File.Exists(report) ? JsonNode.Parse(await File.ReadAllTextAsync(report))! : new JsonObject();
        return (process.ExitCode, output, json);
    }

    /// <summary>translate.dll of the configuration these tests were built in (the project references tools/Translate,
    /// so it is built with them).</summary>
    private static string TranslateDll()
    {
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        return Path.Combine(Root, "tools", "Translate", "bin", configuration, framework.Name, "translate.dll");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ServerlessInference.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ServerlessInference.sln not found above " + AppContext.BaseDirectory);
    }
}
