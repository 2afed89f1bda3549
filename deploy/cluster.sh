#!/usr/bin/env bash
# The site scaled out on one machine, no Docker: nginx on 127.0.0.1:8080 in front of two gunicorn
# replicas (:8001, :8002) over PostgreSQL (:5432, database mlsd_cluster) and Redis (:6379), a task
# worker, and Prometheus (:9090) when Debian provides it. Everything it starts runs under a
# supervisor loop that restarts it when it dies, and keeps its pid files and logs in .cluster/.
#
#   deploy/cluster.sh start     (make cluster)        migrate and load content once, then serve
#   deploy/cluster.sh stop      (make cluster-stop)   stop everything it started
#   deploy/cluster.sh status                          what is running
#
# PostgreSQL and Redis are the machine's own when they answer; otherwise PostgreSQL's cluster is
# started as .ci/run does, and a Redis of our own is run (and stopped again by `stop`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RUN=${CLUSTER_RUN:-$ROOT/.cluster}
VENV=$ROOT/.venv
LISTEN=127.0.0.1:8080
STATUS_LISTEN=127.0.0.1:8081
REPLICAS=(web1:8001 web2:8002)
DATABASE=mlsd_cluster
# A Redis database of its own: db 0 may hold another instance's pages under the same keys.
REDIS_URL=${CLUSTER_REDIS_URL:-redis://127.0.0.1:6379/12}
# Two replicas × 2 processes × 4 threads on a 2-core machine; the cores are the limit, not these.
WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
WEB_THREADS=${WEB_THREADS:-4}

say() { printf 'cluster: %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }

# --- Supervision ------------------------------------------------------------------------------

# supervise NAME COMMAND…: run COMMAND in its own process group (so a kill reaches its workers
# and nothing else), restart it a second after it exits, stop it and return on SIGTERM.
supervise() {
  local name=$1 child="" code
  shift
  set +e
  trap 'if [ -n "$child" ]; then kill -TERM -- "-$child" 2>/dev/null; wait "$child"; fi; rm -f "$RUN/$name.pid"; exit 0' TERM INT
  while true; do
    setsid "$@" >>"$RUN/$name.log" 2>&1 </dev/null &
    child=$!
    echo "$child" >"$RUN/$name.pid"
    wait "$child"
    code=$?
    echo "$(date -Is) $name (pid $child) exited with $code; restarting" >>"$RUN/supervisor.log"
    sleep 1
  done
}

start_supervised() {
  local name=$1
  shift
  if alive "$RUN/$name.supervisor.pid"; then
    say "$name is already running"
    return
  fi
  setsid "$0" supervise "$name" "$@" </dev/null >/dev/null 2>&1 &
  echo $! >"$RUN/$name.supervisor.pid"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() {  # URL SECONDS
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.3
  done
}

# --- The services it stands on ----------------------------------------------------------------

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

ensure_postgres() {
  if ! pg_ready && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting the machine's PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  fi
  pg_ready || die "PostgreSQL does not answer on 127.0.0.1:5432 (user postgres, trust); start it and run again."
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DATABASE"
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    return
  fi
  command -v redis-server >/dev/null || die "Redis does not answer on 127.0.0.1:6379 and redis-server is not installed (apt-get install redis-server)."
  say "starting a Redis of our own on 127.0.0.1:6379"
  start_supervised redis redis-server --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir "$RUN"
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return; sleep 0.1; done
  die "Redis did not start; see $RUN/redis.log"
}

# --- The site ---------------------------------------------------------------------------------

site_environment() {
  # One secret per cluster, kept across restarts so sessions stay valid.
  [ -f "$RUN/secret_key" ] || "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$RUN/secret_key"
  export DEBUG=false
  SECRET_KEY=$(cat "$RUN/secret_key")
  export SECRET_KEY
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DATABASE"
  export REDIS_URL
  export ALLOWED_HOSTS="127.0.0.1,localhost"
  export CSRF_TRUSTED_ORIGINS="http://127.0.0.1:8080,http://localhost:8080"
  # Plain HTTP on the loopback: no redirect to HTTPS, no HSTS.
  export SECURE_SSL_REDIRECT=false SECURE_HSTS_SECONDS=0
  # nginx is the only proxy: its X-Forwarded-For names the client for the rate limits.
  export TRUSTED_PROXIES=127.0.0.1
  export DJANGO_SETTINGS_MODULE=mlsd_site.settings
  # The same environment for whatever else works on the cluster's data (python -m bench.cluster).
  local name
  (
    umask 077
    for name in DEBUG SECRET_KEY DATABASE_URL REDIS_URL ALLOWED_HOSTS CSRF_TRUSTED_ORIGINS \
      SECURE_SSL_REDIRECT SECURE_HSTS_SECONDS TRUSTED_PROXIES DJANGO_SETTINGS_MODULE; do
      printf '%s=%s\n' "$name" "${!name}"
    done >"$RUN/site.env"
  )
}

# The task worker's command: the project's own `worker` when it has one, else django-tasks-db's.
task_worker() {
  local command
  for command in worker db_worker; do
    if "$VENV/bin/python" manage.py help "$command" >/dev/null 2>&1; then
      echo "$command"
      return
    fi
  done
  return 1
}

start_site() {
  say "collectstatic, migrate, load_content and clearsessions (once, before any replica starts)"
  "$VENV/bin/python" manage.py collectstatic --noinput >"$RUN/setup.log" 2>&1 \
    && "$VENV/bin/python" manage.py migrate --noinput >>"$RUN/setup.log" 2>&1 \
    && "$VENV/bin/python" manage.py load_content >>"$RUN/setup.log" 2>&1 \
    && "$VENV/bin/python" manage.py clearsessions >>"$RUN/setup.log" 2>&1 \
    || die "setup failed; see $RUN/setup.log"
  local replica name port
  for replica in "${REPLICAS[@]}"; do
    name=${replica%%:*} port=${replica##*:}
    start_supervised "$name" env PROMETHEUS_MULTIPROC_DIR="$RUN/prometheus-multiproc/$name" \
      "$VENV/bin/gunicorn" mlsd_site.wsgi:application --config deploy/gunicorn.conf.py \
      --bind "127.0.0.1:$port" --workers "$WEB_CONCURRENCY" \
      --threads "$WEB_THREADS" --forwarded-allow-ips 127.0.0.1
  done
  local command metrics=()
  if command=$(task_worker); then
    # The project's worker serves the task queue's numbers to Prometheus (deploy/prometheus.yml).
    [ "$command" = worker ] && metrics=(--metrics-port "${WORKER_METRICS_PORT:-8003}")
    start_supervised worker "$VENV/bin/python" manage.py "$command" "${metrics[@]}"
  else
    say "no task worker: neither 'manage.py worker' nor 'manage.py db_worker' exists"
  fi
  for replica in "${REPLICAS[@]}"; do
    name=${replica%%:*} port=${replica##*:}
    wait_for "http://127.0.0.1:$port/healthz" 60 || die "$name did not answer /healthz; see $RUN/$name.log"
  done
}

start_nginx() {
  local conf=$RUN/nginx
  mkdir -p "$conf/cache" "$conf/temp"
  MLSD_LISTEN=$LISTEN MLSD_STATUS_LISTEN=$STATUS_LISTEN \
  MLSD_APP_1=127.0.0.1:${REPLICAS[0]##*:} MLSD_APP_2=127.0.0.1:${REPLICAS[1]##*:} \
  MLSD_STATIC_ROOT=$ROOT/staticfiles MLSD_CACHE_DIR=$conf/cache \
    envsubst '${MLSD_LISTEN} ${MLSD_STATUS_LISTEN} ${MLSD_APP_1} ${MLSD_APP_2} ${MLSD_STATIC_ROOT} ${MLSD_CACHE_DIR}' \
    <deploy/nginx/mlsd.conf.template >"$conf/mlsd.conf"
  # The top level: everything under .cluster/nginx, nothing from /etc but the MIME types.
  cat >"$conf/nginx.conf" <<EOF
worker_processes auto;
pid $conf/nginx.pid;
error_log $conf/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    # Which replica answered, how long it took, and whether the cache did instead.
    log_format mlsd '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                    '\$request_time \$upstream_addr \$upstream_status '
                    '\$upstream_response_time \$upstream_cache_status';
    access_log $conf/access.log mlsd buffer=64k flush=1s;
    client_body_temp_path $conf/temp/body;
    proxy_temp_path $conf/temp/proxy;
    fastcgi_temp_path $conf/temp/fastcgi;
    uwsgi_temp_path $conf/temp/uwsgi;
    scgi_temp_path $conf/temp/scgi;
    include $conf/mlsd.conf;
}
EOF
  nginx -t -q -p "$conf" -e "$conf/error.log" -c "$conf/nginx.conf" || die "nginx rejected $conf/nginx.conf"
  start_supervised nginx nginx -p "$conf" -e "$conf/error.log" -c "$conf/nginx.conf"
  wait_for "http://$LISTEN/healthz" 20 || die "nginx did not answer on $LISTEN; see $conf/error.log"
}

start_prometheus() {
  if ! command -v prometheus >/dev/null; then
    say "no Prometheus (apt-get install prometheus); its configuration is deploy/prometheus.yml"
    return
  fi
  if command -v prometheus-nginx-exporter >/dev/null; then
    start_supervised nginx-exporter prometheus-nginx-exporter \
      -nginx.scrape-uri "http://$STATUS_LISTEN/stub_status" -web.listen-address 127.0.0.1:9113
  fi
  mkdir -p "$RUN/prometheus"
  start_supervised prometheus prometheus --config.file deploy/prometheus.yml \
    --storage.tsdb.path "$RUN/prometheus" --storage.tsdb.retention.time 1d \
    --web.listen-address 127.0.0.1:9090
}

start() {
  command -v nginx >/dev/null || die "nginx is not installed: run 'make cluster' (it installs it) or apt-get install nginx."
  mkdir -p "$RUN"
  ensure_postgres
  ensure_redis
  site_environment
  start_site
  start_nginx
  start_prometheus
  say "serving http://$LISTEN/ (replicas :8001 :8002; logs and pids in ${RUN#"$ROOT"/})"
  status
}

# --- Stopping ---------------------------------------------------------------------------------

stop() {
  local file name
  for name in nginx prometheus nginx-exporter web1 web2 worker redis; do
    file=$RUN/$name.supervisor.pid
    if alive "$file"; then
      kill -TERM "$(cat "$file")"
    fi
  done
  for name in nginx prometheus nginx-exporter web1 web2 worker redis; do
    file=$RUN/$name.supervisor.pid
    for _ in $(seq 100); do alive "$file" || break; sleep 0.2; done
    if alive "$file"; then
      say "$name did not stop in 20 s; killing it"
      [ -f "$RUN/$name.pid" ] && kill -KILL -- "-$(cat "$RUN/$name.pid")" 2>/dev/null
      kill -KILL "$(cat "$file")" 2>/dev/null
    fi
    rm -f "$file"
  done
  say "stopped"
}

status() {
  local name
  for name in nginx web1 web2 worker prometheus nginx-exporter redis; do
    if alive "$RUN/$name.supervisor.pid"; then
      printf '  %-15s running (pid %s)\n' "$name" "$(cat "$RUN/$name.pid" 2>/dev/null || echo '?')"
    fi
  done
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  supervise) shift; supervise "$@" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
