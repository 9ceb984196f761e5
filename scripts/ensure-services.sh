#!/usr/bin/env bash
# Makes sure everything the test suite needs is installed and answering:
#   PostgreSQL on 127.0.0.1:5432 (trust auth for user postgres), Redis on 127.0.0.1:6379,
#   Chromium at /usr/bin/chromium, and pnpm 12.4.2.
# Idempotent: when everything is already up it only probes and prints one line (no apt).
# Installs via apt-get / npm only what is missing (needs root, or passwordless sudo).
# Progress goes to stderr. Exit status is non-zero if something could not be brought up.
set -euo pipefail

PNPM_VERSION="12.4.2"
CHROMIUM_BIN="/usr/bin/chromium"
PG_HOST="127.0.0.1"
PG_PORT="5432"
REDIS_PORT="6379"
WAIT_SECONDS="${ENSURE_SERVICES_WAIT_SECONDS:-60}"

log() { printf 'ensure-services: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
fi
export DEBIAN_FRONTEND=noninteractive

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
pnpm_ok() { command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; }
chromium_ok() { [ -x "$CHROMIUM_BIN" ]; }
pg_installed() { command -v pg_ctlcluster >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1; }
redis_installed() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }

# ---- fast path: nothing to do ------------------------------------------------------------------
if chromium_ok && pnpm_ok && pg_installed && redis_installed && pg_up && redis_up; then
  log "postgres, redis, chromium and pnpm $PNPM_VERSION are ready"
  exit 0
fi

# ---- node (not installed here: Debian's nodejs is too old) --------------------------------------
command -v node >/dev/null 2>&1 || die "node is not installed (Node >= 20.10 is required)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=10)?0:1)' ||
  die "node $(node --version) is too old (Node >= 20.10 is required)"

# ---- apt packages --------------------------------------------------------------------------------
apt_packages=()
chromium_ok || apt_packages+=(chromium fonts-liberation)
pg_installed || apt_packages+=(postgresql)
redis_installed || apt_packages+=(redis-server)
PG_FRESH=0
pg_installed || PG_FRESH=1

if [ "${#apt_packages[@]}" -gt 0 ]; then
  log "installing with apt: ${apt_packages[*]}"
  $SUDO apt-get update -qq >&2 || die "apt-get update failed"
  # Without systemd the postinst scripts cannot start services; that is expected and harmless.
  $SUDO apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >&2 ||
    die "apt-get install ${apt_packages[*]} failed"
fi
chromium_ok || die "chromium is still missing at $CHROMIUM_BIN"
pg_installed || die "postgresql tools are still missing after apt-get install"
redis_installed || die "redis-server is still missing after apt-get install"

# ---- pnpm ----------------------------------------------------------------------------------------
if ! pnpm_ok; then
  log "installing pnpm@$PNPM_VERSION (found: $(pnpm --version 2>/dev/null || echo none))"
  command -v npm >/dev/null 2>&1 || die "npm is not installed; cannot install pnpm"
  $SUDO npm install -g --no-fund --no-audit --loglevel=error "pnpm@$PNPM_VERSION" >&2 || die "npm i -g pnpm@$PNPM_VERSION failed"
  hash -r
  pnpm_ok || die "pnpm --version is '$(pnpm --version 2>/dev/null || echo none)', expected $PNPM_VERSION"
fi

# ---- postgres ------------------------------------------------------------------------------------
pg_version() { { ls /etc/postgresql 2>/dev/null || true; } | sort -V | tail -n 1; }

pg_trust_localhost() {
  # Prepends trust rules for TCP connections from localhost (first matching line wins).
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  [ -f "$hba" ] || die "$hba not found"
  if grep -q 'orbweaver ensure-services' "$hba"; then return 0; fi
  log "configuring trust auth for 127.0.0.1 and ::1 in $hba"
  local tmp
  tmp="$(mktemp)"
  {
    echo "# added by orbweaver ensure-services: local test connections need no password"
    echo "local   all   postgres                 trust"
    echo "host    all   postgres   127.0.0.1/32  trust"
    echo "host    all   postgres   ::1/128       trust"
    cat "$hba"
  } >"$tmp"
  $SUDO cp "$tmp" "$hba"
  rm -f "$tmp"
}

wait_for() { # wait_for NAME CHECK_FUNCTION
  local name="$1" check="$2" deadline=$((SECONDS + WAIT_SECONDS))
  until "$check"; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.5
  done
  log "$name is answering"
}

if ! pg_up; then
  ver="$(pg_version)"
  if [ -z "$ver" ] || [ ! -d "/etc/postgresql/$ver/main" ]; then
    # postgresql-common normally creates the main cluster on install; do it if it did not.
    [ -n "$ver" ] || ver="$({ ls /usr/lib/postgresql 2>/dev/null || true; } | sort -V | tail -n 1)"
    [ -n "$ver" ] || die "no PostgreSQL server version found under /usr/lib/postgresql"
    log "creating PostgreSQL cluster $ver/main"
    $SUDO pg_createcluster "$ver" main >&2
    PG_FRESH=1
  fi
  if [ "$PG_FRESH" = 1 ]; then pg_trust_localhost "$ver"; fi
  # /run is often a fresh tmpfs without systemd's tmpfiles: make the socket directory.
  $SUDO install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  log "starting PostgreSQL $ver/main"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 ||
    log "pg_ctlcluster start returned non-zero (it may already be starting); waiting"
  if ! wait_for "postgres" pg_up; then
    log "postgres did not answer on $PG_HOST:$PG_PORT within ${WAIT_SECONDS}s; last log lines:"
    tail -n 20 "/var/log/postgresql/postgresql-$ver-main.log" >&2 2>/dev/null || true
    exit 1
  fi
fi

# The tests log in as postgres over TCP without a password: fix auth if that does not work.
if command -v psql >/dev/null 2>&1 &&
  ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc 'select 1' >/dev/null 2>&1; then
  ver="$(pg_version)"
  log "user postgres cannot log in on $PG_HOST without a password; enabling trust auth"
  pg_trust_localhost "$ver"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main reload >&2
  sleep 1
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc 'select 1' >/dev/null 2>&1 ||
    die "still cannot log in as postgres on $PG_HOST:$PG_PORT"
fi

# ---- redis ---------------------------------------------------------------------------------------
if ! redis_up; then
  log "starting redis-server on 127.0.0.1:$REDIS_PORT"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 ||
    log "redis-server returned non-zero; waiting anyway"
  if ! wait_for "redis" redis_up; then
    log "redis did not answer on 127.0.0.1:$REDIS_PORT within ${WAIT_SECONDS}s; last log lines:"
    tail -n 20 /var/log/redis/ci.log >&2 2>/dev/null || true
    exit 1
  fi
fi

log "postgres, redis, chromium and pnpm $PNPM_VERSION are ready"
