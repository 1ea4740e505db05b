using Herald.Assets;
using Herald.Channels;

namespace Herald.Tests.Assets;

/// <summary>Which messages get the campaign's media when their content names none.</summary>
public sealed class CampaignMediaTests
{
    private static readonly CampaignMedia Image = new(null, "https://cdn.example/p.jpg", "image", WhatsAppHeaderType: null);

    [Fact]
    public void ApplyTo_PushWithoutImage_GetsTheMediaAsImage()
    {
        var m = Image.ApplyTo(ChannelNames.Push, new RenderedMessage { Title = "Sale" });
        Assert.Equal("https://cdn.example/p.jpg", m.MediaUrl);
    }

    [Fact]
    public void ApplyTo_ContentsOwnMedia_Wins()
    {
        var m = Image.ApplyTo(ChannelNames.WhatsApp, new RenderedMessage { TemplateName = "t", MediaUrl = "https://own.example/x.jpg", MediaType = "image" });
        Assert.Equal("https://own.example/x.jpg", m.MediaUrl);
    }

    [Theory]
    [InlineData(null, true)]      // not synced: the template was not checked, the media goes
    [InlineData("image", true)]
    [InlineData("none", false)]   // synced without a header: a header parameter would make Meta reject the message
    [InlineData("text", false)]
    [InlineData("video", false)]
    public void ApplyTo_WhatsAppTemplate_GetsTheMediaOnlyWhenItsHeaderTakesIt(string? header, bool expected)
    {
        var m = (Image with { WhatsAppHeaderType = header }).ApplyTo(ChannelNames.WhatsApp, new RenderedMessage { TemplateName = "seasonal_offer" });
        Assert.Equal(expected, m.MediaUrl is not null);
    }

    [Fact]
    public void ApplyTo_EmailAndSms_AreLeftAlone()
    {
        Assert.Null(Image.ApplyTo(ChannelNames.Email, new RenderedMessage { Subject = "x" }).MediaUrl);
        Assert.Null(Image.ApplyTo(ChannelNames.Sms, new RenderedMessage { Body = "x" }).MediaUrl);
    }
}
