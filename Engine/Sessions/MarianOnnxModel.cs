using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Onnx;

namespace ServerlessInference.Engine.Sessions;

/// <summary>
/// The encoder and decoder sessions of one model, created once and shared by concurrent callers (InferenceSession.Run
/// is thread-safe). Hides whether the folder has a merged decoder or the decoder + decoder-with-past pair.
/// </summary>
internal sealed class MarianOnnxModel : IDisposable
{
    /// <summary>Sessions that only opened at a lower optimisation level, with what was logged about them (an encoder
    /// opened early reaches the model as a session).</summary>
    private static readonly ConditionalWeakTable<InferenceSession, string> Fallbacks = [];

    private readonly InferenceSession _encoder;
    private readonly InferenceSession _decoder;          // merged, or the no-past decoder
    private readonly InferenceSession? _decoderWithPast; // only in the split layout
    private readonly string[] _firstInputNames;
    private readonly string[] _nextInputNames;
    private readonly string[] _firstOutputNames;
    private readonly string[] _nextOutputNames;
    private readonly int _layers;

    public MarianModelFolder Folder { get; }
    public bool IsMerged => _decoderWithPast is null;

    /// <summary>False when a graph computes a row differently with other rows beside it (<see cref="GraphTraits.BatchDependence"/>:
    /// activations quantized with one scale over the whole batch, float16 MatMuls over stored weights): a sentence's
    /// output then depends on its batch-mates, so the scheduler runs its sentences one at a time.</summary>
    public bool BatchInvariant { get; }

    /// <summary>What loading had to do differently from the usual, for the host to log (an optimisation level
    /// lowered to get a session, a batch-dependent quantisation).</summary>
    public IReadOnlyList<string> LoadNotes { get; }

    /// <summary>The output projection split off the decoder graphs (they then return hidden states, not logits);
    /// null when the graphs did not have the expected shape and return logits themselves.</summary>
    public OutputProjection? Projection { get; }

    /// <summary>Where this load spent its time (an encoder opened early brings its own phase in).</summary>
    public LoadTimings Timings { get; }

    /// <summary>The cached decoder step takes each row's position (<see cref="DecoderRowPositions"/>), so rows at
    /// different steps can share a run; false when the graph's shape did not allow the rewrite or it was not asked for.</summary>
    public bool RowPositions { get; }

    /// <param name="intraOpThreads">Threads one Run may use; 0 lets ONNX Runtime pick (one per physical core).</param>
    /// <param name="splitOutputProjection">Try to split the output projection off the decoder graphs.</param>
    /// <param name="encoder">An encoder session already opened from this folder's encoder graph; the model owns it
    /// from here on, also when this constructor throws.</param>
    /// <param name="timings">Phases recorded so far (the early encoder's); a new record when null.</param>
    /// <param name="rowPositions">Try to give the cached decoder step per-row positions (continuous batching).</param>
    public MarianOnnxModel(MarianModelFolder folder, int intraOpThreads, bool splitOutputProjection = true,
        InferenceSession? encoder = null, LoadTimings? timings = null, bool rowPositions = true)
    {
        Folder = folder;
        Timings = timings ??= new LoadTimings();
        _layers = folder.DecoderLayers;
        var opened = new OpenedSessions();
        if (encoder is not null)
        {
            opened.Add(encoder);
        }

        try
        {
            // The encoder shares nothing with the decoder chain (rewrite, then the decoder session beside the output
            // projection's): each runs on its own thread, so that the load takes its longest chain, not the sum.
            var (encoderPart, decoderPart) = ConcurrentLoad.Run(
                () => LoadEncoder(folder, intraOpThreads, encoder, opened, timings),
                () => LoadDecoders(folder, intraOpThreads, splitOutputProjection, rowPositions, opened, timings));
            _encoder = encoderPart.Session;
            (_decoder, _decoderWithPast, Projection) = (decoderPart.Decoder, decoderPart.DecoderWithPast, decoderPart.Projection);
            RowPositions = decoderPart.RowPositions;

            var dependent = new[] { (Graph: folder.EncoderPath, encoderPart.Traits) }.Concat(decoderPart.Traits)
                .Select(g => (g.Graph, Causes: g.Traits.BatchDependence.ToList())).Where(d => d.Causes.Count > 0).ToList();
            BatchInvariant = dependent.Count == 0;
            var notes = new List<string>();
            if (!BatchInvariant)
            {
                notes.Add($"dtype {folder.Dtype}: a sentence's output would depend on the sentences batched with it ("
                    + string.Join("; ", dependent.Select(d => $"{Path.GetFileName(d.Graph)}: {string.Join(", ", d.Causes)}"))
                    + "), so its sentences run one at a time.");
            }

            if (FallbackNote(_encoder) is { } encoderNote)
            {
                notes.Add(encoderNote);
            }

            if (rowPositions && !RowPositions)
            {
                notes.Add("the decoder graph's cached step does not have the shape the per-row positions rewrite knows, so "
                    + "sentences cannot join a running batch: batches run to their end (no continuous batching).");
            }

            notes.AddRange(new[] { _decoder, _decoderWithPast }.OfType<InferenceSession>().Select(FallbackNote).OfType<string>());
            LoadNotes = notes;
            timings.Measure("return load memory", () =>
            {
                ReturnLoadMemory();
                return 0;
            });

            string[] common = ["input_ids", "encoder_attention_mask", "encoder_hidden_states"];
            var past = KvNames("past_key_values", "decoder").Concat(KvNames("past_key_values", "encoder")).ToArray();
            string[] positions = RowPositions ? [DecoderRowPositions.InputName] : [];
            _firstInputNames = IsMerged ? [.. common, .. past, "use_cache_branch", .. positions] : common;
            // Optimum's decoder_with_past_model.onnx has no encoder_hidden_states input (the cross-attention cache
            // replaces it), so the split layout passes what the graph declares.
            _nextInputNames = IsMerged
                ? [.. common, .. past, "use_cache_branch", .. positions]
                : [.. common.Where(_decoderWithPast!.InputMetadata.ContainsKey), .. past, .. positions];
            string stepOutput = Projection is null ? "logits" : DecoderGraph.HiddenOutput;
            _firstOutputNames = [stepOutput, .. KvNames("present", "decoder"), .. KvNames("present", "encoder")];
            _nextOutputNames = [stepOutput, .. KvNames("present", "decoder")];
            CheckNames(_encoder, ["input_ids", "attention_mask"], ["last_hidden_state"], folder.EncoderPath);
            CheckNames(_decoder, _firstInputNames, _firstOutputNames, folder.MergedDecoderPath ?? folder.DecoderPath!);
            if (_decoderWithPast is not null)
            {
                CheckNames(_decoderWithPast, _nextInputNames, _nextOutputNames, folder.DecoderWithPastPath!);
            }
        }
        catch
        {
            // Everything opened so far is released here (every part has ended by now, failed or not): the
            // constructor's caller never gets an object to dispose.
            opened.CloseAll();
            throw;
        }
    }

    private sealed record EncoderPart(InferenceSession Session, GraphTraits Traits);

    private sealed record DecoderPart(InferenceSession Decoder, InferenceSession? DecoderWithPast, OutputProjection? Projection,
        IReadOnlyList<(string Graph, GraphTraits Traits)> Traits, bool RowPositions);

    private static EncoderPart LoadEncoder(MarianModelFolder folder, int intraOpThreads, InferenceSession? early,
        OpenedSessions opened, LoadTimings timings)
    {
        if (early is not null)
        {
            return new EncoderPart(early, timings.Measure("graph traits (encoder)", () => Traits(folder.EncoderPath, null)));
        }

        // One read of the file for both the traits and the session.
        var (skeleton, traits) = timings.Measure("graph traits (encoder)", () => SkeletonAndTraits(folder.EncoderPath, null));
        using var options = skeleton.Options(intraOpThreads);
        return new EncoderPart(timings.Measure("encoder session", () => Open(folder.EncoderPath, skeleton.Model, options, opened)),
            traits);
    }

    /// <summary>
    /// A graph with its weights left in the file as external data (<see cref="ExternalWeights"/>), as the split
    /// decoder is: ONNX Runtime then reads them from the file instead of out of a parsed copy of the whole protobuf,
    /// which took about four times the CPU time for the opus-shaped encoder (210 MB: 2.6 s against 0.6 s, of 6.3 s for
    /// the whole load; bench/results/cold-start-2026-12-02-2.md). The graph and its values are the same.
    /// </summary>
    private sealed record GraphSkeleton(byte[] Model, string Folder)
    {
        /// <exception cref="ModelFormatException">The file is not an ONNX model.</exception>
        public static GraphSkeleton Read(string path)
        {
            // ONNX Runtime refuses external data whose real path leaves the folder it is given: a symbolic link (a
            // Hugging Face cache snapshot) names its target's folder, as the decoder rewrite does.
            var real = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
            try
            {
                return new GraphSkeleton(ExternalWeights.ReadSkeleton(real), Path.GetDirectoryName(Path.GetFullPath(real))!);
            }
            catch (InvalidDataException e)
            {
                throw new ModelFormatException($"{Path.GetFileName(path)} is not an ONNX model: {e.Message}", e);
            }
        }

        public SessionOptions Options(int intraOpThreads)
        {
            var options = CreateSessionOptions(intraOpThreads);
            options.AddSessionConfigEntry(DecoderGraph.ExternalDataFolderKey, Folder);
            return options;
        }
    }

    /// <summary>The decoder sessions and the output projection split off them. Every graph opens as a skeleton whose
    /// weights stay in its file as external data (a split decoder's rewrite, or <see cref="GraphSkeleton"/>): its
    /// sessions (and the float32 projection's, which reads W from the same file) are told where that file is. Every
    /// session gets options of its own: a fallback changes its options' level while it opens, and the others open at
    /// the same time.</summary>
    private static DecoderPart LoadDecoders(MarianModelFolder folder, int intraOpThreads, bool splitOutputProjection,
        bool rowPositions, OpenedSessions opened, LoadTimings timings)
    {
        int vocab = folder.VocabSize;
        int hidden = folder.DecoderHeads * folder.HeadDim;
        int layers = folder.DecoderLayers;
        if (folder.MergedDecoderPath is { } merged)
        {
            var rewrite = splitOutputProjection || rowPositions
                ? timings.Measure("decoder rewrite", () => DecoderGraph.TryRewrite(merged, vocab, hidden,
                    splitOutputProjection, rowPositions ? layers : 0))
                : null;
            // Traits from the skeleton the session opens: the rewrites do not touch what they look at (they remove a
            // float32 MatMul, an Add and a Transpose, and add position arithmetic), and the file is not scanned again.
            var (graph, traits) = timings.Measure("graph traits (decoder)", () => SkeletonAndTraits(merged, rewrite));
            var (projection, decoder) = ConcurrentLoad.Run(
                () => rewrite?.Weights is { } weights
                    ? OpenProjection(weights, rewrite.Folder, intraOpThreads, opened, timings)
                    : null,
                () =>
                {
                    using var options = graph.Options(intraOpThreads);
                    return timings.Measure("decoder session", () => Open(merged, graph.Model, options, opened));
                });
            return new DecoderPart(decoder, null, projection, [(merged, traits)], rewrite?.RowPositions ?? false);
        }

        // Both graphs lose their projection, or neither does (it must be the same one); only the cached step takes
        // positions.
        var (firstPath, nextPath) = (folder.DecoderPath!, folder.DecoderWithPastPath!);
        var (first, next) = timings.Measure("decoder rewrite", () => ConcurrentLoad.Run(
            () => splitOutputProjection
                ? DecoderGraph.TryRewrite(firstPath, vocab, hidden, splitProjection: true, rowPositionLayers: 0)
                : null,
            () => splitOutputProjection || rowPositions
                ? DecoderGraph.TryRewrite(nextPath, vocab, hidden, splitOutputProjection, rowPositions ? layers : 0)
                : null));
        bool split = first?.Weights is { } w1 && next?.Weights is { } w2 && w1.SameAs(w2) && first.Folder == next.Folder;
        if (!split && next?.Weights is not null)
        {
            next = rowPositions
                ? timings.Measure("decoder rewrite", () =>
                    DecoderGraph.TryRewrite(nextPath, vocab, hidden, splitProjection: false, layers))
                : null;
        }

        var firstRewrite = split ? first : null;
        var ((firstGraph, firstTraits), (nextGraph, nextTraits)) = timings.Measure("graph traits (decoder)",
            () => (SkeletonAndTraits(firstPath, firstRewrite), SkeletonAndTraits(nextPath, next)));
        var (pairProjection, (decoderSession, withPastSession)) = ConcurrentLoad.Run(
            () => firstRewrite?.Weights is { } weights
                ? OpenProjection(weights, firstRewrite.Folder, intraOpThreads, opened, timings)
                : null,
            () => timings.Measure("decoder session", () => ConcurrentLoad.Run(
                () =>
                {
                    using var options = firstGraph.Options(intraOpThreads);
                    return Open(firstPath, firstGraph.Model, options, opened);
                },
                () =>
                {
                    using var options = nextGraph.Options(intraOpThreads);
                    return Open(nextPath, nextGraph.Model, options, opened);
                })));
        return new DecoderPart(decoderSession, withPastSession, pairProjection, [(firstPath, firstTraits), (nextPath, nextTraits)],
            next?.RowPositions ?? false);
    }

    /// <summary>The graph a decoder session opens (the rewrite when there is one, else the file's skeleton) and its traits.</summary>
    private static (GraphSkeleton Graph, GraphTraits Traits) SkeletonAndTraits(string path, DecoderRewrite? rewrite)
    {
        var graph = rewrite is null ? GraphSkeleton.Read(path) : new GraphSkeleton(rewrite.Model, rewrite.Folder);
        return (graph, Traits(path, graph.Model));
    }

    /// <param name="folder">Where the rewritten decoder's external data is: the float32 projection reads W from there.</param>
    private static OutputProjection OpenProjection(ProjectionWeights weights, string folder, int intraOpThreads, OpenedSessions opened,
        LoadTimings timings)
    {
        using var options = CreateSessionOptions(intraOpThreads);
        options.AddSessionConfigEntry(DecoderGraph.ExternalDataFolderKey, folder);
        return opened.Add(new OutputProjection(weights, options, timings));
    }

    /// <summary>What a load has opened so far, from any of its concurrent parts, to close when the load fails.</summary>
    private sealed class OpenedSessions
    {
        private readonly Lock _gate = new();
        private readonly List<InferenceSession> _sessions = [];
        private readonly List<OutputProjection> _projections = [];

        public InferenceSession Add(InferenceSession session)
        {
            lock (_gate)
            {
                _sessions.Add(session);
            }

            return session;
        }

        public OutputProjection Add(OutputProjection projection)
        {
            lock (_gate)
            {
                _projections.Add(projection);
            }

            return projection;
        }

        public void CloseAll()
        {
            lock (_gate)
            {
                _projections.ForEach(p => p.Dispose());
                _sessions.ForEach(OnnxSessions.Close);
            }
        }
    }

    /// <summary>Opens an encoder graph on its own, so that it can be created while the decoder still downloads.</summary>
    /// <exception cref="ModelFormatException">The file is not an ONNX model, or ONNX Runtime cannot load it.</exception>
    public static InferenceSession OpenEncoder(string path, int intraOpThreads)
    {
        var skeleton = GraphSkeleton.Read(path);
        using var options = skeleton.Options(intraOpThreads);
        return Open(path, skeleton.Model, options, new OpenedSessions());
    }

    private static SessionOptions CreateSessionOptions(int intraOpThreads)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            EnableCpuMemArena = true,
            EnableMemoryPattern = true,
            InterOpNumThreads = 1,
        };
        if (intraOpThreads > 0)
        {
            options.IntraOpNumThreads = intraOpThreads;
        }

        return options;
    }

    /// <summary>
    /// Loading allocates far more than the sessions keep (file reads, the projection's float32 and 4-bit copies on
    /// their way into ONNX Runtime, ONNX Runtime's own parse of each graph). Neither the GC nor glibc's allocator
    /// gives that memory back to the system by itself, so a loaded model would stay resident at its loading peak.
    /// </summary>
    private static void ReturnLoadMemory()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeMemory.Trim();
    }

    /// <param name="rewritten">The graph as rewritten in memory, or null to load the file as it is.</param>
    private static InferenceSession Open(string path, byte[]? rewritten, SessionOptions options, OpenedSessions opened) =>
        opened.Add(CreateWithFallback(path, options,
            o => rewritten is null ? OnnxSessions.Create(path, o) : OnnxSessions.Create(rewritten, o)));

    /// <summary>
    /// Creates a session at the options' level, or, when ONNX Runtime fails at that level, at
    /// <see cref="FallbackOptimizationLevel"/>; the fallback is remembered for <see cref="FallbackNote"/>. ONNX Runtime's
    /// extended fusions fail on some float16 exports (a layer-norm fusion over a graph that keeps parts in float32
    /// between Casts) although the graph itself runs: basic optimisation (constant folding, redundant nodes) still
    /// gives a session that computes the same values.
    /// </summary>
    /// <exception cref="ModelFormatException">No level gives a session; names the file and, for a missing kernel, says
    /// that the variant is not served.</exception>
    internal static InferenceSession CreateWithFallback(string path, SessionOptions options, Func<SessionOptions, InferenceSession> create)
    {
        try
        {
            return create(options);
        }
        catch (OnnxRuntimeException e) when (options.GraphOptimizationLevel > FallbackOptimizationLevel)
        {
            var level = options.GraphOptimizationLevel;
            options.GraphOptimizationLevel = FallbackOptimizationLevel;
            InferenceSession session;
            try
            {
                session = create(options);
            }
            catch (OnnxRuntimeException)
            {
                throw Refused(path, e);
            }
            finally
            {
                options.GraphOptimizationLevel = level;
            }

            Fallbacks.AddOrUpdate(session, $"{Path.GetFileName(path)}: ONNX Runtime could not create a session with "
                + $"optimisation level {level} ({FirstLine(e.Message)}); it runs at {FallbackOptimizationLevel} instead.");
            return session;
        }
        catch (OnnxRuntimeException e)
        {
            throw Refused(path, e);
        }
    }

    /// <summary>What was logged when <paramref name="session"/> only opened at the fallback level; null otherwise.</summary>
    internal static string? FallbackNote(InferenceSession session) => Fallbacks.TryGetValue(session, out var note) ? note : null;

    /// <summary>The level a session falls back to when the usual one fails.</summary>
    internal const GraphOptimizationLevel FallbackOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC;

    private static ModelFormatException Refused(string path, OnnxRuntimeException e) =>
        new(e.Message.Contains("Could not find an implementation", StringComparison.Ordinal)
            ? $"{Path.GetFileName(path)} is not served: ONNX Runtime's CPU provider has no kernel for one of its operators "
              + $"({FirstLine(e.Message)})."
            : $"{Path.GetFileName(path)} could not be loaded by ONNX Runtime: {e.Message}", e);

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <param name="skeleton">The graph as already read (a rewrite's output), or null to read the file.</param>
    /// <exception cref="ModelFormatException">The file is not an ONNX model.</exception>
    private static GraphTraits Traits(string path, byte[]? skeleton)
    {
        try
        {
            return skeleton is null ? GraphTraits.Read(path) : GraphTraits.Read(path, skeleton);
        }
        catch (InvalidDataException e)
        {
            throw new ModelFormatException(e.Message, e);
        }
    }

    private static void CheckNames(InferenceSession session, IEnumerable<string> inputs, IEnumerable<string> outputs, string path)
    {
        var missingIn = inputs.Where(n => !session.InputMetadata.ContainsKey(n)).ToArray();
        var missingOut = outputs.Where(n => !session.OutputMetadata.ContainsKey(n)).ToArray();
        if (missingIn.Length > 0 || missingOut.Length > 0)
        {
            throw new ModelFormatException(
                $"{Path.GetFileName(path)} is not an Optimum Marian export: missing " +
                string.Join(", ", missingIn.Select(n => $"input '{n}'").Concat(missingOut.Select(n => $"output '{n}'"))) + ".");
        }
    }

    private IEnumerable<string> KvNames(string prefix, string part) =>
        Enumerable.Range(0, _layers).SelectMany(i => new[] { $"{prefix}.{i}.{part}.key", $"{prefix}.{i}.{part}.value" });

    /// <summary>Runs the encoder; the caller owns the returned last_hidden_state.</summary>
    public OrtValue Encode(OrtValue inputIds, OrtValue attentionMask, InferenceCall call)
    {
        var outputs = call.Run(_encoder, ["input_ids", "attention_mask"], [inputIds, attentionMask], ["last_hidden_state"]);
        return outputs[0];
    }

    /// <summary>
    /// First decoder step (no cache). Returns logits and the full cache: the caller owns both.
    /// <paramref name="emptyPast"/> supplies zero-length past tensors for the merged decoder's unused branch inputs.
    /// </summary>
    /// <param name="positions">Each row's position ([rows, 1] int64, all 0 here), fed where the graph takes them
    /// (<see cref="RowPositions"/>).</param>
    public DecoderStep DecodeFirst(OrtValue inputIds, OrtValue encoderMask, OrtValue encoderHidden, OrtValue? emptyPast,
        OrtValue? useCacheFalse, OrtValue positions, InferenceCall call)
    {
        var inputs = new List<OrtValue>(_firstInputNames.Length) { inputIds, encoderMask, encoderHidden };
        if (IsMerged)
        {
            for (int i = 0; i < 4 * _layers; i++)
            {
                inputs.Add(emptyPast!);
            }

            inputs.Add(useCacheFalse!);
            if (RowPositions)
            {
                inputs.Add(positions);
            }
        }

        var outputs = call.Run(_decoder, _firstInputNames, inputs, _firstOutputNames);
        var decoderKv = new OrtValue[2 * _layers];
        var encoderKv = new OrtValue[2 * _layers];
        for (int i = 0; i < 2 * _layers; i++)
        {
            decoderKv[i] = outputs[1 + i];
            encoderKv[i] = outputs[1 + 2 * _layers + i];
        }

        return new DecoderStep(outputs[0], decoderKv, encoderKv);
    }

    /// <summary>A step with the cache. Returns logits and the grown self-attention cache (caller owns them); the
    /// cross-attention cache does not change after the first step, so the merged decoder's copy of it is dropped.</summary>
    /// <param name="positions">Each row's position ([rows, 1] int64): the cache slot its token's key and value go to.
    /// Without <see cref="RowPositions"/> every row must be at the cache's length.</param>
    public DecoderStep DecodeNext(OrtValue inputIds, OrtValue encoderMask, OrtValue encoderHidden, OrtValue[] decoderKv,
        OrtValue[] encoderKv, OrtValue? useCacheTrue, OrtValue positions, InferenceCall call)
    {
        var inputs = new List<OrtValue>(_nextInputNames.Length) { inputIds, encoderMask };
        if (_nextInputNames[2] == "encoder_hidden_states")
        {
            inputs.Add(encoderHidden);
        }

        inputs.AddRange(decoderKv);
        inputs.AddRange(encoderKv);
        if (IsMerged)
        {
            inputs.Add(useCacheTrue!);
        }

        if (RowPositions)
        {
            inputs.Add(positions);
        }

        var outputs = call.Run(_decoderWithPast ?? _decoder, _nextInputNames, inputs, _nextOutputNames);
        var newKv = new OrtValue[2 * _layers];
        for (int i = 0; i < newKv.Length; i++)
        {
            newKv[i] = outputs[1 + i];
        }

        return new DecoderStep(outputs[0], newKv, null);
    }

    public void Dispose()
    {
        Projection?.Dispose();
        OnnxSessions.Close(_encoder);
        OnnxSessions.Close(_decoder);
        OnnxSessions.Close(_decoderWithPast);
    }
}
