using Herald.Common;
using Herald.Contacts;
using Herald.Templates;

namespace Herald.Tests.Templates;

public sealed class FluidMessageRendererTests
{
    private readonly FluidMessageRenderer _renderer = new();

    private static Contact Asha() => new()
    {
        Id = 7, FirstName = "Asha", LastName = "Rao", Email = "asha@example.com", Phone = "+919876543210", City = "Pune",
        Attributes = """{"plan":"gold","visits":3,"address":{"pin":"411001"}}""",
    };

    private string Sms(string body, Contact? contact = null, IReadOnlyDictionary<string, object?>? data = null) =>
        _renderer.Compile("sms", new ChannelContent { Sms = new SmsContent { Body = body } })
            .Render(new RenderScope(contact ?? Asha(), "Acme Stores", 12, "Diwali Sale", "https://h.test/u/abc", Data: data)).Body!;

    [Theory]
    [InlineData("Hi {{ contact.firstName }} from {{ workspace.name }}", "Hi Asha from Acme Stores")]
    [InlineData("{{ contact.attributes.plan }} / {{ contact.attributes.address.pin }} / {{ contact.attributes.visits | plus: 1 }}", "gold / 411001 / 4")]
    [InlineData("{{ campaign.name }} #{{ campaign.id }} {{ unsubscribeUrl }}", "Diwali Sale #12 https://h.test/u/abc")]
    [InlineData("{{name}}|{{firstName}}|{{phone}}|{{email}}|{{customerName}}|{{companyName}}", "Asha Rao|Asha|+919876543210|asha@example.com|Asha Rao|Acme Stores")]
    [InlineData("Hello {name}, {firstName}!", "Hello Asha Rao, Asha!")]
    [InlineData("{{ contact.name }} in {{ contact.city }}", "Asha Rao in Pune")]
    public void Render_VariablesAndAliases_MeanTheSame(string body, string expected) => Assert.Equal(expected, Sms(body));

    [Theory]
    [InlineData("Hi {{ contact.attributes.nickname | default: \"there\" }}", "Hi there")]
    [InlineData("[{{ contact.attributes.missing }}][{{ nothing.at.all }}][{{ contact.region }}]", "[][][]")]
    [InlineData("{{ firstName | default: \"friend\" }}", "friend")]
    public void Render_MissingVariable_RendersDefaultOrEmptyNeverNull(string body, string expected)
    {
        var blank = new Contact { Email = "x@example.com" };
        var text = Sms(body, blank);
        Assert.Equal(expected, text);
        Assert.DoesNotContain("null", text);
    }

    [Fact]
    public void Render_CssAndJsonBraces_AreLeftAlone()
    {
        var html = _renderer.Compile("email", new ChannelContent { Email = new EmailContent { Subject = "Hi {name}", Html = "<style>p {color:red}</style><p>{name} &amp; {{ contact.city }}</p>" } })
            .Render(new RenderScope(Asha(), "Acme", UnsubscribeUrl: "u"));
        Assert.Equal("Hi Asha Rao", html.Subject);
        Assert.Equal("<style>p {color:red}</style><p>Asha Rao &amp; Pune</p>", html.Html);
    }

    [Fact]
    public void Render_WhatsAppPositional_RefersToRenderedParameters()
    {
        var m = _renderer.Compile("whatsapp", new ChannelContent
        {
            Whatsapp = new WhatsAppContent { TemplateName = "vip_sale", Language = "en", Parameters = ["{{ contact.firstName }}", "70% OFF"], Text = "Hi {{1}}, {{ 2 }} today" },
        }).Render(new RenderScope(Asha(), "Acme"));
        Assert.Equal(new[] { "Asha", "70% OFF" }, m.Parameters);
        Assert.Equal("Hi Asha, 70% OFF today", m.Body);
        Assert.Equal("vip_sale", m.TemplateName);
    }

    [Fact]
    public void Render_EmailHtml_EncodesValuesButKeepsUnicode()
    {
        var c = Asha();
        c.FirstName = "<b>Zoë</b>";
        var m = _renderer.Compile("email", new ChannelContent { Email = new EmailContent { Subject = "{{ contact.firstName }}", Html = "<p>{{ contact.firstName }}</p>" } })
            .Render(new RenderScope(c, "Acme"));
        Assert.Equal("<b>Zoë</b>", m.Subject);
        Assert.Equal("<p>&lt;b&gt;Zoë&lt;/b&gt;</p>", m.Html);
    }

    [Fact]
    public void Compile_SyntaxError_NamesFieldLineAndColumn()
    {
        var e = Assert.Throws<ValidationFailedException>(() => _renderer.Compile("email", new ChannelContent
        {
            Email = new EmailContent { Subject = "ok", Html = "<p>line one</p>\n<p>{% if contact.firstName %}unclosed</p>" },
        }));
        var message = Assert.Single(e.Errors["email.html"]);
        Assert.Matches(@"line 2, column \d+", message);
    }

    [Fact]
    public void Compile_MissingChannelContent_IsAValidationError()
    {
        var e = Assert.Throws<ValidationFailedException>(() => _renderer.Compile("sms", new ChannelContent { Email = new EmailContent { Subject = "x" } }));
        Assert.Contains("sms", e.Errors.Keys);
    }

    [Fact]
    public void Compile_SameContentTwice_ReusesTheParsedTemplateAndRendersConcurrently()
    {
        var content = new ChannelContent { Sms = new SmsContent { Body = "Hi {{ contact.firstName }} #{{ contact.id }}" } };
        var compiled = _renderer.Compile("sms", content);
        var results = Enumerable.Range(1, 2000).AsParallel().Select(i =>
        {
            var c = new Contact { Id = i, FirstName = "N" + i };
            return (i, compiled.Render(new RenderScope(c, "Acme")).Body);
        }).ToList();
        Assert.All(results, r => Assert.Equal($"Hi N{r.i} #{r.i}", r.Body));
    }

    [Fact]
    public void Render_PreviewData_FillsTopLevelAndDataValues()
    {
        var text = Sms("{{ firstName }} bought {{ data.product }} for {{ price }}", new Contact(),
            new Dictionary<string, object?> { ["firstName"] = "Ravi", ["product"] = "tea", ["price"] = 120 });
        Assert.Equal("Ravi bought tea for 120", text);
    }
}
