#!/bin/sh
# WordPress from Debian's wordpress package behind Apache with mod_php. Debian reads
# /etc/wordpress/config-<host>.php; this one config for every host takes the database from
# WORDPRESS_DB_* variables, as the official image does. Apache runs in the foreground (exec:
# it gets the stop signal, SIGWINCH for a graceful stop, itself).
set -eu
cat > /etc/wordpress/config-default.php <<PHP
<?php
define('DB_NAME', getenv('WORDPRESS_DB_NAME') ?: 'wordpress');
define('DB_USER', getenv('WORDPRESS_DB_USER') ?: 'wordpress');
define('DB_PASSWORD', getenv('WORDPRESS_DB_PASSWORD') ?: '');
define('DB_HOST', getenv('WORDPRESS_DB_HOST') ?: 'mariadb');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('FS_METHOD', 'direct');
\$table_prefix = 'wp_';
PHP
set +u  # Debian's envvars reads variables that may be unset
. /etc/apache2/envvars
set -u
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
exec "$@"
