#!/usr/bin/env bash
# Adds a migration for both providers (SQLite and PostgreSQL): scripts/migrations.sh <Name>
# With --reset, deletes all migrations first and creates <Name> as the only one (only before a release).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.dotnet/tools"
command -v dotnet-ef >/dev/null || dotnet tool install --global dotnet-ef --version 10.0.15
reset=0
if [ "${1:-}" = "--reset" ]; then reset=1; shift; fi
name=${1:?usage: scripts/migrations.sh [--reset] <Name>}
if [ $reset = 1 ]; then rm -rf src/Herald/Storage/Migrations src/Herald/Herald; fi
dotnet build src/Herald -v q -nologo
for p in Sqlite Postgres; do
  dotnet ef migrations add "$name" --no-build --project src/Herald --context "${p}HeraldDb" \
    --output-dir "Storage/Migrations/$p" --namespace "Herald.Storage.Migrations.$p"
done
# dotnet-ef 10 writes the model snapshot relative to the namespace (src/Herald/Herald/...); move it home.
if [ -d src/Herald/Herald/Storage/Migrations ]; then
  for p in Sqlite Postgres; do
    [ -f "src/Herald/Herald/Storage/Migrations/$p/${p}HeraldDbModelSnapshot.cs" ] &&
      mv "src/Herald/Herald/Storage/Migrations/$p/${p}HeraldDbModelSnapshot.cs" "src/Herald/Storage/Migrations/$p/"
  done
  rm -rf src/Herald/Herald
fi
dotnet build src/Herald -v q -nologo | grep -E " error |rror\(s\)" || true
