using Herald.Hosting;

// `--demo` is a bare flag; the command-line configuration would read a following argument as its value
// (`--demo --urls x` would swallow --urls), so it becomes Herald:Demo=true before the parser sees it.
var demo = args.Contains("--demo", StringComparer.OrdinalIgnoreCase);
var builder = WebApplication.CreateBuilder(args.Where(a => !a.Equals("--demo", StringComparison.OrdinalIgnoreCase)).ToArray());
if (demo) builder.Configuration["Herald:Demo"] = "true";
builder.AddHerald();

var app = builder.Build();
await app.PrepareHeraldAsync();
app.MapHerald();
await app.RunAsync();

/// <summary>The entry point; public so WebApplicationFactory can boot the real app in tests.</summary>
public partial class Program;
