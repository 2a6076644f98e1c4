using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ServerlessInference.E2ETests.Support;

/// <summary>A headless Chromium driven over the Chrome DevTools Protocol (a WebSocket, no browser-automation package):
/// the system's browser (Debian's <c>chromium</c>), so nothing is downloaded. A missing browser fails the test that
/// needs it, with how to install one; it is never a skip.</summary>
public sealed partial class Chromium : IAsyncDisposable
{
    /// <summary>A browser binary to use instead of the first of chromium, chromium-browser, google-chrome on PATH.</summary>
    public const string PathVariable = "CHROMIUM_PATH";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _profile = Path.Combine(Path.GetTempPath(), "si-e2e-chromium-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly StringBuilder _log = new();
    private Process? _process;
    private Uri _endpoint = null!;

    private Chromium()
    {
    }

    public static string Executable
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(PathVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                return File.Exists(configured)
                    ? configured
                    : throw new InvalidOperationException($"{PathVariable}={configured} does not exist.");
            }

            var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
            return new[] { "chromium", "chromium-browser", "google-chrome" }
                       .SelectMany(name => path.Select(dir => Path.Combine(dir, name))).FirstOrDefault(File.Exists)
                   ?? throw new InvalidOperationException(
                       "The try-page tests need a headless Chromium: apt-get install -y chromium (Debian), " +
                       $"or set {PathVariable} to a Chrome or Chromium binary.");
        }
    }

    /// <param name="width">Viewport width in CSS pixels (screenshots are this wide).</param>
    /// <param name="height">Viewport height in CSS pixels.</param>
    public static async Task<Chromium> StartAsync(int width = 960, int height = 660)
    {
        var browser = new Chromium();
        try
        {
            await browser.LaunchAsync(width, height);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task LaunchAsync(int width, int height)
    {
        var start = new ProcessStartInfo(Executable)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in new[]
                 {
                     "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                     "--disable-background-networking", "--disable-sync", "--disable-component-update", "--mute-audio",
                     // CI runs as root, where Chromium refuses to start sandboxed; the browser only visits the local app.
                     "--no-sandbox",
                     "--hide-scrollbars", $"--window-size={width},{height}", "--remote-debugging-address=127.0.0.1",
                     "--remote-debugging-port=0", $"--user-data-dir={_profile}", "about:blank",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process = Process.Start(start)!;
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, listening);
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, listening);
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"Chromium exited:\n{Log}"));
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        try
        {
            _endpoint = await listening.Task.WaitAsync(StartTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Chromium did not open its DevTools endpoint within {StartTimeout}:\n{Log}");
        }
    }

    private string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    private void OnLine(string? line, TaskCompletionSource<Uri> listening)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }

        var match = DevToolsListening().Match(line);
        if (match.Success)
        {
            listening.TrySetResult(new Uri(match.Groups["url"].Value));
        }
    }

    /// <summary>A session on the browser's first tab.</summary>
    public async Task<DevToolsPage> OpenPageAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var targets = JsonNode.Parse(await http.GetStringAsync($"http://{_endpoint.Authority}/json/list"))!.AsArray();
        var page = targets.First(t => (string?)t!["type"] == "page")!;
        return await DevToolsPage.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!));
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex(@"DevTools listening on (?<url>ws://\S+)")]
    private static partial Regex DevToolsListening();
}

/// <summary>One tab over CDP: commands with their replies matched by id, and the events seen so far.</summary>
public sealed class DevToolsPage : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly List<(string Method, JsonElement Params)> _events = [];
    private readonly List<(string Method, TaskCompletionSource<JsonElement> Seen)> _awaited = [];
    private readonly CancellationTokenSource _closing = new();
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    private DevToolsPage()
    {
    }

    public static async Task<DevToolsPage> ConnectAsync(Uri webSocket)
    {
        var page = new DevToolsPage();
        page._socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await page._socket.ConnectAsync(webSocket, CancellationToken.None);
        page._receiving = Task.Run(page.ReceiveAsync);
        return page;
    }

    public async Task<JsonElement> SendAsync(string method, object? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        try
        {
            return await reply.Task.WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No reply to {method} within {CommandTimeout}.");
        }
    }

    /// <summary>A task for the next <paramref name="method"/> event from now on; call before the command that causes it.</summary>
    public Task<JsonElement> NextEvent(string method)
    {
        var seen = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_events)
        {
            _awaited.Add((method, seen));
        }

        return seen.Task;
    }

    /// <summary>The parameters of every <paramref name="method"/> event received so far.</summary>
    public IReadOnlyList<JsonElement> Events(string method)
    {
        lock (_events)
        {
            return _events.Where(e => e.Method == method).Select(e => e.Params).ToList();
        }
    }

    /// <summary>Evaluates a JavaScript expression in the page (awaiting a promise) and returns its value.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var reply = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
        if (reply.TryGetProperty("exceptionDetails", out var exception))
        {
            throw new InvalidOperationException($"The page threw evaluating {expression}: {exception}");
        }

        return reply.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>Waits, inside the page, until <paramref name="condition"/> (a JavaScript expression) is truthy and returns
    /// its value: checked now and after every DOM change, so no polling interval; fails after <paramref name="timeout"/>.</summary>
    public Task<JsonElement> WaitForAsync(string condition, TimeSpan timeout)
    {
        var ms = (int)timeout.TotalMilliseconds;
        return EvaluateAsync(
            $$"""
              new Promise((resolve, reject) => {
                const check = () => (() => ({{condition}}))();
                const first = check();
                if (first) { resolve(first); return; }
                const observer = new MutationObserver(() => {
                  const value = check();
                  if (value) { observer.disconnect(); clearTimeout(timer); resolve(value); }
                });
                const timer = setTimeout(() => {
                  observer.disconnect();
                  reject(new Error("not true within {{ms}} ms: " + {{JsonSerializer.Serialize(condition)}}));
                }, {{ms}});
                observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
              })
              """);
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                var chunk = await _socket.ReceiveAsync(buffer, _closing.Token);
                if (chunk.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, chunk.Count);
                if (!chunk.EndOfMessage)
                {
                    continue;
                }

                Dispatch(JsonDocument.Parse(message.ToArray()).RootElement);
                message.SetLength(0);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            foreach (var reply in _pending.Values)
            {
                reply.TrySetException(new InvalidOperationException("The DevTools connection closed."));
            }
        }
    }

    private void Dispatch(JsonElement message)
    {
        if (message.TryGetProperty("id", out var id))
        {
            if (_pending.TryRemove(id.GetInt32(), out var reply))
            {
                if (message.TryGetProperty("error", out var error))
                {
                    reply.TrySetException(new InvalidOperationException($"DevTools error: {error}"));
                }
                else
                {
                    reply.TrySetResult(message.GetProperty("result").Clone());
                }
            }

            return;
        }

        var method = message.GetProperty("method").GetString()!;
        var parameters = message.TryGetProperty("params", out var p) ? p.Clone() : default;
        lock (_events)
        {
            _events.Add((method, parameters));
            foreach (var waiter in _awaited.Where(a => a.Method == method).ToList())
            {
                _awaited.Remove(waiter);
                waiter.Seen.TrySetResult(parameters);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        await _receiving;
        _socket.Dispose();
        _closing.Dispose();
    }
}
