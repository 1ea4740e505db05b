using Herald.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddHerald();

var app = builder.Build();
await app.PrepareHeraldAsync();
app.MapHerald();
await app.RunAsync();

/// <summary>The entry point; public so WebApplicationFactory can boot the real app in tests.</summary>
public partial class Program;
