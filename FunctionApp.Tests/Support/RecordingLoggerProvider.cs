using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ServerlessInference.Tests.Support;

/// <summary>One log line as a provider receives it: category, message template's rendering, and every value of the
/// scopes active when it was written.</summary>
public sealed record LoggedLine(string Category, string Message, IReadOnlyDictionary<string, object?> Scope);

/// <summary>Keeps every line the app logs, with its scopes (as the JSON console formatter writes them).</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<LoggedLine> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<LoggedLine> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() { }

    private sealed class Logger(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            var scope = new Dictionary<string, object?>();
            owner._scopes.ForEachScope((value, values) =>
            {
                if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, item) in pairs)
                    {
                        values[key] = item;
                    }
                }
            }, scope);
            owner._lines.Enqueue(new LoggedLine(category, formatter(state, exception), scope));
        }
    }
}
