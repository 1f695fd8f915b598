#!/bin/bash
# Prepare this machine's MariaDB, PostgreSQL and RabbitMQ for the
# functional tests, the way OpenStack CI does: an ``openstack_citest`` user
# (password ``openstack_citest``) that may create and drop databases, which
# is what oslo.db's opportunistic test fixtures connect as.
#
# Idempotent: safe to run again on a machine that is already set up.
# Run as root (or as a user that can reach both databases as an admin).
#
# Exits non-zero, naming the server, when a server cannot be reached.
#
# Environment:
#   TEST_SETUP_PYTHON  python with SQLAlchemy, PyMySQL and psycopg2 used to
#                      check oslo.db-style provisioning (default: the first
#                      of .ci-venv/bin/python, /tmp/venv/bin/python, python3
#                      that can import them; the check is skipped if none).

set -euo pipefail

DB_USER=openstack_citest
DB_PW=openstack_citest
DB_NAME=openstack_citest
WAIT_SECS=${TEST_SETUP_WAIT:-60}
HERE=$(cd "$(dirname "$0")/.." && pwd)

log() { echo "test-setup: $*"; }
die() { echo "test-setup: ERROR: $*" >&2; exit 1; }

port_open() {
    # port_open HOST PORT
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for() {
    # wait_for NAME COMMAND...  -- poll COMMAND for up to WAIT_SECS seconds
    local name=$1; shift
    local i
    for ((i = 0; i < WAIT_SECS; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    return 1
}

as_user() {
    # as_user USER COMMAND... -- run as USER when we are root
    local user=$1; shift
    if [ "$(id -u)" = 0 ] && [ "$user" != root ]; then
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}

# ---------------------------------------------------------------- MariaDB

mysql_root() {
    # Over the unix socket as root first (unix_socket or empty password),
    # then over TCP.
    mysql -uroot "$@" 2>/dev/null || mysql -uroot -h127.0.0.1 "$@"
}

mysql_up() { mysql_root -e 'SELECT 1'; }

setup_mysql() {
    command -v mysql >/dev/null || die "mysql client not installed (MariaDB)"
    if ! mysql_up >/dev/null 2>&1; then
        log "MariaDB not answering; starting it"
        mkdir -p /run/mysqld
        chown mysql:mysql /run/mysqld 2>/dev/null || true
        start-stop-daemon --start --oknodo --background \
            --exec /usr/sbin/mariadbd || true
        wait_for MariaDB mysql_up ||
            die "MariaDB is not reachable (waited ${WAIT_SECS}s on" \
                "/run/mysqld/mysqld.sock and 127.0.0.1:3306)"
    fi
    log "MariaDB is up; creating user ${DB_USER}"
    mysql_root <<SQL
CREATE USER IF NOT EXISTS '${DB_USER}'@'localhost' IDENTIFIED BY '${DB_PW}';
CREATE USER IF NOT EXISTS '${DB_USER}'@'%' IDENTIFIED BY '${DB_PW}';
ALTER USER '${DB_USER}'@'localhost' IDENTIFIED BY '${DB_PW}';
ALTER USER '${DB_USER}'@'%' IDENTIFIED BY '${DB_PW}';
GRANT ALL PRIVILEGES ON *.* TO '${DB_USER}'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '${DB_USER}'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS ${DB_NAME};
SQL
    # The same check oslo.db's provisioning needs, with the test user.
    MYSQL_PWD=$DB_PW mysql -u"$DB_USER" -h127.0.0.1 "$DB_NAME" <<SQL ||
DROP DATABASE IF EXISTS ${DB_NAME}_setup_check;
CREATE DATABASE ${DB_NAME}_setup_check;
DROP DATABASE ${DB_NAME}_setup_check;
SQL
        die "MariaDB: ${DB_USER} cannot log in over TCP or create databases"
}

# ------------------------------------------------------------- PostgreSQL

psql_admin() {
    # trust/peer as postgres: over TCP first, then over the socket.
    psql -X -q -v ON_ERROR_STOP=1 -U postgres -h 127.0.0.1 "$@" \
        2>/dev/null ||
        as_user postgres psql -X -q -v ON_ERROR_STOP=1 "$@"
}

pg_up() { psql_admin -d postgres -c 'SELECT 1'; }

setup_postgresql() {
    command -v psql >/dev/null || die "psql client not installed (PostgreSQL)"
    if ! pg_up >/dev/null 2>&1; then
        log "PostgreSQL not answering; starting it"
        local ver
        for ver in $(ls /etc/postgresql 2>/dev/null); do
            pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
        done
        wait_for PostgreSQL pg_up ||
            die "PostgreSQL is not reachable (waited ${WAIT_SECS}s on" \
                "127.0.0.1:5432)"
    fi
    log "PostgreSQL is up; creating role and database ${DB_USER}"
    psql_admin -d postgres <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DB_USER}') THEN
        CREATE ROLE ${DB_USER} LOGIN CREATEDB PASSWORD '${DB_PW}';
    END IF;
END
\$\$;
ALTER ROLE ${DB_USER} WITH LOGIN CREATEDB PASSWORD '${DB_PW}';
SQL
    if [ "$(psql_admin -d postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'")" != 1 ]
    then
        psql_admin -d postgres -c "CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}"
    fi
    psql_admin -d postgres -c "ALTER DATABASE ${DB_NAME} OWNER TO ${DB_USER}"
    PGPASSWORD=$DB_PW psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
        -U "$DB_USER" -d "$DB_NAME" -c "SET client_min_messages TO WARNING" \
        -c "DROP DATABASE IF EXISTS ${DB_NAME}_setup_check" \
        -c "CREATE DATABASE ${DB_NAME}_setup_check" \
        -c "DROP DATABASE ${DB_NAME}_setup_check" ||
        die "PostgreSQL: ${DB_USER} cannot log in over TCP or create" \
            "databases"
}

# --------------------------------------------------------------- RabbitMQ

setup_rabbitmq() {
    if ! port_open 127.0.0.1 5672; then
        log "RabbitMQ not listening on 127.0.0.1:5672; starting it"
        command -v rabbitmq-server >/dev/null ||
            die "RabbitMQ is not reachable on 127.0.0.1:5672 and" \
                "rabbitmq-server is not installed"
        rabbitmq-server -detached || true
        wait_for RabbitMQ port_open 127.0.0.1 5672 ||
            die "RabbitMQ is not reachable on 127.0.0.1:5672 (waited" \
                "${WAIT_SECS}s)"
    fi
    log "RabbitMQ is listening on 127.0.0.1:5672"
}

# ----------------------------------------- oslo.db provisioning, for real

find_python() {
    local py
    for py in "${TEST_SETUP_PYTHON:-}" "$HERE/.ci-venv/bin/python" \
              /tmp/venv/bin/python python3; do
        [ -n "$py" ] || continue
        if "$py" -c 'import sqlalchemy, pymysql, psycopg2' 2>/dev/null; then
            echo "$py"
            return 0
        fi
    done
    return 1
}

check_provisioning() {
    local py
    if ! py=$(find_python); then
        log "no python with SQLAlchemy, PyMySQL and psycopg2 found;" \
            "skipping the SQLAlchemy check (the SQL checks above passed)"
        return 0
    fi
    log "checking oslo.db opportunistic URLs with $py"
    "$py" - <<'PY' || die "oslo.db opportunistic provisioning check failed"
import sys

import sqlalchemy as sa

URLS = (
    'mysql+pymysql://openstack_citest:openstack_citest@localhost/'
    'openstack_citest',
    'postgresql+psycopg2://openstack_citest:openstack_citest@localhost/'
    'openstack_citest',
)
name = 'openstack_citest_setup_check'
ok = True
for url in URLS:
    engine = sa.create_engine(url, isolation_level='AUTOCOMMIT')
    try:
        with engine.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS %s' % name))
            conn.execute(sa.text('CREATE DATABASE %s' % name))
            conn.execute(sa.text('DROP DATABASE %s' % name))
        print('test-setup: ok: %s' % engine.url.render_as_string())
    except Exception as exc:
        ok = False
        print('test-setup: FAILED: %s: %s' % (
            engine.url.render_as_string(), str(exc).splitlines()[0]),
            file=sys.stderr)
    finally:
        engine.dispose()
sys.exit(0 if ok else 1)
PY
}

setup_mysql
setup_postgresql
setup_rabbitmq
check_provisioning
log "done: MariaDB, PostgreSQL and RabbitMQ are ready"
