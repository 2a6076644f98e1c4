using System.Net;
using System.Reflection;
using Azure;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using ServerlessInference.Engine;
using ServerlessInference.Engine.Batching;
using ServerlessInference.ModelHosting;
using ServerlessInference.Telemetry;
using Xunit;

namespace ServerlessInference.Tests.ModelHosting;

/// <summary>The encoder session is created while the decoder graph still downloads: the decoder's blob is read
/// from Azurite through a gate the test opens or fails.</summary>
[Collection(StorageCollection.Name)]
public sealed class ModelLoadOverlapTests(StorageFixture storage) : IDisposable
{
    private const string DecoderGraph = "onnx/decoder_model_merged.onnx";

    // Only keeps a broken build from hanging the run; nothing here depends on how long a step takes.
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(5);

    private readonly string _cacheRoot = Path.Combine(Path.GetTempPath(), "si-overlap-" + Guid.NewGuid().ToString("N"));
    private readonly DecoderGate _gate = new();
    private readonly ModelCatalogEntry _model = new()
    {
        Name = RepoPaths.ShippedModelName,
        Prefix = RepoPaths.ShippedModelName + "/",
    };

    [Fact]
    public async Task EncoderSessionIsCreatedWhileTheDecoderGraphIsStillDownloading()
    {
        var store = CreateStore();
        using var load = TestEngine.CreateFactory().BeginLoad(_model.Name);
        var encoderWork = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);

        var ensure = store.EnsureLocalAsync(_model, load.SelectFiles, Observe(load, encoderWork), CancellationToken.None);
        await _gate.DecoderRequested.WaitAsync(HangGuard);
        var encoder = await ((Task<InferenceSession>)await encoderWork.Task.WaitAsync(HangGuard)).WaitAsync(HangGuard);

        Assert.False(ensure.IsCompleted);
        _gate.Open();
        var directory = await ensure.WaitAsync(HangGuard);
        using var translator = await load.CompleteAsync(directory, CancellationToken.None);
        var result = await new BatchScheduler(translator, new()).TranslateAsync(new TranslationRequest(["How are you?"]));
        Assert.NotEmpty(result.Translations[0].Text);
        Assert.NotEqual(IntPtr.Zero, NativeHandle(encoder)); // handed over to the translator, not disposed
    }

    [Fact]
    public async Task FailedDecoderDownloadDisposesTheEncoderSessionAndTheNextLoadSucceeds()
    {
        var store = CreateStore();
        var encoderWork = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        InferenceSession encoder;
        using (var load = TestEngine.CreateFactory().BeginLoad(_model.Name))
        {
            var ensure = store.EnsureLocalAsync(_model, load.SelectFiles, Observe(load, encoderWork), CancellationToken.None);
            encoder = await ((Task<InferenceSession>)await encoderWork.Task.WaitAsync(HangGuard)).WaitAsync(HangGuard);
            Assert.NotEqual(IntPtr.Zero, NativeHandle(encoder));

            _gate.Fail();
            await Assert.ThrowsAsync<RequestFailedException>(() => ensure.WaitAsync(HangGuard));
        }

        Assert.Equal(IntPtr.Zero, NativeHandle(encoder));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_cacheRoot, _model.Name), ".staging-*"));

        _gate.Open();
        using var retry = TestEngine.CreateFactory().BeginLoad(_model.Name);
        var directory = await store.EnsureLocalAsync(_model, retry.SelectFiles, retry.FileReady, CancellationToken.None);
        using var translator = await retry.CompleteAsync(directory, CancellationToken.None);
        var result = await new BatchScheduler(translator, new()).TranslateAsync(new TranslationRequest(["How are you?"]));
        Assert.NotEmpty(result.Translations[0].Text);
    }

    private static Func<string, string, Task?> Observe(IEngineLoad load, TaskCompletionSource<Task> started) =>
        (relativePath, path) =>
        {
            var work = load.FileReady(relativePath, path);
            if (work is not null)
            {
                started.TrySetResult(work);
            }

            return work;
        };

    /// <summary>ONNX Runtime's handle to the native session; zero once the session is disposed.</summary>
    private static IntPtr NativeHandle(InferenceSession session) =>
        (IntPtr)typeof(InferenceSession).GetField("_nativeHandle", BindingFlags.NonPublic | BindingFlags.Instance)!
            .GetValue(session)!;

    private ModelStore CreateStore()
    {
        var options = new BlobClientOptions { Transport = new HttpClientTransport(new HttpClient(_gate)) };
        options.Retry.MaxRetries = 0;
        var container = new BlobServiceClient(storage.ConnectionString, options)
            .GetBlobContainerClient(StorageFixture.ModelsContainer);
        var telemetry = new InferenceTelemetry(new ServingBacklog(100, 1), NullLogger<InferenceTelemetry>.Instance);
        return new ModelStore(container, _cacheRoot, telemetry, NullLogger<ModelStore>.Instance);
    }

    public void Dispose()
    {
        _gate.Dispose();
        if (Directory.Exists(_cacheRoot))
        {
            Directory.Delete(_cacheRoot, recursive: true);
        }
    }

    /// <summary>Holds the decoder graph's download until the test opens the gate (the blob is then served as
    /// stored) or fails it (storage answers 500); every other request goes straight through.</summary>
    private sealed class DecoderGate() : DelegatingHandler(new HttpClientHandler())
    {
        private TaskCompletionSource<bool> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task DecoderRequested => _requested.Task;

        /// <summary>Lets this and later downloads of the decoder through, also after <see cref="Fail"/>.</summary>
        public void Open()
        {
            if (!Volatile.Read(ref _decision).TrySetResult(true))
            {
                var open = new TaskCompletionSource<bool>();
                open.SetResult(true);
                Volatile.Write(ref _decision, open);
            }
        }

        public void Fail() => _decision.TrySetResult(false);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method != HttpMethod.Get
                || request.RequestUri?.AbsolutePath.EndsWith("/" + DecoderGraph, StringComparison.Ordinal) != true)
            {
                return await base.SendAsync(request, cancellationToken);
            }

            _requested.TrySetResult();
            if (!await Volatile.Read(ref _decision).Task.WaitAsync(cancellationToken))
            {
                return new HttpResponseMessage(HttpStatusCode.InternalServerError)
                {
                    RequestMessage = request,
                    Content = new StringContent(""),
                };
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
