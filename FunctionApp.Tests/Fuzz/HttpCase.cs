using Microsoft.AspNetCore.Http;

namespace ServerlessInference.Tests.Fuzz;

/// <summary>One generated request and the statuses the API may answer it with. A case whose expected statuses
/// include a 2xx is a valid request; every other case must be rejected with a 4xx.</summary>
internal sealed record HttpCase(string Class, string Description, byte[] Body, string? ContentType, int[] Expected)
{
    public string Method { get; init; } = "POST";

    /// <summary>False: no Content-Length, as with a chunked request.</summary>
    public bool SendsContentLength { get; init; } = true;

    /// <summary>A Content-Length header that does not match the body (a client announcing more than it sends).</summary>
    public long? DeclaredLength { get; init; }

    public string? Query { get; init; }

    /// <summary>GET /api/jobs/{jobId}: the route value.</summary>
    public string? JobId { get; init; }

    /// <summary>For a valid translate request: how many translations the answer must hold.</summary>
    public int? Translations { get; init; }

    public bool IsValid => Expected.Any(s => s is >= 200 and < 300);

    /// <summary>A request as Kestrel hands it over: a forward-only body that refuses synchronous reads.</summary>
    public HttpRequest ToRequest()
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = Method;
        if (ContentType is not null)
        {
            request.ContentType = ContentType;
        }

        request.Body = new ForwardOnlyStream(Body);
        request.ContentLength = DeclaredLength ?? (SendsContentLength ? Body.Length : null);
        if (Query is not null)
        {
            request.QueryString = new QueryString(Query);
        }

        return request;
    }

    public override string ToString()
    {
        var length = DeclaredLength is { } declared ? $"declared {declared}" : SendsContentLength ? "sent" : "none";
        var jobId = JobId is null ? "" : $" jobId {FuzzJson.Preview(JobId, 80)};";
        var contentType = ContentType is null ? "none" : FuzzJson.Preview(ContentType, 80);
        return $"[{Class}] {Description}:{jobId} {Method}, Content-Type {contentType}, " +
               $"Content-Length {length}, body {FuzzJson.Preview(Body)}";
    }
}

/// <summary>Kestrel's request body: not seekable, no Length, and synchronous reads are not allowed.</summary>
internal sealed class ForwardOnlyStream(byte[] data) : Stream
{
    private readonly MemoryStream _inner = new(data, writable: false);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new InvalidOperationException(
            "Synchronous operations are disallowed. Call ReadAsync or set AllowSynchronousIO to true instead.");

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(buffer, cancellationToken);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
