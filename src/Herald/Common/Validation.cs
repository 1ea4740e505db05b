namespace Herald.Common;

/// <summary>Collects validation messages per field (JSON path, camelCase) for a problem+json answer.</summary>
public sealed class Validation
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public Validation Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
        return this;
    }

    public void Merge(string prefix, Validation other)
    {
        foreach (var (k, v) in other._errors)
            foreach (var m in v) Add(string.IsNullOrEmpty(prefix) ? k : $"{prefix}.{k}", m);
    }

    public IDictionary<string, string[]> ToDictionary() => _errors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    /// <summary>Throws <see cref="ValidationFailedException"/> when anything was added.</summary>
    public void ThrowIfInvalid()
    {
        if (!IsValid) throw new ValidationFailedException(this);
    }
}

/// <summary>Thrown by services for input a client must fix; answered as 400 problem+json with <c>errors</c>.</summary>
public sealed class ValidationFailedException(Validation validation) : Exception("Validation failed")
{
    public IDictionary<string, string[]> Errors { get; } = validation.ToDictionary();

    public static ValidationFailedException For(string field, string message) => new(new Validation().Add(field, message));
}

/// <summary>Thrown when the target does not exist in the caller's workspace; answered 404.</summary>
public sealed class NotFoundException(string what) : Exception($"{what} was not found.");

/// <summary>Thrown when the request conflicts with the current state; answered 409.</summary>
public sealed class ConflictException(string message, string? currentState = null) : Exception(message)
{
    public string? CurrentState { get; } = currentState;
}

/// <summary>Thrown when the caller is authenticated but not allowed; answered 403.</summary>
public sealed class ForbiddenException(string message) : Exception(message);
