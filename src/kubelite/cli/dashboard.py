"""`kubelite dashboard`: print the URL of the cluster's built-in dashboard.

The cluster is found as kubectl finds it (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`).
When the kubeconfig's user has a bearer token (`token` or `tokenFile`), or with
`--service-account NAMESPACE/NAME` (a TokenRequest, as `kubectl create token`), the URL
carries it in its fragment, `#token=...`: a browser never sends a fragment to the server,
so the token stays out of request lines and logs. Otherwise the page asks for a token.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import quote

from kubelite.client import ApiClient, ApiError, KubeconfigError
from kubelite.client.kubeconfig import load_kubeconfig

PATH = "/dashboard/"
NO_TOKEN = ("# the kubeconfig's user has no bearer token (a client certificate cannot log a browser in):\n"
            "# open the page and paste a token, e.g. from `kubectl create token NAME -n NAMESPACE`,\n"
            "# or run `kubelite dashboard --service-account NAMESPACE/NAME`")


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("dashboard", help="print the URL of the cluster's web dashboard (with a login token)")
    p.add_argument("--kubeconfig", default=None)
    p.add_argument("--service-account", default="", metavar="NAMESPACE/NAME",
                   help="log in as this service account: ask the API for a token (TokenRequest)")
    p.add_argument("--duration", default="1h", help="lifetime of a --service-account token (default %(default)s)")


def url_for(server: str, token: str | None) -> str:
    base = server.rstrip("/") + PATH
    return f"{base}#token={quote(token, safe='')}" if token else base


def _seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return int(float(text[:-1]) * units[text[-1]]) if text and text[-1] in units else int(text)
    except ValueError:
        raise ValueError(f'invalid duration "{text}": want e.g. 1h, 30m, 3600') from None


async def _request_token(client: ApiClient, account: str, seconds: int) -> str:
    namespace, _, name = account.partition("/")
    if not namespace or not name:
        raise ValueError(f'--service-account wants NAMESPACE/NAME, not "{account}"')
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds}}
    doc = await client.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                               body=body)
    return str((doc.get("status") or {}).get("token") or "")


async def run(args: argparse.Namespace) -> int:
    try:
        config = load_kubeconfig(args.kubeconfig)
        token = config.token
        if args.service_account:
            async with ApiClient.from_config(config) as client:
                token = await _request_token(client, args.service_account, _seconds(args.duration))
    except (KubeconfigError, ValueError) as e:
        print(f"kubelite: {e}", file=sys.stderr)
        return 1
    except ApiError as e:
        print(f"Error from server ({e.reason}): {e.message}", file=sys.stderr)
        return 1
    print(url_for(config.server, token))
    if not token:
        print(NO_TOKEN, file=sys.stderr)
    return 0
