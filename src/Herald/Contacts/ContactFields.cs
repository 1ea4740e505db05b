using System.Net.Mail;
using System.Text.RegularExpressions;
using PhoneNumbers;

namespace Herald.Contacts;

/// <summary>Normalization and validation of contact fields, shared by the API, bulk upserts and imports.</summary>
public static partial class ContactFields
{
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    [GeneratedRegex(@"^[^@\s""(),:;<>\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$")]
    private static partial Regex EmailShape();

    /// <summary>Lower-cased trimmed address, or null with a reason.</summary>
    public static string? NormalizeEmail(string? raw, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(raw)) return null;
        var s = raw.Trim().ToLowerInvariant();
        if (s.Length > 320 || !EmailShape().IsMatch(s) || !MailAddress.TryCreate(s, out _))
        {
            error = $"'{raw}' is not a valid email address.";
            return null;
        }
        return s;
    }

    /// <summary>E.164 form (e.g. +919876543210), read in <paramref name="defaultRegion"/> when it has no country code.</summary>
    public static string? NormalizePhone(string? raw, string defaultRegion, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(raw)) return null;
        try
        {
            var trimmed = raw.Trim();
            if (trimmed.StartsWith("00", StringComparison.Ordinal)) trimmed = "+" + trimmed[2..];
            var number = Phones.Parse(trimmed, string.IsNullOrEmpty(defaultRegion) ? "US" : defaultRegion.ToUpperInvariant());
            if (!Phones.IsValidNumber(number))
            {
                error = $"'{raw}' is not a valid phone number.";
                return null;
            }
            return Phones.Format(number, PhoneNumberFormat.E164);
        }
        catch (NumberParseException)
        {
            error = $"'{raw}' is not a valid phone number.";
            return null;
        }
    }

    public static bool IsValidTimezone(string? tz) => tz is not null && TimeZoneInfo.TryFindSystemTimeZoneById(tz, out _);

    public static bool IsValidRegion(string? region) =>
        region is { Length: 2 } && Phones.GetSupportedRegions().Contains(region.ToUpperInvariant());

    /// <summary>Tags are trimmed, lower-cased, de-duplicated; at most 100 of 64 characters each.</summary>
    public static List<string> NormalizeTags(IEnumerable<string?>? tags) =>
        tags?.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t!.Trim().ToLowerInvariant()).Distinct().ToList() ?? [];
}
