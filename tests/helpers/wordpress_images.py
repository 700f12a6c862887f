"""The two images of examples/wordpress, built from Debian's packages (see debian_image.py):
MariaDB from mariadb-server, running as `mysql` (uid 999, as the official image) and WordPress
from Debian's wordpress package behind Apache with mod_php (Apache starts as root and serves as
www-data, as the official image). Their files live in examples/wordpress/images/."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.debian_image import DebianImage, ImageFile

IMAGES_DIR = Path(__file__).resolve().parents[2] / "examples" / "wordpress" / "images"


def _file(name: str, path: str, mode: int = 0o644) -> ImageFile:
    return ImageFile(path, (IMAGES_DIR / name).read_bytes(), mode)


# mysql gets the official image's uid and gid before the package's postinst would pick one
_MYSQL_USER = ("echo 'mysql:x:999:999:MariaDB Server:/nonexistent:/bin/false' >> \"$1/etc/passwd\" && "
               "echo 'mysql:x:999:' >> \"$1/etc/group\" && "
               "echo 'mysql:!:19000::::::' >> \"$1/etc/shadow\"")

MARIADB = DebianImage(
    packages=("mariadb-server", "mariadb-client"),
    files=(_file("mariadb-entrypoint.sh", "/usr/local/bin/docker-entrypoint.sh", 0o755),
           _file("mariadb-kubernetes.cnf", "/etc/mysql/mariadb.conf.d/99-kubernetes.cnf")),
    user="mysql",
    exposed_ports=("3306/tcp",),
    entrypoint=("/usr/local/bin/docker-entrypoint.sh",),
    cmd=("mariadbd",),
    stop_signal="SIGTERM",
    essential=(_MYSQL_USER,),
    customize=("mkdir -p /run/mysqld /var/lib/mysql && chown mysql:mysql /run/mysqld /var/lib/mysql"
               " && rm -rf /var/lib/mysql/*",),
)

WORDPRESS = DebianImage(
    packages=("wordpress", "wordpress-theme-twentytwentythree", "apache2", "libapache2-mod-php",
              "php-mysql"),
    files=(_file("wordpress-entrypoint.sh", "/usr/local/bin/docker-entrypoint.sh", 0o755),
           _file("wordpress-site.conf", "/etc/apache2/sites-available/000-default.conf")),
    workdir="/usr/share/wordpress",
    exposed_ports=("80/tcp",),
    entrypoint=("/usr/local/bin/docker-entrypoint.sh",),
    cmd=("apache2", "-DFOREGROUND"),
    stop_signal="SIGWINCH",  # Apache's graceful stop, as the official httpd image
    customize=("chown -R www-data:www-data /var/lib/wordpress/wp-content && "
               "chmod 0777 /etc/wordpress",),
)
