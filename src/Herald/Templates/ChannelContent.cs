namespace Herald.Templates;

/// <summary>
/// Message content per channel, as written by users (Liquid source). Shared by templates, campaign
/// content, variants and journey send steps. Stored as JSON.
/// </summary>
public sealed class ChannelContent
{
    public EmailContent? Email { get; set; }
    public SmsContent? Sms { get; set; }
    public WhatsAppContent? Whatsapp { get; set; }
    public PushContent? Push { get; set; }
    public WebhookContent? Webhook { get; set; }
}

public sealed class EmailContent
{
    public string? Subject { get; set; }
    public string? Html { get; set; }
    public string? Text { get; set; }
}

public sealed class SmsContent
{
    public string? Body { get; set; }
}

public sealed class WhatsAppContent
{
    public string? TemplateName { get; set; }
    public string? Language { get; set; }
    public List<string>? Parameters { get; set; }
    public MediaRef? Media { get; set; }
    /// <summary>Free-form text message (inside the 24 h service window) instead of a template.</summary>
    public string? Text { get; set; }
}

public sealed class MediaRef
{
    public string? Url { get; set; }
    /// <summary>image | video | document.</summary>
    public string? Type { get; set; }
}

public sealed class PushContent
{
    public string? Title { get; set; }
    public string? Body { get; set; }
    public string? Url { get; set; }
    public string? Icon { get; set; }
}

public sealed class WebhookContent
{
    public string? Url { get; set; }
    /// <summary>JSON body (Liquid allowed inside string values).</summary>
    public string? Body { get; set; }
}
