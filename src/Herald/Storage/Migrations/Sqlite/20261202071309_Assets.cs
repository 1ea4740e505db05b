using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Herald.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Assets : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "media",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    workspace_id = table.Column<long>(type: "INTEGER", nullable: false),
                    key = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    content_type = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    file_name = table.Column<string>(type: "TEXT", maxLength: 255, nullable: true),
                    size_bytes = table.Column<long>(type: "INTEGER", nullable: false),
                    sha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    created_by = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_media", x => x.id);
                    table.ForeignKey(
                        name: "fk_media_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspace",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "whatsapp_template",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    workspace_id = table.Column<long>(type: "INTEGER", nullable: false),
                    channel_config_id = table.Column<long>(type: "INTEGER", nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    language = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    category = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    header_type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    body_parameter_count = table.Column<int>(type: "INTEGER", nullable: false),
                    meta_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    components = table.Column<string>(type: "TEXT", nullable: false),
                    synced_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_whatsapp_template", x => x.id);
                    table.ForeignKey(
                        name: "fk_whatsapp_template_channel_config_channel_config_id",
                        column: x => x.channel_config_id,
                        principalTable: "channel_config",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "fk_whatsapp_template_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspace",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "product",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    workspace_id = table.Column<long>(type: "INTEGER", nullable: false),
                    sku = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    price = table.Column<double>(type: "REAL", precision: 18, scale: 4, nullable: true),
                    currency = table.Column<string>(type: "TEXT", maxLength: 3, nullable: true),
                    url = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    image_url = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    media_id = table.Column<long>(type: "INTEGER", nullable: true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    updated_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_product", x => x.id);
                    table.ForeignKey(
                        name: "fk_product_media_media_id",
                        column: x => x.media_id,
                        principalTable: "media",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_product_workspaces_workspace_id",
                        column: x => x.workspace_id,
                        principalTable: "workspace",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_media_key",
                table: "media",
                column: "key",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_media_workspace_id_id",
                table: "media",
                columns: new[] { "workspace_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_product_media_id",
                table: "product",
                column: "media_id");

            migrationBuilder.CreateIndex(
                name: "ix_product_workspace_id_sku",
                table: "product",
                columns: new[] { "workspace_id", "sku" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_whatsapp_template_channel_config_id",
                table: "whatsapp_template",
                column: "channel_config_id");

            migrationBuilder.CreateIndex(
                name: "ix_whatsapp_template_workspace_id_name_language",
                table: "whatsapp_template",
                columns: new[] { "workspace_id", "name", "language" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "product");

            migrationBuilder.DropTable(
                name: "whatsapp_template");

            migrationBuilder.DropTable(
                name: "media");
        }
    }
}
