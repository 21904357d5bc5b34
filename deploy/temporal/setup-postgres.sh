#!/bin/sh
# Creates and migrates Temporal's two PostgreSQL databases and creates driftplane's ledger
# database (run once by temporal-admin-tools).
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_SEEDS}" -u "${POSTGRES_USER}" -p "${DB_PORT}" "$@"; }
nc -z -w 10 "${POSTGRES_SEEDS}" "${DB_PORT}"
for db in temporal temporal_visibility; do
  schema=$([ "$db" = temporal ] && echo temporal || echo visibility)
  tool --db "$db" create || echo "database $db exists"
  tool --db "$db" setup-schema -v 0.0 || echo "schema of $db is set up"
  tool --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/${schema}/versioned"
done
# driftplane's findings ledger: an empty database; the worker and `serve` apply its migrations at start.
tool --db driftplane create || echo "database driftplane exists"
echo 'Temporal schemas and the driftplane ledger database are ready'
