using System.Diagnostics;
using System.Net;
using System.Text;

namespace ServerlessInference.E2ETests.Support;

/// <summary>One Functions host process serving the published app on a free loopback port, with function keys
/// pre-seeded and its console log kept (time-stamped lines) for the tests that read it.</summary>
public sealed class FunctionsHost : IAsyncDisposable
{
    private readonly List<(DateTimeOffset At, string Line)> _log = [];
    private readonly string _state = Path.Combine(Path.GetTempPath(), "si-e2e-host-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _process;

    private FunctionsHost(int port)
    {
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(3) };
    }

    public int Port { get; }
    public HttpClient Client { get; }
    public string FunctionKey { get; } = "e2e-function-" + Guid.NewGuid().ToString("N");
    public string MasterKey { get; } = "e2e-master-" + Guid.NewGuid().ToString("N");

    /// <summary>Starts the host and waits until <c>GET /api/health</c> answers 200.</summary>
    /// <param name="settings">App settings (environment variables; <c>__</c> separates sections).</param>
    public static async Task<FunctionsHost> StartAsync(string appDirectory, IReadOnlyDictionary<string, string> settings)
    {
        var launcher = FunctionsHostLocator.Launcher
                       ?? throw new InvalidOperationException(FunctionsHostLocator.Reason);
        var host = new FunctionsHost(LoopbackPorts.Free(1)[0]);
        try
        {
            await host.LaunchAsync(launcher, appDirectory, settings);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private async Task LaunchAsync(FunctionsHostLauncher launcher, string appDirectory, IReadOnlyDictionary<string, string> settings)
    {
        var secrets = Path.Combine(_state, "secrets");
        Directory.CreateDirectory(secrets);
        // The host reads its keys file as UTF-8 with a BOM; writing it first fixes the keys the tests send.
        await File.WriteAllTextAsync(Path.Combine(secrets, "host.json"),
            $$"""
              {"masterKey": {"name": "master", "value": "{{MasterKey}}", "encrypted": false},
               "functionKeys": [{"name": "default", "value": "{{FunctionKey}}", "encrypted": false}],
               "systemKeys": []}
              """, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var start = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (launcher.IsCoreTools)
        {
            // What users run: `func start` in the publish folder; --enableAuth makes it check keys as Azure does.
            start.FileName = launcher.FileName;
            start.WorkingDirectory = appDirectory;
            foreach (var arg in new[] { "start", "--port", Port.ToString(), "--enableAuth" })
            {
                start.ArgumentList.Add(arg);
            }
        }
        else
        {
            start.FileName = "bash";
            start.ArgumentList.Add(launcher.FileName);
            start.ArgumentList.Add(appDirectory);
        }

        start.Environment["FUNCTIONS_HOST_PORT"] = Port.ToString();
        start.Environment["FUNCTIONS_HOST_STATE_DIR"] = _state;
        start.Environment["FUNCTIONS_SECRETS_PATH"] = secrets;
        start.Environment["AzureWebJobsSecretStorageType"] = "files";
        start.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitUntilHealthyAsync(TimeSpan.FromSeconds(120));
    }

    private async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"The Functions host exited with {_process.ExitCode}:\n{LogTail(80)}");
            }

            try
            {
                using var response = await Client.GetAsync("api/health");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The Functions host did not answer /api/health within {timeout}:\n{LogTail(80)}");
            }

            await Task.Delay(250); // polling a host that is still starting
        }
    }

    public bool HasExited => _process?.HasExited ?? true;

    /// <summary>Console lines written from <paramref name="since"/> on.</summary>
    public IReadOnlyList<string> LogSince(DateTimeOffset since)
    {
        lock (_log)
        {
            return _log.Where(l => l.At >= since).Select(l => l.Line).ToList();
        }
    }

    public string LogTail(int lines)
    {
        lock (_log)
        {
            return string.Join('\n', _log.Skip(Math.Max(0, _log.Count - lines)).Select(l => l.Line));
        }
    }

    public HttpRequestMessage Request(HttpMethod method, string path, object? json = null, bool withKey = true)
    {
        var request = new HttpRequestMessage(method, path);
        if (withKey)
        {
            request.Headers.Add("x-functions-key", FunctionKey);
        }

        if (json is not null)
        {
            request.Content = JsonContent(json);
        }

        return request;
    }

    public static StringContent JsonContent(object json) =>
        new(System.Text.Json.JsonSerializer.Serialize(json), Encoding.UTF8, "application/json");

    public async Task<Answer> SendAsync(HttpMethod method, string path, object? json = null, bool withKey = true)
    {
        using var request = Request(method, path, json, withKey);
        return await SendAsync(request);
    }

    public async Task<Answer> SendAsync(HttpRequestMessage request)
    {
        using var response = await Client.SendAsync(request);
        return await Answer.ReadAsync(response);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        Client.Dispose();
        try
        {
            Directory.Delete(_state, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Add((DateTimeOffset.UtcNow, line));
        }
    }
}
