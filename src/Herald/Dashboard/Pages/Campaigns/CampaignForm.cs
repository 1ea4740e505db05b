using System.Globalization;
using System.Text.Json;
using Herald.Audience;
using Herald.Campaigns;
using Herald.Channels;
using Herald.Common;
using Herald.Dashboard.Pages.Segments;
using Herald.Scheduling;
using Herald.Templates;

namespace Herald.Dashboard.Pages.Campaigns;

/// <summary>An A/B variant as the wizard edits it: a name, a share and (for email/SMS) the text it changes.</summary>
public sealed class VariantForm
{
    public string Name { get; set; } = "";
    public int Weight { get; set; } = 50;
    public string? Subject { get; set; }
    public string? Body { get; set; }
}

/// <summary>
/// The campaign wizard's state: plain fields the inputs bind to, turned into the API's <see cref="CampaignInput"/>
/// (the service validates it; the wizard only shapes it). One channel per campaign in the wizard.
/// </summary>
public sealed class CampaignForm
{
    public string Name { get; set; } = "";
    public string Channel { get; set; } = ChannelNames.Email;
    public bool UseTemplate { get; set; }
    public long? TemplateId { get; set; }
    public string? EmailSubject { get; set; }
    public string? EmailHtml { get; set; }
    public string? EmailText { get; set; }
    public string? SmsBody { get; set; }
    public string? WhatsappTemplateName { get; set; }
    public string WhatsappLanguage { get; set; } = "en";
    public string? WhatsappParameters { get; set; }
    public string? WhatsappText { get; set; }
    public string? PushTitle { get; set; }
    public string? PushBody { get; set; }
    public string? PushUrl { get; set; }
    public string? WebhookUrl { get; set; }
    public string? WebhookBody { get; set; }

    public HashSet<long> SegmentIds { get; set; } = [];
    public HashSet<long> ExcludeSegmentIds { get; set; } = [];
    public bool Everyone { get; set; }
    public FilterGroup Filter { get; set; } = new();
    /// <summary>Stored audience parts the wizard does not edit (lists, contact ids), kept as they were.</summary>
    public List<long>? ListIds { get; set; }
    public List<long>? ContactIds { get; set; }

    public string ScheduleType { get; set; } = "once";
    /// <summary>Wall time in <see cref="Timezone"/>, as a datetime-local input gives it (yyyy-MM-ddTHH:mm[:ss]).</summary>
    public string? At { get; set; }
    public string Timezone { get; set; } = "UTC";
    public string Frequency { get; set; } = "weekly";
    public int Interval { get; set; } = 1;
    public string? StartAt { get; set; }
    public string? EndAt { get; set; }
    public int? MaxOccurrences { get; set; }
    public string CronExpression { get; set; } = "0 9 * * MON-FRI";

    public bool UseWindow { get; set; }
    public HashSet<string> WindowDays { get; set; } = ["mon", "tue", "wed", "thu", "fri"];
    public string WindowStart { get; set; } = "09:00";
    public string WindowEnd { get; set; } = "18:00";
    public string WindowTimezone { get; set; } = SendWindowDefinition.Recipient;

    public bool AbTest { get; set; }
    public List<VariantForm> Variants { get; set; } = [new() { Name = "A" }, new() { Name = "B" }];
    public int? PerSecond { get; set; }
    public int? PerMinute { get; set; }
    public bool TestMode { get; set; }

    public static readonly string[] Days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    public AudienceDefinition Audience() => new()
    {
        SegmentIds = SegmentIds.Count > 0 ? [.. SegmentIds] : null,
        ExcludeSegmentIds = ExcludeSegmentIds.Count > 0 ? [.. ExcludeSegmentIds] : null,
        All = Everyone ? true : null,
        Filter = FilterModel.ToJson(Filter),
        ListIds = ListIds,
        ContactIds = ContactIds,
    };

    public ScheduleDefinition Schedule() => ScheduleType switch
    {
        "now" => new ScheduleDefinition { Type = "now" },
        "recurring" => new ScheduleDefinition
        {
            Type = "recurring", Frequency = Frequency, Interval = Interval, StartAt = Blank(StartAt), Timezone = Timezone,
            EndAt = Blank(EndAt), MaxOccurrences = MaxOccurrences,
        },
        "cron" => new ScheduleDefinition { Type = "cron", Expression = CronExpression, Timezone = Timezone, EndAt = Blank(EndAt), MaxOccurrences = MaxOccurrences },
        _ => new ScheduleDefinition { Type = "once", At = Blank(At), Timezone = Timezone },
    };

    public ChannelContent Content()
    {
        if (UseTemplate) return new ChannelContent();
        return Channel switch
        {
            ChannelNames.Email => new ChannelContent { Email = new EmailContent { Subject = EmailSubject, Html = Blank(EmailHtml), Text = Blank(EmailText) } },
            ChannelNames.Sms => new ChannelContent { Sms = new SmsContent { Body = SmsBody } },
            ChannelNames.WhatsApp => new ChannelContent
            {
                Whatsapp = new WhatsAppContent
                {
                    TemplateName = Blank(WhatsappTemplateName), Language = WhatsappLanguage, Text = Blank(WhatsappText),
                    Parameters = string.IsNullOrWhiteSpace(WhatsappParameters) ? null
                        : [.. WhatsappParameters.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                },
            },
            ChannelNames.Push => new ChannelContent { Push = new PushContent { Title = PushTitle, Body = PushBody, Url = Blank(PushUrl) } },
            _ => new ChannelContent { Webhook = new WebhookContent { Url = WebhookUrl, Body = Blank(WebhookBody) } },
        };
    }

    public CampaignInput ToInput() => new()
    {
        Name = Name,
        Channel = Channel,
        Content = Content(),
        TemplateId = UseTemplate ? TemplateId : null,
        Audience = Audience(),
        Schedule = Schedule(),
        SendWindow = UseWindow
            ? new SendWindowDefinition { Days = [.. Days.Where(WindowDays.Contains)], Start = WindowStart, End = WindowEnd, Timezone = WindowTimezone }
            : null,
        Variants = AbTest ? Variants.Select(VariantInput).ToList() : [],
        RateLimit = new RateLimitInput { PerSecond = PerSecond, PerMinute = PerMinute },
        TestMode = TestMode,
    };

    private VariantInput VariantInput(VariantForm v) => new()
    {
        Name = v.Name,
        Weight = v.Weight,
        Content = Channel switch
        {
            ChannelNames.Email when !string.IsNullOrWhiteSpace(v.Subject) || !string.IsNullOrWhiteSpace(v.Body) =>
                new ChannelContent { Email = new EmailContent { Subject = Blank(v.Subject) ?? EmailSubject, Html = Blank(v.Body) ?? Blank(EmailHtml), Text = Blank(EmailText) } },
            ChannelNames.Sms when !string.IsNullOrWhiteSpace(v.Body) => new ChannelContent { Sms = new SmsContent { Body = v.Body } },
            _ => new ChannelContent(),
        },
    };

    /// <summary>The form for an existing campaign (its stored JSON read back).</summary>
    public static CampaignForm From(CampaignDto c, string defaultZone)
    {
        var content = c.Content.Deserialize<ChannelContent>(HeraldJson.Options) ?? new ChannelContent();
        var audience = c.Audience.Deserialize<AudienceDefinition>(HeraldJson.Options) ?? new AudienceDefinition();
        var schedule = CampaignText.Schedule(c.Schedule) ?? new ScheduleDefinition { Type = "now" };
        var window = c.SendWindow is { ValueKind: JsonValueKind.Object } w ? w.Deserialize<SendWindowDefinition>(HeraldJson.Options) : null;
        var variants = c.Variants is { ValueKind: JsonValueKind.Array } va ? va.Deserialize<List<Variant>>(HeraldJson.Options) : null;
        var f = new CampaignForm
        {
            Name = c.Name, Channel = c.Channel, TemplateId = c.TemplateId is { } t ? long.Parse(t, CultureInfo.InvariantCulture) : null,
            EmailSubject = content.Email?.Subject, EmailHtml = content.Email?.Html, EmailText = content.Email?.Text,
            SmsBody = content.Sms?.Body, WhatsappTemplateName = content.Whatsapp?.TemplateName, WhatsappLanguage = content.Whatsapp?.Language ?? "en",
            WhatsappParameters = content.Whatsapp?.Parameters is { } p ? string.Join("\n", p) : null, WhatsappText = content.Whatsapp?.Text,
            PushTitle = content.Push?.Title, PushBody = content.Push?.Body, PushUrl = content.Push?.Url,
            WebhookUrl = content.Webhook?.Url, WebhookBody = content.Webhook?.Body,
            SegmentIds = [.. audience.SegmentIds ?? []], ExcludeSegmentIds = [.. audience.ExcludeSegmentIds ?? []], Everyone = audience.All == true,
            Filter = audience.Filter is { ValueKind: JsonValueKind.Object } fe ? FilterModel.FromJson(fe) ?? new FilterGroup() : new FilterGroup(),
            ListIds = audience.ListIds, ContactIds = audience.ContactIds,
            ScheduleType = schedule.Type ?? "now", At = schedule.At, Timezone = schedule.Timezone ?? defaultZone,
            Frequency = schedule.Frequency ?? "weekly", Interval = schedule.Interval ?? 1, StartAt = schedule.StartAt, EndAt = schedule.EndAt,
            MaxOccurrences = schedule.MaxOccurrences, CronExpression = schedule.Expression ?? "0 9 * * MON-FRI",
            PerSecond = c.RateLimit?.PerSecond, PerMinute = c.RateLimit?.PerMinute, TestMode = c.TestMode,
        };
        f.UseTemplate = f.TemplateId is not null;
        if (window is not null)
        {
            f.UseWindow = true;
            f.WindowDays = window.Days is { Count: > 0 } d ? [.. d.Select(x => x.Trim().ToLowerInvariant()[..3])] : [.. Days];
            f.WindowStart = window.Start ?? "09:00";
            f.WindowEnd = window.End ?? "18:00";
            f.WindowTimezone = window.Timezone ?? SendWindowDefinition.Recipient;
        }
        if (variants is { Count: > 0 })
        {
            f.AbTest = true;
            f.Variants = variants.Select(v => new VariantForm
            {
                Name = v.Name, Weight = v.Weight, Subject = v.Content.Email?.Subject, Body = v.Content.Email?.Html ?? v.Content.Sms?.Body,
            }).ToList();
        }
        return f;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
