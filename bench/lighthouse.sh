#!/usr/bin/env bash
# Lighthouse 12 (mobile, the default form factor) on the inspector's five screens:
# login, assignments, fill, review and record.
#
#   npm ci && bash bench/lighthouse.sh          (from the project root; needs /usr/bin/chromium)
#
# Starts gunicorn on a free 127.0.0.1 port over a throwaway demo instance (temporary SQLite
# database and storage, see bench/lighthouse_session.py), signs in as demo inspector1 (who
# starts an inspection: fill and review) and inspector2 (a submitted inspection: record),
# runs Lighthouse on each page with the session cookie (3 runs by default, round robin: the
# median of each score is reported, since performance varies with the machine's load), prints
# each page's scores and the audits that lost points in its median run, and ends with one line:
#   lighthouse: min performance <n>, accessibility <n>, best practices <n>
# The target is >= 98 for each; this script only reports (exit 0 whenever it measured).
#
# Environment: SHOPPER_LH_LOCALE=zh_CN (default, the app's default language) or en;
# SHOPPER_LH_RUNS=3 runs per page; SHOPPER_LH_REPORTS=DIR keeps every Lighthouse JSON report
# there (DIR/<page>-<run>.json);
# SHOPPER_CHROMIUM=/usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

python=$root/.venv/bin/python
[ -x "$python" ] || python=python3
gunicorn=$root/.venv/bin/gunicorn
[ -x "$gunicorn" ] || gunicorn=gunicorn
lighthouse=$root/node_modules/.bin/lighthouse
if [ ! -x "$lighthouse" ]; then
  echo "node_modules/.bin/lighthouse is missing: run \`npm ci\` in $root first" >&2
  exit 2
fi
export CHROME_PATH=${SHOPPER_CHROMIUM:-/usr/bin/chromium}
locale=${SHOPPER_LH_LOCALE:-zh_CN}
runs=${SHOPPER_LH_RUNS:-3}

work=$(mktemp -d "${TMPDIR:-/tmp}/shopper-lighthouse.XXXXXX")
server_pid=
stop() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# a throwaway instance: nothing is read from or written to the repository's instance/
export SHOPPER_DATABASE_URL="sqlite:///$work/instance/shopper.sqlite3"
export SHOPPER_STORAGE_DIR="$work/instance/storage"
SHOPPER_SECRET_KEY=$("$python" -c 'import secrets; print(secrets.token_hex(32))')
export SHOPPER_SECRET_KEY
"$python" bench/lighthouse_session.py seed "$work/instance"

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$gunicorn" --workers 2 --bind "127.0.0.1:$port" --chdir "$root" \
  --access-logfile /dev/null --error-logfile "$work/gunicorn.log" --capture-output wsgi:app &
server_pid=$!
for _ in $(seq 100); do
  if "$python" -c "import urllib.request as u; u.urlopen('$base/login', timeout=2)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "gunicorn did not start:" >&2
    cat "$work/gunicorn.log" >&2
    exit 1
  fi
  sleep 0.2
done

"$python" bench/lighthouse_session.py pages "$base" "$work/instance" "$locale" >"$work/pages.tsv"

echo "Lighthouse $("$lighthouse" --version), mobile, median of $runs runs, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), locale $locale"
reports=${SHOPPER_LH_REPORTS:-$work/reports}
mkdir -p "$reports"
for run in $(seq "$runs"); do
  while IFS=$'\t' read -r name url cookie; do
    case "$url" in http://127.0.0.1:*) ;; *) echo "not loopback: $url" >&2; exit 1 ;; esac
    headers=$("$python" -c 'import json, sys; print(json.dumps({"Cookie": sys.argv[1]}))' "$cookie")
    report="$reports/$name-$run.json"
    if ! "$lighthouse" "$url" \
      --quiet \
      --only-categories=performance,accessibility,best-practices \
      --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run" \
      --extra-headers="$headers" \
      --output=json --output-path="$report" </dev/null 2>"$work/$name.log"; then
      echo "Lighthouse failed on $name ($url), run $run:" >&2
      tail -n 5 "$work/$name.log" >&2
      echo "server log (last lines):" >&2
      tail -n 15 "$work/gunicorn.log" >&2
      rm -f "$report"
    fi
  done <"$work/pages.tsv"
done

"$python" bench/lighthouse_session.py scores "$reports" $(cut -f1 "$work/pages.tsv")
