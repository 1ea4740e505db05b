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

    [Fact]
    public void Render_WholeContact_HasEveryFieldInOrder()
    {
        var c = Asha();
        c.Tags = ["vip", "b2b"];
        c.TotalOrders = 3;
        c.TotalSpent = 12.5m;
        c.CreatedAt = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var listed = Sms("{{ contact.size }}|{% for p in contact %}{{ p[0] }}={{ p[1] }};{% endfor %}|{{ contact.tags | join: ',' }}", c);
        Assert.Equal("22|id=7;externalId=;email=asha@example.com;phone=+919876543210;firstName=Asha;lastName=Rao;name=Asha Rao;fullName=Asha Rao;"
            + "locale=;timezone=;city=Pune;region=;country=;lifecycle=lead;tags=vipb2b;"
            + "attributes=;totalOrders=3;totalSpent=12.5;lastOrderAt=;engagementScore=0;rfmSegment=;createdAt=2025-01-02 03:04:05Z;|vip,b2b", listed);
        Assert.Equal("""
            {"id":"7","externalId":null,"email":"asha@example.com","phone":"\u002B919876543210","firstName":"Asha","lastName":"Rao","name":"Asha Rao","fullName":"Asha Rao","locale":null,"timezone":null,"city":"Pune","region":null,"country":null,"lifecycle":"lead","tags":["vip","b2b"],"attributes":{"plan":"gold","visits":3,"address":{"pin":"411001"}},"totalOrders":3,"totalSpent":12.5,"lastOrderAt":null,"engagementScore":0,"rfmSegment":null,"createdAt":"2025-01-02T03:04:05+00:00"}
            """, Sms("{{ contact | json }}", c));
    }

    [Fact]
    public void Render_AttributesAreReadOnlyWhenUsed_AndTheSameEachTime()
    {
        var broken = Asha();
        broken.Attributes = "{not json";
        Assert.Equal("Hi Asha", Sms("Hi {{ contact.firstName }}", broken));
        Assert.Equal("Hi Asha []", Sms("Hi {{ contact.firstName }} [{{ contact.attributes.plan }}]", broken));
        Assert.Equal("gold/4/GOLD/411001", Sms("{{ contact.attributes.plan }}/{{ contact.attributes.visits | plus: 1 }}/{{ contact.attributes.plan | upcase }}/{{ contact.attributes.address.pin }}"));
    }

    [Fact]
    public void Render_OneCompiledMessage_ForOtherCampaignsAndProducts_SeesEachOnesValues()
    {
        var compiled = _renderer.Compile("sms", new ChannelContent { Sms = new SmsContent { Body = "{{ campaign.name }}#{{ campaign.id }}@{{ workspace.name }}/{{ companyName }}:{{ product.title }}" } });
        string Render(string ws, long? id, string? name, string? product) =>
            compiled.Render(new RenderScope(Asha(), ws, id, name, Product: product is null ? null : new Dictionary<string, object?> { ["title"] = product })).Body!;
        Assert.Equal("Sale#1@Acme/Acme:Tea", Render("Acme", 1, "Sale", "Tea"));
        Assert.Equal("Sale#2@Acme/Acme:Tea", Render("Acme", 2, "Sale", "Tea"));
        Assert.Equal("Promo#2@Acme/Acme:Tea", Render("Acme", 2, "Promo", "Tea"));
        Assert.Equal("Promo#2@Beta/Beta:Tea", Render("Beta", 2, "Promo", "Tea"));
        Assert.Equal("Promo#2@Beta/Beta:Coffee", Render("Beta", 2, "Promo", "Coffee"));
        Assert.Equal("#@Beta/Beta:", Render("Beta", null, null, null));
    }

    [Fact]
    public void Render_TopLevelNames_ReadAnywhereInAnyPartOrCase_AreThere()
    {
        var m = _renderer.Compile("email", new ChannelContent
        {
            Email = new EmailContent
            {
                Subject = "static subject",
                Text = "{%- if EMAIL -%}{{- \"to \" | append: email -}}{%- endif %}|{% assign who = Name %}{{ who }}|{{ PHONE | default: 'none' }}",
                Html = "<p>{{ companyName | upcase }} {{ lastName }} {{ customerName | size }} {% for i in (1..contact.totalOrders) %}{{ i }}{% endfor %}"
                    + " {{ campaign.name }} {{ unsubscribeUrl }} {{ workspace.name }}</p>",
            },
        });
        var c = Asha();
        c.TotalOrders = 2;
        var r = m.Render(new RenderScope(c, "Acme", 12, "Diwali Sale", "https://h.test/u/abc"));
        Assert.Equal("static subject", r.Subject);
        Assert.Equal("to asha@example.com|Asha Rao|+919876543210", r.Text);
        Assert.Equal("<p>ACME Rao 8 12 Diwali Sale https://h.test/u/abc Acme</p>", r.Html);
    }

    [Fact]
    public void Render_EachPartHasItsOwnScope_AndAFailedRenderLeavesNothingBehind()
    {
        var m = _renderer.Compile("email", new ChannelContent
        {
            Email = new EmailContent { Subject = "{% assign x = 'from subject' %}{{ x }}", Html = "[{{ x }}]", Text = "{{ contact.firstName }}" },
        });
        var r = m.Render(new RenderScope(Asha(), "Acme"));
        Assert.Equal(("from subject", "[]", "Asha"), (r.Subject, r.Html, r.Text));

        var endless = _renderer.Compile("sms", new ChannelContent { Sms = new SmsContent { Body = "partial {% for i in (1..5000000) %}x{% endfor %}" } });
        Assert.ThrowsAny<Exception>(() => endless.Render(new RenderScope(Asha(), "Acme")));
        Assert.Equal("Hi Asha from Acme Stores", Sms("Hi {{ contact.firstName }} from {{ workspace.name }}"));
    }
}
