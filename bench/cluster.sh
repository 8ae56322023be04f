#!/usr/bin/env bash
# The cluster test, on demand (a few minutes): PostgreSQL (a fresh database on the running
# server), Redis, moto's S3 server, two gunicorn app hosts (127.0.0.2:8000, 127.0.0.3:8000)
# behind nginx on 127.0.0.1:8080, two RQ workers; the load through nginx with one host, then
# two, then two with one host and one worker killed mid-way and a period's notices issued
# through the queue; then the proof. See bench/cluster.py for what it checks.
#
#   bench/cluster.sh [-n 20] [--pause 0] [--kill-after 8] [--pg-url postgresql://…/postgres]
#
# Needs: apt-get install -y redis-server nginx (not enabled as services: started here, in a
# temp folder, and stopped at the end); PostgreSQL running (pg_ctlcluster 15 main start) with
# a role that may create databases (CI's shopper_ci; or set --pg-url / SHOPPER_CLUSTER_PG_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
for binary in redis-server nginx; do
  command -v "$binary" >/dev/null || { echo "$binary is not installed: apt-get install -y redis-server nginx" >&2; exit 2; }
done
python=.venv/bin/python
[ -x "$python" ] || python=python3
exec "$python" bench/cluster.py "$@"
