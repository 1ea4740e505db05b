using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace Herald.Common;

/// <summary>
/// Turns every failure into RFC 7807 problem+json: validation (400 with <c>errors</c>), malformed
/// JSON (400 naming the JSON path), oversize bodies (413), not found (404), conflicts (409).
/// Unexpected exceptions answer 500 without a stack trace.
/// </summary>
internal sealed class HeraldExceptionHandler(IProblemDetailsService problems, ILogger<HeraldExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        ProblemDetails problem = exception switch
        {
            ValidationFailedException v => new HttpValidationProblemDetails(v.Errors)
            {
                Status = 400, Title = "The request is invalid.", Detail = DescribeErrors(v.Errors),
            },
            BadHttpRequestException { StatusCode: 413 } => new ProblemDetails
            {
                Status = 413, Title = "Request body too large.", Detail = "The request body exceeds the size this endpoint accepts.",
            },
            BadHttpRequestException b when FindJsonException(b) is { } j => JsonProblem(j),
            BadHttpRequestException b => new ProblemDetails { Status = b.StatusCode, Title = "Bad request.", Detail = b.Message },
            JsonException j => JsonProblem(j),
            NotFoundException nf => new ProblemDetails { Status = 404, Title = "Not found.", Detail = nf.Message },
            ConflictException c => Conflict(c),
            ForbiddenException f => new ProblemDetails { Status = 403, Title = "Forbidden.", Detail = f.Message },
            OperationCanceledException when http.RequestAborted.IsCancellationRequested => new ProblemDetails { Status = 499, Title = "Client closed request." },
            _ => new ProblemDetails { Status = 500, Title = "An unexpected error occurred.", Detail = "The error was logged; nothing was changed by the failed step." },
        };
        if (problem.Status == 500) log.LogError(exception, "Unhandled exception for {Method} {Path}", http.Request.Method, http.Request.Path);
        http.Response.StatusCode = problem.Status ?? 500;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    private static ProblemDetails Conflict(ConflictException c)
    {
        var p = new ProblemDetails { Status = 409, Title = "Conflict.", Detail = c.Message };
        if (c.CurrentState is not null) p.Extensions["currentState"] = c.CurrentState;
        return p;
    }

    private static string DescribeErrors(IDictionary<string, string[]> errors) =>
        string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));

    private static JsonException? FindJsonException(Exception e)
    {
        for (var x = e.InnerException; x is not null; x = x.InnerException)
            if (x is JsonException j) return j;
        return null;
    }

    private static HttpValidationProblemDetails JsonProblem(JsonException j)
    {
        var path = string.IsNullOrEmpty(j.Path) ? "$" : j.Path;
        var field = path.StartsWith("$.") ? path[2..] : path;
        var message = j.Message.Split(" Path:")[0];
        return new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = 400, Title = "The request body is not valid JSON for this endpoint.", Detail = $"{path}: {message}",
        };
    }
}

/// <summary>
/// Enforces the per-endpoint body size limit (default <see cref="Hosting.HeraldOptions.MaxJsonBodyBytes"/>,
/// raised by <see cref="BodySizeLimitAttribute"/>), answering 413 before the body is read.
/// </summary>
internal sealed class BodySizeLimitMiddleware(RequestDelegate next, Microsoft.Extensions.Options.IOptions<Hosting.HeraldOptions> options)
{
    public Task InvokeAsync(HttpContext http)
    {
        var limit = http.GetEndpoint()?.Metadata.GetMetadata<BodySizeLimitAttribute>()?.Bytes ?? options.Value.MaxJsonBodyBytes;
        if (http.Request.ContentLength > limit)
            throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
        var feature = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false }) feature.MaxRequestBodySize = limit;
        return next(http);
    }
}

/// <summary>Raises (or lowers) the body size an endpoint accepts.</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class)]
public sealed class BodySizeLimitAttribute(long bytes) : Attribute
{
    public long Bytes { get; } = bytes;
}
