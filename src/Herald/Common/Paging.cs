namespace Herald.Common;

/// <summary>A page of a list: <c>{items, total, page, limit}</c>.</summary>
public sealed record Paged<T>(IReadOnlyList<T> Items, long Total, int Page, int Limit);

/// <summary>Paging query parameters shared by every list endpoint: page from 1, limit 1..1000 (default 50).</summary>
public readonly record struct PageRequest(int Page, int Limit)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    public int Skip => (Page - 1) * Limit;

    public static PageRequest From(int? page, int? limit) =>
        new(Math.Max(1, page ?? 1), Math.Clamp(limit ?? DefaultLimit, 1, MaxLimit));
}
