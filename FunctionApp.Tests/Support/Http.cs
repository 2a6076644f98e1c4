using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging.Abstractions;
using ServerlessInference.Functions;

namespace ServerlessInference.Tests.Support;

public sealed record TestResponse(int Status, string? ContentType, IHeaderDictionary Headers, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>Asserts the status and shows the body when it differs (it carries the problem detail).</summary>
    public TestResponse ShouldBe(int status)
    {
        Xunit.Assert.True(status == Status, $"expected {status}, got {Status}: {Body}");
        return this;
    }
}

public static class Http
{
    public static HttpRequest Request(string method, string? body = null, string? contentType = "application/json")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        if (contentType is not null)
        {
            context.Request.ContentType = contentType;
        }

        var bytes = Encoding.UTF8.GetBytes(body ?? "");
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        return context.Request;
    }

    public static HttpRequest Json(object body) => Request("POST", JsonSerializer.Serialize(body));

    /// <summary>A POST with raw body bytes; without <paramref name="contentLength"/> it is sent the way a chunked
    /// request arrives (no Content-Length).</summary>
    public static HttpRequest Raw(byte[] body, string? contentType = "application/json", bool contentLength = true) =>
        Raw(new MemoryStream(body), contentType, contentLength ? body.Length : null);

    public static HttpRequest Raw(Stream body, string? contentType, long? contentLength)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        if (contentType is not null)
        {
            context.Request.ContentType = contentType;
        }

        context.Request.Body = body;
        context.Request.ContentLength = contentLength;
        return context.Request;
    }

    /// <summary>Executes the result the way the ASP.NET Core integration does and captures the response.</summary>
    public static async Task<TestResponse> ExecuteAsync(IActionResult result)
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        return new TestResponse(context.Response.StatusCode, context.Response.ContentType, context.Response.Headers,
            Encoding.UTF8.GetString(body.ToArray()));
    }

    /// <summary>Runs a function's result, or maps what it threw exactly as <see cref="ProblemDetailsMiddleware"/>
    /// does in the worker, then executes it.</summary>
    public static async Task<TestResponse> ExecuteAsync(Task<IActionResult> invocation)
    {
        IActionResult result;
        try
        {
            result = await invocation;
        }
        catch (Exception ex)
        {
            result = ApiResults.FromException(ex, StorageRetryAfter, NullLogger.Instance);
        }
        return await ExecuteAsync(result);
    }

    /// <summary>Models__RetryAfterSeconds' default, which the middleware sends with storage 503s.</summary>
    public static readonly TimeSpan StorageRetryAfter = TimeSpan.FromSeconds(10);
}

/// <summary>A request body whose first read fails the way a server fails it (client gone, body over a limit).</summary>
public sealed class ThrowingStream(Exception exception) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => 0; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw exception;
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw exception;
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => throw exception;
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
