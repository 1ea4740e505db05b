using System.ComponentModel.DataAnnotations;

namespace Herald.Hosting;

/// <summary>Root configuration section <c>Herald</c>; every value may be set as <c>Herald__Section__Key</c>.</summary>
public sealed class HeraldOptions
{
    public const string Section = "Herald";

    /// <summary>Which database Herald stores its data in.</summary>
    public DatabaseOptions Database { get; set; } = new();

    /// <summary>First-start automation: admin user, workspace "default" and an admin API key.</summary>
    public BootstrapOptions Bootstrap { get; set; } = new();

    /// <summary>Roles this node plays: any of <c>web</c>, <c>scheduler</c>, <c>worker</c>. Default: all three.</summary>
    public string Roles { get; set; } = "web,scheduler,worker";

    /// <summary>The public base URL used in tracking and unsubscribe links. Default: http://127.0.0.1:5080.</summary>
    [Required]
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>Folder for the SQLite file, media and other local state. Default: <c>data</c>.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Largest JSON request body accepted by the API, in bytes. Default: 16 MiB.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxJsonBodyBytes { get; set; } = 16 * 1024 * 1024;

    public bool HasRole(string role) =>
        Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Contains(role, StringComparer.OrdinalIgnoreCase);
}

public sealed class DatabaseOptions
{
    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>Connection string. Default for SQLite: <c>Data Source={DataDirectory}/herald.db</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply pending migrations at start. Default: true.</summary>
    public bool MigrateOnStart { get; set; } = true;

    public bool IsPostgres => string.Equals(Provider, "postgres", StringComparison.OrdinalIgnoreCase)
        || string.Equals(Provider, "postgresql", StringComparison.OrdinalIgnoreCase);
}

public sealed class BootstrapOptions
{
    public string? AdminEmail { get; set; }
    public string? AdminPassword { get; set; }
    public string? ApiKey { get; set; }
    /// <summary>Name of the workspace created at bootstrap. Default: <c>default</c>.</summary>
    public string WorkspaceName { get; set; } = "default";
}
