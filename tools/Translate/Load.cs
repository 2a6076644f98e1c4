using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ServerlessInference;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.Engine.Tokenization;
using ServerlessInference.ModelHosting;
using ServerlessInference.Serving;
using ServerlessInference.Telemetry;
using ServerlessInference.Tools;

/// <summary>
/// The load benchmark (bench/load.sh). Drives <see cref="TranslationService"/>, the object the translate function
/// calls, composed by the app's own registration (AddServerlessInference) against the storage the caller names, so
/// the model is downloaded from blob storage, loaded by the app's factory and served through its scheduler and
/// backlog exactly as in the app. Only the HTTP layer is left out. Each request is one dev sentence, as an HTTP
/// caller would send it (Interactive priority); a ServerBusyException is what the function answers with 503.
/// <list type="bullet">
/// <item><c>load</c>: batching on and off as two app instances in one process, warmed up, then for every point
/// (closed loop of N clients, or open loop at a fixed arrival rate) one run on each, in alternating order.</item>
/// <item><c>cold</c>: one app instance with an empty model cache in a fresh process; N calls at once, each timed from
/// its start (model download and load included).</item>
/// </list>
/// Writes one JSON row per measurement to --out (appends).
/// </summary>
internal static class Load
{
    public static async Task<int> Run(string command, Dictionary<string, string> options)
    {
        string storage = options["storage"];
        var sentences = File.ReadLines(options["input"]).Where(x => x.Trim().Length > 0)
            .Select(x => x.Split('\t')[0]).ToArray();
        string output = options["out"];
        if (options.TryGetValue("upload", out var modelDir))
        {
            var container = new BlobServiceClient(storage).GetBlobContainerClient(new ModelsOptions().Container);
            await ModelUploader.UploadDirectoryAsync(container, modelDir, ModelsOptions.DefaultModelName + "/");
        }

        return command == "cold"
            ? await Cold(storage, sentences, options, output)
            : await Points(storage, sentences, options, output);
    }

    private static async Task<int> Cold(string storage, string[] sentences, Dictionary<string, string> options, string output)
    {
        int clients = options.Int("clients");
        int beams = options.Int("beams");
        var cache = Path.Combine(Path.GetTempPath(), "si-load-cold-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var app = new BenchApp(storage, cache, BenchApp.Continuous);
            var translationOptions = new TranslationRequest([]) { Beams = beams };
            var firstCallAt = DateTime.Now;
            var latencies = new double[clients];
            var started = Stopwatch.GetTimestamp();
            var calls = Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
            {
                var t0 = Stopwatch.GetTimestamp();
                await app.Service.TranslateAsync(null, translationOptions with { Texts = [sentences[i % sentences.Length]] }, "http",
                    WorkPriority.Interactive, CancellationToken.None);
                latencies[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            })).ToArray();
            await Task.WhenAll(calls);
            double wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
            Array.Sort(latencies);
            Write(output, new Dictionary<string, object?>
            {
                ["kind"] = "cold",
                ["clients"] = clients,
                ["beams"] = beams,
                ["p50Ms"] = Percentile(latencies, 0.50),
                ["p99Ms"] = Percentile(latencies, 0.99),
                ["maxMs"] = Math.Round(latencies[^1], 1),
                ["wallSeconds"] = Math.Round(wall, 3),
                ["downloads"] = app.Metrics.Count(InferenceTelemetry.Instruments.ModelDownloadDuration),
                ["downloadMs"] = app.Metrics.SumMilliseconds(InferenceTelemetry.Instruments.ModelDownloadDuration),
                ["loadMs"] = app.Metrics.SumMilliseconds(InferenceTelemetry.Instruments.ModelLoadDuration),
                ["batches"] = app.Recorder.Histogram(),
                ["load1"] = LoadAverage(),
                // Runtime start-up, JIT and the app's composition before the first call; not in the latencies.
                ["processStartToFirstCallSeconds"] = Memory.ProcessSeconds(firstCallAt),
                ["loadPhases"] = app.Recorder.LoadTimings is { } timings ? Memory.Phases(timings) : null,
                ["loadPhasesCpu"] = app.Recorder.LoadTimings is { } cpu ? Memory.CpuPhases(cpu) : null,
            });
        }
        finally
        {
            if (Directory.Exists(cache))
            {
                Directory.Delete(cache, recursive: true);
            }
        }

        return 0;
    }

    private static async Task<int> Points(string storage, string[] sentences, Dictionary<string, string> options, string output)
    {
        var duration = TimeSpan.FromSeconds(options.Number("duration"));
        var warmup = TimeSpan.FromSeconds(options.Number("warmup"));
        int[] concurrency = options.Ints("concurrency");
        int[] beamsList = options.Ints("beams");
        int[] rates = options.Ints("rates");
        int[] rateBeams = options.Ints("rate-beams");
        var cache = Path.Combine(Path.GetTempPath(), "si-load-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var continuous = new BenchApp(storage, cache, BenchApp.Continuous);
            using var dynamic = new BenchApp(storage, cache, BenchApp.Dynamic);
            using var off = new BenchApp(storage, cache, BenchApp.Off);
            BenchApp[] apps = [continuous, dynamic, off];
            var source = new SentenceSource(sentences);
            // Every instance sees every shape it will serve (greedy and beam 4, lone calls and full batches)
            // before anything is measured.
            foreach (var app in apps)
            {
                foreach (var beams in beamsList.Union(rateBeams))
                {
                    await ClosedLoop(app, source, 1, beams, warmup / 2);
                    await ClosedLoop(app, source, 64, beams, warmup);
                }
            }

            // The peer the serving throughput is held to: the same engine run offline on the same sentences, in
            // whole length-sorted batches, measured in the same process between the serving points.
            foreach (var beams in beamsList)
            {
                Write(output, Offline(continuous.Recorder.Engine!, sentences, beams, duration));
            }

            int point = 0;
            foreach (var beams in beamsList)
            {
                foreach (var n in concurrency)
                {
                    foreach (var app in Rotated(apps, point++))
                    {
                        var run = await ClosedLoop(app, source, n, beams, duration);
                        Write(output, run.Row("closed", app.Mode, beams, n, null));
                        Console.Error.WriteLine($"closed beams={beams} c={n} {app.Mode}: {run.Summary()}");
                    }
                }
            }

            foreach (var beams in rateBeams)
            {
                foreach (var rate in rates)
                {
                    foreach (var app in Rotated(apps, point++))
                    {
                        var run = await OpenLoop(app, source, rate, beams, duration);
                        Write(output, run.Row("open", app.Mode, beams, null, rate));
                        Console.Error.WriteLine($"open beams={beams} rate={rate}/s {app.Mode}: {run.Summary()}");
                    }
                }
            }
        }
        finally
        {
            if (Directory.Exists(cache))
            {
                Directory.Delete(cache, recursive: true);
            }
        }

        return 0;
    }

    /// <summary>The instances in turn, each point starting with the next, so none always runs first.</summary>
    private static BenchApp[] Rotated(BenchApp[] apps, int point) =>
        [.. apps.Skip(point % apps.Length), .. apps.Take(point % apps.Length)];

    /// <summary>
    /// The engine's own best offline throughput on the serving sentences: each pass tokenizes them, sorts them by
    /// length and runs them in whole batches of 32 (the most the scheduler runs at once) straight through
    /// <see cref="ITranslationEngine.Generate"/>, without scheduler, backlog or service. Passes repeat for the point
    /// duration; the best pass counts.
    /// </summary>
    private static Dictionary<string, object?> Offline(ITranslationEngine engine, string[] sentences, int beams, TimeSpan duration)
    {
        var settings = engine.Resolve(new TranslationRequest([]) { Beams = beams });
        var load1Before = LoadAverage();
        double best = 0;
        var started = Stopwatch.GetTimestamp();
        int passes = 0;
        do
        {
            var pass = Stopwatch.GetTimestamp();
            var sources = sentences.Select(s => engine.Tokenizer.Encode(s)).OrderBy(s => s.Length).ToArray();
            for (int i = 0; i < sources.Length; i += 32)
            {
                engine.Generate(sources[i..Math.Min(sources.Length, i + 32)], settings, CancellationToken.None);
            }

            best = Math.Max(best, sources.Length / Stopwatch.GetElapsedTime(pass).TotalSeconds);
            passes++;
        }
        while (Stopwatch.GetElapsedTime(started) < duration || passes < 2);

        Console.Error.WriteLine($"offline beams={beams}: {best:F1} sentences/s (best of {passes} passes)");
        return new Dictionary<string, object?>
        {
            ["kind"] = "offline",
            ["beams"] = beams,
            ["batch"] = 32,
            ["passes"] = passes,
            ["sentencesPerSecond"] = Math.Round(best, 2),
            ["load1Before"] = load1Before,
            ["load1After"] = LoadAverage(),
        };
    }

    /// <summary>N clients, each sending its next request as soon as the previous one is answered (or turned away).</summary>
    private static async Task<RunResult> ClosedLoop(BenchApp app, SentenceSource source, int clients, int beams, TimeSpan duration)
    {
        var run = new RunResult(app);
        var options = new TranslationRequest([]) { Beams = beams };
        // Engine runs block pool threads (with batching off, one per caller at once); without enough threads most
        // clients would never start, and batching off would be measured with a few clients instead of N.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 2 * clients + 8), io);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            while (run.Elapsed < duration)
            {
                await run.Call(source.Next(), options, Stopwatch.GetTimestamp());
            }
        })));
        run.Stop();
        return run;
    }

    /// <summary>Requests arrive at a fixed rate whatever the answers do; each is timed from its scheduled arrival,
    /// so a stalled sender cannot hide queueing delay. The sender is a thread of its own: on the thread pool it
    /// would itself be starved when engine runs block the pool's threads (batching off), and send less than asked.</summary>
    private static async Task<RunResult> OpenLoop(BenchApp app, SentenceSource source, int rate, int beams, TimeSpan duration)
    {
        var run = new RunResult(app);
        var options = new TranslationRequest([]) { Beams = beams };
        var calls = new List<Task>();
        var sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long origin = Stopwatch.GetTimestamp();
        var sender = new Thread(() =>
        {
            long count = 0;
            while (run.Elapsed < duration)
            {
                long due = (long)(run.Elapsed.TotalSeconds * rate);
                for (; count < due; count++)
                {
                    long arrival = origin + (long)(count * (double)Stopwatch.Frequency / rate);
                    var text = source.Next();
                    calls.Add(Task.Run(() => run.Call(text, options, arrival)));
                }

                Thread.Sleep(1);
            }

            run.Sent = count;
            sent.SetResult();
        })
        {
            IsBackground = true,
            Name = "open-loop sender",
        };
        sender.Start();
        await sent.Task;
        await Task.WhenAll(calls);
        run.Stop();
        return run;
    }

    private static void Write(string path, Dictionary<string, object?> row)
    {
        lock (typeof(Load))
        {
            File.AppendAllText(path, JsonSerializer.Serialize(row) + "\n");
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)], 1);

    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    private sealed class SentenceSource(string[] sentences)
    {
        private long _next = -1;

        public string Next() => sentences[(int)(Interlocked.Increment(ref _next) % sentences.Length)];
    }

    /// <summary>One measured run: latencies of answered requests, turned-away count, and the engine runs it caused.</summary>
    private sealed class RunResult
    {
        private readonly BenchApp _app;
        private readonly ConcurrentQueue<double> _latencies = new();
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly double _load1Before = LoadAverage();
        private int _shed;
        private TimeSpan _wall;

        public RunResult(BenchApp app)
        {
            _app = app;
            app.Recorder.Reset();
        }

        public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

        /// <summary>Requests sent (open loop); the closed loop counts answered and turned-away ones.</summary>
        public long? Sent { get; set; }

        public async Task Call(string text, TranslationRequest options, long arrival)
        {
            try
            {
                await _app.Service.TranslateAsync(null, options with { Texts = [text] }, "http", WorkPriority.Interactive,
                    CancellationToken.None);
                _latencies.Enqueue(Stopwatch.GetElapsedTime(arrival).TotalMilliseconds);
            }
            catch (ServerBusyException)
            {
                Interlocked.Increment(ref _shed);
            }
        }

        public void Stop() => _wall = Elapsed;

        public string Summary()
        {
            var sorted = _latencies.Order().ToArray();
            return $"{sorted.Length / _wall.TotalSeconds:F1} req/s, p50 {Percentile(sorted, 0.5)} ms, p99 {Percentile(sorted, 0.99)} ms, " +
                   $"shed {_shed}, mean batch {_app.Recorder.MeanBatch():F1}";
        }

        public Dictionary<string, object?> Row(string kind, string mode, int beams, int? clients, int? rate)
        {
            var sorted = _latencies.Order().ToArray();
            double seconds = _wall.TotalSeconds;
            var (runs, sentences, busy) = _app.Recorder.Totals();
            return new Dictionary<string, object?>
            {
                ["kind"] = kind,
                ["batching"] = mode != BenchApp.Off,
                ["mode"] = mode,
                ["beams"] = beams,
                ["clients"] = clients,
                ["rate"] = rate,
                ["seconds"] = Math.Round(seconds, 2),
                ["requests"] = sorted.Length,
                ["sent"] = Sent ?? sorted.Length + _shed,
                ["shed"] = _shed,
                ["requestsPerSecond"] = Math.Round(sorted.Length / seconds, 2),
                ["sentencesPerSecond"] = Math.Round(sentences / seconds, 2),
                ["p50Ms"] = Percentile(sorted, 0.50),
                ["p90Ms"] = Percentile(sorted, 0.90),
                ["p99Ms"] = Percentile(sorted, 0.99),
                ["maxMs"] = sorted.Length == 0 ? 0 : Math.Round(sorted[^1], 1),
                ["engineRuns"] = runs,
                ["meanBatch"] = Math.Round(_app.Recorder.MeanBatch(), 2),
                ["batches"] = _app.Recorder.Histogram(),
                // Sum of engine run durations over wall time: above 1 means runs overlapped (batching off).
                ["engineBusyShare"] = Math.Round(busy.TotalSeconds / seconds, 3),
                ["meanRunMs"] = runs == 0 ? 0 : Math.Round(busy.TotalMilliseconds / runs, 2),
                ["load1Before"] = _load1Before,
                ["load1After"] = LoadAverage(),
            };
        }
    }

    /// <summary>The app's own composition against the given storage, with the translator factory the app registers
    /// wrapped to record every engine run, and telemetry kept in memory.</summary>
    private sealed class BenchApp : IDisposable
    {
        private readonly ServiceProvider _provider;

        /// <param name="mode"><see cref="Continuous"/> (the app's default), <see cref="Dynamic"/> (batching, whole
        /// batches run to their end: the engine without per-row positions) or <see cref="Off"/>.</param>
        public BenchApp(string storage, string cache, string mode)
        {
            Mode = mode;
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = storage,
                ["Models:CacheDirectory"] = cache,
                ["Serving:Batching"] = mode == Off ? "false" : "true",
                ["Engine:ContinuousBatching"] = mode == Continuous ? "true" : "false",
            }).AddEnvironmentVariables().Build();
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddSingleton<IConfiguration>(configuration);
            services.AddServerlessInference();
            var registered = services.Single(d => d.ServiceType == typeof(IEngineFactory));
            services.Remove(registered);
            services.AddSingleton<IEngineFactory>(sp => new RecordingFactory(
                (IEngineFactory)(registered.ImplementationFactory?.Invoke(sp) ?? registered.ImplementationInstance!), Recorder));
            _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
            Service = _provider.GetRequiredService<TranslationService>();
            Metrics = new MetricTally(_provider.GetRequiredService<InferenceTelemetry>().Meter);
        }

        public const string Continuous = "continuous";
        public const string Dynamic = "dynamic";
        public const string Off = "off";

        public string Mode { get; }
        public bool Batching => Mode != Off;
        public TranslationService Service { get; }
        public RunRecorder Recorder { get; } = new();
        public MetricTally Metrics { get; }

        public void Dispose()
        {
            Metrics.Dispose();
            _provider.Dispose();
        }
    }

    private sealed class RecordingFactory(IEngineFactory inner, RunRecorder recorder) : IEngineFactory
    {
        public ITranslationEngine Load(string modelName, string modelDirectory, string? dtype = null)
        {
            var engine = inner.Load(modelName, modelDirectory, dtype);
            recorder.Engine = engine;
            return new RecordingTranslator(engine, recorder);
        }

        public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available, string? dtype = null) =>
            inner.SelectFiles(available, dtype);

        public IEngineLoad BeginLoad(string modelName, string? dtype = null) =>
            new RecordingLoad(inner.BeginLoad(modelName, dtype), recorder);
    }

    private sealed class RecordingLoad(IEngineLoad inner, RunRecorder recorder) : IEngineLoad
    {
        public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available) => inner.SelectFiles(available);

        public Task? FileReady(string relativePath, string path) => inner.FileReady(relativePath, path);

        public async Task<ITranslationEngine> CompleteAsync(string modelDirectory, CancellationToken cancellationToken)
        {
            var engine = await inner.CompleteAsync(modelDirectory, cancellationToken);
            recorder.LoadTimings = (engine as TranslationEngine)?.LoadTimings;
            recorder.Engine = engine;
            return new RecordingTranslator(engine, recorder);
        }

        public void Dispose() => inner.Dispose();
    }

    private sealed class RecordingTranslator(ITranslationEngine inner, RunRecorder recorder) : ITranslationEngine
    {
        public string ModelName => inner.ModelName;
        public ModelLimits Limits => inner.Limits;
        public MarianTokenizer Tokenizer => inner.Tokenizer;
        public IReadOnlyList<string> IgnoredGenerationSettings => inner.IgnoredGenerationSettings;
        public int MaxInputTokens => inner.MaxInputTokens;

        public GenerationSettings Resolve(TranslationRequest request) => inner.Resolve(request);

        public BatchOutput Generate(IReadOnlyList<int[]> sources, GenerationSettings settings, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            var output = inner.Generate(sources, settings, cancellationToken);
            recorder.Add(sources.Count, Stopwatch.GetElapsedTime(started));
            return output;
        }

        public IContinuousDecode? StartContinuous(GenerationSettings settings, CancellationToken cancellationToken) =>
            inner.StartContinuous(settings, cancellationToken) is { } decode ? new RecordingDecode(decode, recorder) : null;

        public void Dispose() => inner.Dispose();
    }

    /// <summary>A continuous decode's steps recorded as runs: each step's rows (sentences decoding in it) and time,
    /// its joins' time added to the step after them.</summary>
    private sealed class RecordingDecode(IContinuousDecode inner, RunRecorder recorder) : IContinuousDecode
    {
        private long _joinTicks;

        public int Running => inner.Running;
        public TimeSpan OnnxRuntime => inner.OnnxRuntime;

        public int[] Join(IReadOnlyList<int[]> sources)
        {
            var started = Stopwatch.GetTimestamp();
            var numbers = inner.Join(sources);
            _joinTicks += Stopwatch.GetTimestamp() - started;
            return numbers;
        }

        public IReadOnlyList<DecodedInput> Step()
        {
            int rows = inner.Running;
            var started = Stopwatch.GetTimestamp();
            var finished = inner.Step();
            if (rows > 0)
            {
                recorder.Add(rows, Stopwatch.GetElapsedTime(started - _joinTicks), finished.Count);
                _joinTicks = 0;
            }

            return finished;
        }

        public void Dispose() => inner.Dispose();
    }

    private sealed class RunRecorder
    {
        private static readonly int[] Bounds = [1, 2, 4, 8, 16, 32, 64];
        private readonly Lock _gate = new();
        private readonly List<int> _sizes = [];
        private TimeSpan _busy;
        private long _sentences;

        /// <summary>The phases of the last load through the recording factory.</summary>
        public ServerlessInference.Engine.Sessions.LoadTimings? LoadTimings { get; set; }

        /// <summary>An engine run of <paramref name="size"/> sentences: a whole batch, or a continuous decode's step
        /// with that many rows, in which <paramref name="finished"/> sentences finished (a whole batch: all).</summary>
        public void Add(int size, TimeSpan duration, int? finished = null)
        {
            lock (_gate)
            {
                _sizes.Add(size);
                _busy += duration;
                _sentences += finished ?? size;
            }
        }

        /// <summary>The engine the app loaded (for the offline peer measurement).</summary>
        public ITranslationEngine? Engine { get; set; }

        public void Reset()
        {
            lock (_gate)
            {
                _sizes.Clear();
                _busy = TimeSpan.Zero;
                _sentences = 0;
            }
        }

        public (int Runs, long Sentences, TimeSpan Busy) Totals()
        {
            lock (_gate)
            {
                return (_sizes.Count, _sentences, _busy);
            }
        }

        public double MeanBatch()
        {
            lock (_gate)
            {
                return _sizes.Count == 0 ? 0 : _sizes.Average();
            }
        }

        /// <summary>Engine runs by batch size: "1", "2", "3-4", "5-8", … "33-64", "65+".</summary>
        public Dictionary<string, int> Histogram()
        {
            lock (_gate)
            {
                var histogram = new Dictionary<string, int>();
                foreach (var size in _sizes)
                {
                    int i = Array.FindIndex(Bounds, b => size <= b);
                    string key = i < 0 ? $"{Bounds[^1] + 1}+"
                        : i == 0 || Bounds[i - 1] + 1 == Bounds[i] ? $"{Bounds[i]}"
                        : $"{Bounds[i - 1] + 1}-{Bounds[i]}";
                    histogram[key] = histogram.GetValueOrDefault(key) + 1;
                }

                return histogram;
            }
        }
    }

    /// <summary>Counts and sums the app's own histogram recordings (seconds), read from its Meter as any exporter would.</summary>
    private sealed class MetricTally : IDisposable
    {
        private readonly ConcurrentQueue<(string Name, double Value)> _recordings = new();
        private readonly MeterListener _listener = new();

        public MetricTally(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => _recordings.Enqueue((instrument.Name, value)));
            _listener.Start();
        }

        public int Count(string name) => _recordings.Count(r => r.Name == name);

        public double SumMilliseconds(string name) => Math.Round(_recordings.Where(r => r.Name == name).Sum(r => r.Value) * 1000, 1);

        public void Dispose() => _listener.Dispose();
    }
}
