#!/bin/sh
# MariaDB from Debian's mariadb-server, started as the official image starts it: the first start
# on an empty data directory creates the system tables, the root password, a database and a
# user from MARIADB_* variables; every start then runs the server in the foreground (exec: it
# gets the stop signal itself and shuts down cleanly).
set -eu
DATADIR=/var/lib/mysql
if [ ! -d "$DATADIR/mysql" ]; then
    echo "entrypoint: initializing $DATADIR"
    mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
        --skip-test-db --skip-name-resolve >/dev/null
    mariadbd --datadir="$DATADIR" --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    for _ in $(seq 60); do
        mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1 && break
        sleep 1
    done
    {
        echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';"
        if [ -n "${MARIADB_DATABASE:-}" ]; then
            echo "CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE}\`;"
        fi
        if [ -n "${MARIADB_USER:-}" ]; then
            echo "CREATE USER IF NOT EXISTS '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}';"
            echo "GRANT ALL ON \`${MARIADB_DATABASE:-*}\`.* TO '${MARIADB_USER}'@'%';"
        fi
        echo "FLUSH PRIVILEGES;"
    } | mariadb --socket=/run/mysqld/init.sock -uroot
    kill "$pid"
    wait "$pid" || true
    echo "entrypoint: initialized"
fi
exec "$@"
