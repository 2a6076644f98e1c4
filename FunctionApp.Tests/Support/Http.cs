using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;

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
        if (contentType is not null) context.Request.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body ?? "");
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        return context.Request;
    }

    public static HttpRequest Json(object body) => Request("POST", JsonSerializer.Serialize(body));

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

    public static async Task<TestResponse> ExecuteAsync(Task<IActionResult> result) => await ExecuteAsync(await result);
}
