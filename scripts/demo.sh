#!/usr/bin/env bash
# `npm run demo`: a real backup → verify → restore with the bundled CLI, into a local folder.
# It backs up this project's own src/ tree (and, when a PostgreSQL server answers on
# 127.0.0.1:5432, a small demo database), restores both elsewhere and compares.
set -euo pipefail
cd "$(dirname "$0")/.."
sb() { node dist/cli.js "$@"; }
work=.strongbox-demo
rm -rf "$work" && mkdir -p "$work"
echo "== 1. keygen: the backup side only ever needs the public key"
sb keygen --output "$work/key.txt"
recipient=$(grep -o 'age1[0-9a-z]*' "$work/key.txt" | head -n1)

pg_args=()
if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  db=strongbox_demo_$$
  psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" postgres
  psql -q -h 127.0.0.1 -U postgres -d "$db" -c "CREATE TABLE orders (id serial primary key, item text, paid boolean); INSERT INTO orders (item, paid) SELECT 'item ' || g, g % 2 = 0 FROM generate_series(1, 1000) g;"
  pg_args=(--postgres "postgres://postgres@127.0.0.1:5432/$db")
  trap 'psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${db}_restored WITH (FORCE)" postgres' EXIT
fi

echo "== 2. init a repository in $work/repository, then back up src/ ${pg_args:+and database $db }into it"
sb init --to "$work/repository"
sb backup --to "$work/repository" --files src "${pg_args[@]}" --recipient "$recipient" --label demo
echo "== 3. list and verify (deep: decrypt and check every checksum)"
sb list --from "$work/repository"
sb verify --from "$work/repository" --deep --identity-file "$work/key.txt" --max-age 1h
echo "== 4. restore into $work/restored"
restore_pg=()
if ((${#pg_args[@]})); then
  psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE ${db}_restored" postgres
  restore_pg=(--postgres-target "postgres://postgres@127.0.0.1:5432/${db}_restored")
fi
sb restore --from "$work/repository" --backup label:demo --identity-file "$work/key.txt" --files-target "$work/restored" "${restore_pg[@]}"
diff -r src "$work/restored" && echo "files: restored tree is identical to src/"
if ((${#pg_args[@]})); then
  q="SELECT md5(string_agg(id || item || paid, ',' ORDER BY id)) FROM orders"
  [ "$(psql -Atq -h 127.0.0.1 -U postgres -d "$db" -c "$q")" = "$(psql -Atq -h 127.0.0.1 -U postgres -d "${db}_restored" -c "$q")" ] &&
    echo "postgres: restored rows are identical"
fi
echo "Demo complete. The repository is in $work/repository; your key in $work/key.txt."
