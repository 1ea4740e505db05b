using System.Reflection;
using Herald.Bench;

// Herald's benchmarks: dotnet run -c Release --project bench/Herald.Bench -- <command> [--option value ...]
// Each command is a class implementing IBenchCommand (found by reflection) in its own file.
var commands = Assembly.GetExecutingAssembly().GetTypes()
    .Where(t => typeof(IBenchCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchCommand)Activator.CreateInstance(t)!)
    .OrderBy(c => c.Name)
    .ToList();

if (args.Length == 0 || commands.All(c => c.Name != args[0]))
{
    Console.WriteLine("usage: dotnet run -c Release --project bench/Herald.Bench -- <command> [--option value ...]\n");
    foreach (var c in commands) Console.WriteLine($"  {c.Name,-16} {c.Description}");
    return args.Length == 0 ? 0 : 2;
}
var command = commands.Single(c => c.Name == args[0]);
return await command.RunAsync(BenchArgs.Parse(args.Skip(1).ToArray()));

namespace Herald.Bench
{
    /// <summary>One benchmark command.</summary>
    public interface IBenchCommand
    {
        string Name { get; }
        string Description { get; }
        Task<int> RunAsync(BenchArgs args);
    }

    /// <summary><c>--key value</c> options with typed defaults.</summary>
    public sealed class BenchArgs(Dictionary<string, string> values)
    {
        public static BenchArgs Parse(string[] args)
        {
            var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < args.Length; i++)
                if (args[i].StartsWith("--"))
                    d[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--") ? args[++i] : "true";
            return new BenchArgs(d);
        }

        public string Get(string key, string fallback) => values.TryGetValue(key, out var v) ? v : fallback;
        public int Get(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v) : fallback;
        public bool Has(string key) => values.ContainsKey(key);
    }
}
