using System.Net.Sockets;
using System.Text;

namespace ServerlessInference.E2ETests.Support;

/// <summary>HTTP/1.1 written by hand over a socket, for what HttpClient will not send or hides: a body sent at once
/// behind its headers (as Python, Node and browsers send it) or only after <c>100 Continue</c> (curl), chunked bodies,
/// header values HttpClient refuses. The body is written while the answer is read, so an early answer is seen.</summary>
public static class RawHttp
{
    public sealed record Request(string Method, string Path, byte[] Body)
    {
        public IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

        /// <summary>Content-Length to send; null sends the body chunked (or no length at all for an empty body).</summary>
        public long? ContentLength { get; init; }

        public bool ExpectContinue { get; init; }
    }

    /// <summary>Sends the request and reads one answer. Null when the connection ended without a complete answer
    /// (the caller saw a reset).</summary>
    public static async Task<Answer?> SendAsync(int port, Request request, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", port, cancel.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);

        var head = new StringBuilder($"{request.Method} {request.Path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
        foreach (var (name, value) in request.Headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        var chunked = request.ContentLength is null && request.Body.Length > 0;
        if (chunked)
        {
            head.Append("Transfer-Encoding: chunked\r\n");
        }
        else if (request.ContentLength is { } length)
        {
            head.Append("Content-Length: ").Append(length).Append("\r\n");
        }

        if (request.ExpectContinue)
        {
            head.Append("Expect: 100-continue\r\n");
        }

        head.Append("\r\n");
        // Header values may carry any byte a hostile client sends; Latin-1 writes each char as one byte.
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), cancel.Token);

        var reader = new ResponseReader(stream);
        var answer = Task.Run(() => reader.ReadAsync(cancel.Token), cancel.Token);
        if (request.ExpectContinue)
        {
            // As curl: wait for 100 Continue (or a final answer), but send the body after a second regardless.
            var first = await Task.WhenAny(reader.Continued, answer, Task.Delay(TimeSpan.FromSeconds(1), cancel.Token));
            if (first == answer)
            {
                return await answer;
            }
        }

        try
        {
            await WriteBodyAsync(stream, request.Body, chunked, cancel.Token);
        }
        catch (IOException)
        {
            // The server closed while the body was going out; whether an answer arrived decides the outcome.
        }

        try
        {
            return await answer;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static async Task WriteBodyAsync(Stream stream, byte[] body, bool chunked, CancellationToken cancellationToken)
    {
        const int piece = 1 << 20;
        for (var offset = 0; offset < body.Length; offset += piece)
        {
            var count = Math.Min(piece, body.Length - offset);
            if (chunked)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"{count:x}\r\n"), cancellationToken);
            }

            await stream.WriteAsync(body.AsMemory(offset, count), cancellationToken);
            if (chunked)
            {
                await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
            }
        }

        if (chunked)
        {
            await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), cancellationToken);
        }
    }

    /// <summary>Reads answers off the stream: interim 1xx ones (signalled through <see cref="Continued"/>) and then
    /// the final one, whose body is framed by Content-Length, chunked encoding, or the end of the connection.</summary>
    private sealed class ResponseReader(Stream stream)
    {
        private readonly TaskCompletionSource _continued = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly byte[] _buffer = new byte[65536];
        private readonly MemoryStream _pending = new();

        public Task Continued => _continued.Task;

        public async Task<Answer?> ReadAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var headText = await ReadHeadAsync(cancellationToken);
                if (headText is null)
                {
                    return null;
                }

                var lines = headText.Split("\r\n");
                var status = int.Parse(lines[0].Split(' ')[1]);
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var line in lines.Skip(1))
                {
                    var colon = line.IndexOf(':');
                    if (colon > 0)
                    {
                        headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
                    }
                }

                if (status is >= 100 and < 200)
                {
                    _continued.TrySetResult();
                    continue;
                }

                byte[]? body;
                if (headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    body = await ReadChunkedAsync(cancellationToken);
                }
                else if (headers.TryGetValue("content-length", out var cl))
                {
                    body = await ReadExactlyAsync(int.Parse(cl), cancellationToken);
                }
                else
                {
                    body = await ReadToEndAsync(cancellationToken);
                }

                return body is null ? null : new Answer(status, headers, body);
            }
        }

        private Task<string?> ReadHeadAsync(CancellationToken cancellationToken) =>
            ReadUntilAsync("\r\n\r\n"u8.ToArray(), cancellationToken);

        private Task<string?> ReadLineAsync(CancellationToken cancellationToken) =>
            ReadUntilAsync("\r\n"u8.ToArray(), cancellationToken);

        /// <summary>The text before <paramref name="delimiter"/>, consuming both; null when the connection ends first.</summary>
        private async Task<string?> ReadUntilAsync(byte[] delimiter, CancellationToken cancellationToken)
        {
            while (true)
            {
                var data = _pending.ToArray();
                var end = data.AsSpan().IndexOf(delimiter);
                if (end >= 0)
                {
                    Consume(end + delimiter.Length);
                    return Encoding.Latin1.GetString(data, 0, end);
                }

                if (!await FillAsync(cancellationToken))
                {
                    return null;
                }
            }
        }

        private async Task<byte[]?> ReadChunkedAsync(CancellationToken cancellationToken)
        {
            var body = new MemoryStream();
            while (true)
            {
                var sizeLine = await ReadLineAsync(cancellationToken);
                if (sizeLine is null)
                {
                    return null;
                }

                var size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
                if (size == 0)
                {
                    await ReadLineAsync(cancellationToken); // the empty line after the last chunk (no trailers sent here)
                    return body.ToArray();
                }

                var chunk = await ReadExactlyAsync(size, cancellationToken);
                if (chunk is null || await ReadLineAsync(cancellationToken) is null)
                {
                    return null;
                }

                body.Write(chunk);
            }
        }

        private async Task<byte[]?> ReadExactlyAsync(int count, CancellationToken cancellationToken)
        {
            while (_pending.Length < count)
            {
                if (!await FillAsync(cancellationToken))
                {
                    return null;
                }
            }

            var data = _pending.ToArray();
            Consume(count);
            return data[..count];
        }

        private async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken)
        {
            while (await FillAsync(cancellationToken))
            {
            }

            var data = _pending.ToArray();
            Consume(data.Length);
            return data;
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(_buffer, cancellationToken);
            }
            catch (IOException)
            {
                return false;
            }

            if (read == 0)
            {
                return false;
            }

            _pending.Seek(0, SeekOrigin.End);
            _pending.Write(_buffer, 0, read);
            return true;
        }

        private void Consume(int count)
        {
            var rest = _pending.ToArray()[count..];
            _pending.SetLength(0);
            _pending.Write(rest);
        }
    }
}
