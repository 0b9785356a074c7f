// Package deploy holds what the gateway ships besides its code: the database
// migrations, embedded so that a single binary can migrate plain Postgres
// without a checkout of the repository.
package deploy

import "embed"

// MigrationsDir is where Migrations keeps the SQL files. It is the directory
// the Supabase CLI reads, so pass fs.Sub(Migrations, MigrationsDir) to
// migrate.Up rather than repeating the path.
const MigrationsDir = "supabase/migrations"

// Migrations is the same set of files the Supabase CLI applies with
// `supabase db push`. Embedding them, instead of keeping a second copy for
// `gateway migrate`, means a plain-Postgres deployment and a Supabase one can
// never drift apart.
//
//go:embed supabase/migrations/*.sql
var Migrations embed.FS
