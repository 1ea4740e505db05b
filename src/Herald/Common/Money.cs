namespace Herald.Common;

/// <summary>Bounds of money amounts taken from clients.</summary>
public static class Money
{
    /// <summary>
    /// Largest amount of one order or conversion. Amounts are stored as numeric(18, 2) and summed into
    /// per-contact and per-campaign totals of the same type (max 10^16), so one amount stays far below
    /// that: a trillion leaves room for ten thousand of them in one total.
    /// </summary>
    public const decimal MaxAmount = 1_000_000_000_000m;

    public const string TooLarge = "At most 1,000,000,000,000.";
}
