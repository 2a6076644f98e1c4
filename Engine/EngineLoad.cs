using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine.Loading;
using ServerlessInference.Engine.Sessions;

namespace ServerlessInference.Engine;

/// <summary>Opens the encoder session as soon as the encoder graph (and its external data, if any) is on disk, while
/// the decoder still downloads; the rest is loaded once the folder is complete.</summary>
internal sealed class EngineLoad(string modelName, EngineOptions options, string? dtype) : IEngineLoad
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _encoderFilesPending = new(StringComparer.Ordinal);
    private string? _encoderGraph;
    private string? _encoderGraphPath;
    private string? _stagedFolder;
    private Task<InferenceSession>? _encoder;
    private bool _handedOver;
    private readonly LoadTimings _timings = new();

    public IReadOnlyList<string> SelectFiles(IReadOnlyCollection<string> available)
    {
        var selected = MarianModelFolder.SelectFiles(available, dtype);
        var suffix = ModelDtype.Suffix(dtype) + ".onnx";
        var graph = selected.FirstOrDefault(f => f == "encoder_model" + suffix || f == "onnx/encoder_model" + suffix);
        lock (_gate)
        {
            _encoderGraph = graph;
            _encoderFilesPending.Clear();
            if (graph is not null)
            {
                // The graph and the external-data files named after it: all must be there before the session opens.
                _encoderFilesPending.UnionWith(selected.Where(f => f.StartsWith(graph, StringComparison.Ordinal)));
            }
        }
        return selected;
    }

    public Task? FileReady(string relativePath, string path)
    {
        lock (_gate)
        {
            if (_encoder is not null || !_encoderFilesPending.Remove(relativePath))
            {
                return null;
            }

            if (relativePath == _encoderGraph)
            {
                _encoderGraphPath = path;
                _stagedFolder = path.EndsWith(relativePath, StringComparison.Ordinal) ? path[..^(relativePath.Length + 1)] : null;
            }

            if (_encoderFilesPending.Count > 0 || _encoderGraphPath is not { } graphPath)
            {
                return null;
            }

            _encoder = Task.Run(() => _timings.Measure("encoder session (while downloading)",
                () => MarianOnnxModel.OpenEncoder(graphPath, options.IntraOpThreads)));
            return _encoder;
        }
    }

    public async Task<ITranslationEngine> CompleteAsync(string modelDirectory, CancellationToken cancellationToken)
    {
        Task<InferenceSession>? encoder;
        lock (_gate)
        {
            encoder = _encoder;
        }
        // Finished already: the store waits for the work FileReady started before it completes the folder.
        InferenceSession? session;
        try
        {
            session = encoder is null ? null : await encoder;
        }
        catch (ModelFormatException e) when (_stagedFolder is { } staged)
        {
            // ONNX Runtime's message names the file where it was opened; callers know the folder it was moved to.
            throw new ModelFormatException(e.Message.Replace(staged, modelDirectory, StringComparison.Ordinal), e.InnerException);
        }

        cancellationToken.ThrowIfCancellationRequested(); // before the hand-over, so Dispose still owns the session
        lock (_gate)
        {
            _handedOver = true;
        }
        return TranslationEngine.Load(modelName, modelDirectory, options, dtype, session, _timings);
    }

    public void Dispose()
    {
        Task<InferenceSession>? encoder;
        lock (_gate)
        {
            encoder = _handedOver ? null : _encoder;
            _handedOver = true;
        }
        // The store waits for the encoder before it reports a failure, so this has normally finished already.
        encoder?.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
            {
                OnnxSessions.Close(t.Result);
            }
            else
            {
                _ = t.Exception; // reported by the store's caller already, or moot once the load failed elsewhere
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
