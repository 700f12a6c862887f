"""Driving the WordPress example from tests: its manifests, its images pushed under the names
the manifests use, the install form, and SQL through `kubectl exec`."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.debian_image import build_debian_image
from tests.helpers.registry import push_image
from tests.helpers.wordpress_images import MARIADB, WORDPRESS

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "wordpress"


def push_example_images(registry_url: str) -> None:
    """Build (or take from the cache) both Debian images and push them as the official names."""
    push_image(build_debian_image(MARIADB, progress=False), registry_url, "library/mariadb", "10.11")
    push_image(build_debian_image(WORDPRESS, progress=False), registry_url, "library/wordpress", "6")


def manifests(*, keep: Callable[[dict[str, Any]], bool] = lambda d: True,
              edit: Callable[[dict[str, Any]], None] = lambda d: None) -> str:
    """The example's documents as one YAML stream, filtered and edited for a test."""
    docs = []
    for name in ("mariadb.yaml", "wordpress.yaml"):
        for doc in yaml.safe_load_all((EXAMPLE_DIR / name).read_text()):
            if doc and keep(doc):
                edit(doc)
                docs.append(doc)
    return yaml.safe_dump_all(docs)


def install_site(base_url: str, host: str = "", title: str = "kubelite site") -> str:
    """Fill in WordPress' install form (step 2) and return the answer's body."""
    form = urllib.parse.urlencode({
        "weblog_title": title, "user_name": "admin", "admin_password": "kubelite-Pass-1",
        "admin_password2": "kubelite-Pass-1", "pw_weak": "1", "admin_email": "admin@example.com",
        "blog_public": "0", "Submit": "Install WordPress", "language": "",
    }).encode()
    req = urllib.request.Request(f"{base_url}/wp-admin/install.php?step=2", data=form, method="POST")
    if host:
        req.add_header("Host", host)
    with urllib.request.urlopen(req, timeout=120) as resp:
        return str(resp.read().decode(errors="replace"))


def get(url: str, host: str = "", timeout: float = 10) -> tuple[int, str]:
    req = urllib.request.Request(url)
    if host:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def pod_named(kubectl: Callable[..., Any], name: str) -> dict[str, Any]:
    """The pod `name`, or {} while its controller has not made it (yet, or again): a busy
    machine's StatefulSet controller may be a moment behind the test."""
    out = kubectl("get", "pods", "--field-selector", f"metadata.name={name}", "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items[0] if items else {}


def is_ready(pod: dict[str, Any]) -> bool:
    """Ready and not being deleted ({} is not)."""
    if not pod:
        return False
    return not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def sql(kubectl: Callable[..., Any], query: str, database: str = "wordpress") -> str:
    """A query in mariadb-0 as root (`mariadb -e`), tab-separated rows without the header."""
    command = f'mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" -N -B {database} -e "{query}"'
    return str(kubectl("exec", "mariadb-0", "--", "sh", "-c", command).stdout)
