"""The built-in dashboard in a real browser: Debian's chromium driven by Playwright, against
a real server and agent running real containers. The page logs in with the token in the URL
`kubelite dashboard` prints, sees a pod appear over its watch, streams a pod's logs, runs a
command in the in-browser terminal (exec over the v5 WebSocket protocol with the bearer
subprotocol), plots a busy pod's CPU, and shows a refusal where the user's RBAC says no.

Set KUBELITE_SCREENSHOTS=DIR to save screenshots of the main views (docs/ has them)."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api  # a test extra: missing, the tests fail rather than skip

from tests.helpers.node import NodeCluster, running_node
from tests.helpers.wait import until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("KUBELITE_SCREENSHOTS", "")


def pod(name: str, script: str, namespace: str = "default", **resources: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "busybox:latest", "command": ["sh", "-c", script]}
    if resources:
        container["resources"] = resources
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
            "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("dash"), server_args=["--dashboard-sample-interval", "1"]) as c:
        c.apply(pod("ticker", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.3; done"))
        c.apply(pod("busy", "while true; do :; done", requests={"cpu": "100m", "memory": "16Mi"},
                    limits={"cpu": "500m", "memory": "64Mi"}))
        c.apply(pod("crashy", "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 1; exit 1"))
        c.wait_running("ticker")
        c.wait_running("busy")
        yield c


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def dashboard_url(c: NodeCluster, token: str) -> str:
    """What `kubelite dashboard` prints for a kubeconfig whose user has `token`."""
    out = subprocess.run([sys.executable, "-m", "kubelite.cli.main", "dashboard", "--kubeconfig",
                          str(c.server.token_kubeconfig(token))], check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def page(browser: Any, cluster: NodeCluster) -> Iterator[Any]:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(20_000)
    try:
        yield p
    finally:
        context.close()


def goto(page: Any, url: str) -> None:
    """page.goto, again if chromium dropped it because the host's addresses changed (other
    tests on the machine add and remove interfaces: ERR_NETWORK_CHANGED)."""
    for attempt in range(3):
        try:
            page.goto(url)
            return
        except sync_api.Error as e:
            if "ERR_NETWORK_CHANGED" not in str(e) or attempt == 2:
                raise


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"dashboard-{name}.png"))


def test_kubelite_dashboard_prints_the_url_with_the_token_in_its_fragment(cluster: NodeCluster) -> None:
    url = dashboard_url(cluster, cluster.server.token())
    assert url == f"{cluster.server.url}/dashboard/#token={cluster.server.token()}"


def test_login_from_the_fragment_and_see_a_pod_appear_over_the_watch(page: Any, cluster: NodeCluster) -> None:
    lists: list[str] = []
    page.on("request", lambda r: lists.append(r.url) if "/api/v1/pods" in r.url and "watch=1" not in r.url else None)
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector('#pods tr[data-pod="default/ticker"]')
    assert "token=" not in page.url  # taken out of the address bar at once
    listed = len(lists)
    cluster.apply(pod("fresh", "exec sleep 3600"))
    page.wait_for_selector('#pods tr[data-pod="default/fresh"]', timeout=1000)
    assert len(lists) == listed  # it came over the watch, not a new list
    shot(page, "pods")
    cluster.kubectl("delete", "pod", "fresh", "--wait=false")
    page.wait_for_selector('#pods tr[data-pod="default/fresh"]', state="detached")


def test_a_bad_token_gets_the_login_form(page: Any, cluster: NodeCluster) -> None:
    page.goto(f"{cluster.server.url}/dashboard/#token=not-a-token")
    page.wait_for_selector("#login")
    assert "not valid" in page.inner_text("#login")
    page.fill("#token", cluster.server.token())
    page.click("#login button")
    page.wait_for_selector("#pods")


def test_logs_stream_new_lines(page: Any, cluster: NodeCluster) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")
    page.goto(f"{cluster.server.url}/dashboard/#/pod/default/ticker?tab=logs")
    try:
        page.wait_for_function("() => /tick-\\d+/.test(document.querySelector('#logs')?.textContent || '')")
    except Exception:
        print("LOGS", repr(page.evaluate("() => document.querySelector('#main').innerText")))
        raise
    seen = max(int(n) for n in re.findall(r"tick-(\d+)", page.inner_text("#logs")))
    page.wait_for_function(f"() => (document.querySelector('#logs').textContent.match(/tick-\\d+/g) || [])"
                           f".some(t => +t.slice(5) > {seen + 2})")
    assert any("/pods/ticker/log?" in url and "follow=true" in url for url in sockets)  # over a WebSocket
    shot(page, "pod-logs")


def test_logs_of_the_previous_instance(page: Any, cluster: NodeCluster) -> None:
    cluster.wait_for("crashy", lambda p: any(c.get("restartCount", 0) >= 1
                                             for c in p.get("status", {}).get("containerStatuses", [])), timeout=60)
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")
    page.goto(f"{cluster.server.url}/dashboard/#/pod/default/crashy?tab=logs")
    page.wait_for_selector("#logs")
    page.check("#previous")
    page.wait_for_function("() => /run-[0-9a-f-]{36}/.test(document.querySelector('#logs').textContent)")
    assert page.locator("#containers").inner_text().count("Terminated") >= 1  # its last state


def test_pods_filter_by_label(page: Any, cluster: NodeCluster) -> None:
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")
    page.fill('input[name="labelSelector"]', "app=busy")
    page.click(".filters button")
    page.wait_for_function("() => document.querySelectorAll('#pods tbody tr').length === 1")
    assert page.locator('#pods tr[data-pod="default/busy"]').count() == 1
    assert "labelSelector=app%3Dbusy" in page.url or "labelSelector=app=busy" in page.url


def test_terminal_runs_echo_hi(page: Any, cluster: NodeCluster) -> None:
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")
    page.goto(f"{cluster.server.url}/dashboard/#/pod/default/ticker?tab=terminal")
    page.click("#connect")
    page.wait_for_selector('#terminal[data-state="open"]')
    page.keyboard.type("echo hi\n")
    try:
        page.wait_for_function("() => (document.querySelector('#terminal .xterm-rows').innerText.split('\\n'))"
                               ".some(l => l.replace(/\\s/g, '') === 'hi')")
    except Exception:
        print("TERMINAL", repr(page.evaluate("() => document.querySelector('#terminal .xterm-rows').innerText")))
        print(cluster.server.log_tail(10))
        raise
    shot(page, "terminal")


def test_utilization_plot_draws_points_for_a_busy_pod(page: Any, cluster: NodeCluster) -> None:
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")
    page.goto(f"{cluster.server.url}/dashboard/#/pod/default/busy?tab=utilization")
    page.wait_for_function("() => +(document.querySelector('#pod-plots .plot-pair')?.dataset.points || 0) >= 3")
    history = page.evaluate("""async () => {
        const r = await fetch('/dashboard/api/history?kind=pod&namespace=default&name=busy',
                              {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('kubelite.token')}});
        return r.json(); }""")
    used = [v for v in history["cpu"] if v is not None]
    assert max(used) > 0.05  # a spinning shell uses CPU
    assert history["cpuRequest"] == pytest.approx(0.1) and history["cpuLimit"] == pytest.approx(0.5)
    assert page.locator("#pod-plots canvas").count() >= 2
    shot(page, "utilization")
    page.goto(f"{cluster.server.url}/dashboard/#/utilization")
    page.wait_for_function("() => +(document.querySelector('.plot-pair[data-series=\"cluster//cluster\"]')?.dataset.points || 0) >= 2")
    assert page.locator('.plot-pair[data-series="cluster//cluster"] canvas').count() == 3  # CPU, memory, restarts
    shot(page, "utilization-cluster")
    page.goto(f"{cluster.server.url}/dashboard/#/nodes")
    page.wait_for_selector("#nodes")
    page.wait_for_selector(".plot-pair")
    shot(page, "nodes")


def test_yaml_edit_and_apply(page: Any, cluster: NodeCluster) -> None:
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")
    page.goto(f"{cluster.server.url}/dashboard/#/pod/default/ticker?tab=yaml")
    area = page.wait_for_selector("#yaml")
    text = area.input_value()
    assert "\n  name: ticker\n" in text and "managedFields" not in text
    area.fill(text.replace("    app: ticker\n", "    app: ticker\n    edited: from-the-dashboard\n", 1))
    page.click("text=Apply (PUT)")
    page.wait_for_selector("text=applied")
    labels = cluster.pod("ticker")["metadata"]["labels"]
    assert labels == {"app": "ticker", "edited": "from-the-dashboard"}
    area.fill(text.replace("name: ticker", "name: other", 1))  # a PUT of another name: the API's 400
    page.click("text=Apply (PUT)")
    page.wait_for_selector("text=400")


def test_workloads_show_their_pods_through_replicasets(page: Any, cluster: NodeCluster) -> None:
    cluster.kubectl("create", "deployment", "web", "--image=busybox:latest", "--replicas=2", "--", "sleep", "3600")
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")
    page.goto(f"{cluster.server.url}/dashboard/#/workloads")
    deployment = page.wait_for_selector('details.workload:has-text("default/web")')
    page.wait_for_function("() => [...document.querySelectorAll('details.workload')].find(d => d.textContent.includes('default/web'))"
                           "?.querySelectorAll('tr[data-pod^=\"default/web-\"]').length === 2")
    assert "ready" in deployment.inner_text()
    shot(page, "workloads")
    page.goto(f"{cluster.server.url}/dashboard/#/events")
    page.wait_for_selector('#events td:has-text("ScalingReplicaSet")')
    shot(page, "events")


def _get(url: str, token: str | None) -> tuple[int, str]:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_rbac_refuses_what_the_user_may_not_see(page: Any, cluster: NodeCluster) -> None:
    cluster.kubectl("create", "namespace", "team")
    cluster.kubectl("create", "serviceaccount", "viewer", "-n", "team")
    cluster.kubectl("create", "rolebinding", "viewer", "-n", "team", "--clusterrole=view", "--serviceaccount=team:viewer")
    # As the admin (a client certificate, no token), ask for the service account's token.
    url = subprocess.run([sys.executable, "-m", "kubelite.cli.main", "dashboard", "--kubeconfig",
                          str(cluster.server.kubeconfig), "--service-account", "team/viewer"],
                         check=True, capture_output=True, text=True).stdout.strip()
    token = url.partition("#token=")[2]
    assert token.count(".") == 2  # a service account JWT
    page.goto(url)
    page.wait_for_selector("#who")
    page.goto(f"{cluster.server.url}/dashboard/#/pods?ns=team")
    page.wait_for_selector("#pods")  # allowed: view in team
    page.goto(f"{cluster.server.url}/dashboard/#/nodes")
    refusal = page.wait_for_selector(".error.forbidden")
    assert 'is forbidden: User "system:serviceaccount:team:viewer" cannot list resource' in refusal.inner_text()
    assert "at the cluster scope" in refusal.inner_text()
    page.goto(f"{cluster.server.url}/dashboard/#/pods")
    assert "cannot list resource \"pods\"" in page.wait_for_selector(".error.forbidden").inner_text()
    shot(page, "forbidden")
    # The history answers 401 without credentials, and per series as the Metrics API would.
    base = f"{cluster.server.url}/dashboard"
    assert _get(f"{base}/api/history", None)[0] == 401
    assert _get(f"{base}/metrics", None)[0] == 401
    code, body = _get(f"{base}/api/history?kind=pod&namespace=default&name=busy", token)
    assert code == 403 and json.loads(body)["reason"] == "Forbidden"
    code, body = _get(f"{base}/api/history", token)
    assert code == 200 and json.loads(body)["items"] == []
    code, body = _get(f"{base}/api/explain?namespace=team&name=anything", token)  # may not list nodes
    assert code == 403 and 'cannot list resource "nodes"' in json.loads(body)["message"]
    code, text = _get(f"{base}/metrics", cluster.server.token())
    assert code == 200 and re.search(r'kubelite_pod_cpu_limit_cores\{namespace="default",pod="busy",node="[^"]+"\} 0\.5', text)
    assert _get(f"{base}/", None)[0] == 200  # the page itself is public: it holds no data


def test_a_pending_pods_page_shows_the_schedulers_explanation_per_node(page: Any, cluster: NodeCluster) -> None:
    cluster.apply(pod("huge", "exec sleep 3600", requests={"cpu": "500"}))
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")
    page.goto(f"{cluster.server.url}/dashboard/#/pod/default/huge")
    row = page.wait_for_selector("#schedule-nodes tr[data-node]")
    node = row.get_attribute("data-node")
    assert "refused" in row.inner_text() and "NodeResourcesFit: Insufficient cpu" in row.inner_text()
    assert "0/1 nodes are feasible." in page.inner_text("#schedule")
    # The same words as `kubelite explain-schedule` prints for that node.
    printed = subprocess.run([sys.executable, "-m", "kubelite.cli.main", "explain-schedule", "default/huge",
                              "--kubeconfig", str(cluster.server.kubeconfig)], check=True, capture_output=True,
                             text=True).stdout
    line = next(x for x in printed.splitlines() if x.startswith(f"{node} "))
    assert line.split(None, 2)[2] == row.query_selector_all("td")[2].inner_text()
    shot(page, "pending")
    cluster.kubectl("delete", "pod", "huge", "--wait=false")
    page.goto(f"{cluster.server.url}/dashboard/#/pod/default/ticker")  # a bound pod: no explanation
    page.wait_for_selector("#containers")
    assert page.locator("#schedule").count() == 0


def test_a_pods_restarts_are_plotted_over_time(page: Any, cluster: NodeCluster) -> None:
    cluster.wait_for("crashy", lambda p: any(c.get("restartCount", 0) >= 1
                                             for c in p.get("status", {}).get("containerStatuses", [])), timeout=60)
    page.goto(dashboard_url(cluster, cluster.server.token()))
    page.wait_for_selector("#pods")

    def restarts_sampled() -> bool:  # the sampler's next tick after the restart
        history = page.evaluate("""async () => {
            const r = await fetch('/dashboard/api/history?kind=pod&namespace=default&name=crashy',
                                  {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('kubelite.token')}});
            return r.json(); }""")
        return max((v for v in history.get("restarts") or [] if v is not None), default=0) >= 1

    until(restarts_sampled, timeout=90, what="a restart in the pod's sampled history")
    page.goto(f"{cluster.server.url}/dashboard/#/pod/default/crashy?tab=utilization")
    page.wait_for_function("() => document.querySelectorAll('#pod-plots .plot-pair canvas').length === 3",
                           timeout=60_000)
    assert "crashy container restarts" in page.inner_text("#pod-plots")
    shot(page, "restarts")


def test_many_views_in_many_tabs_all_stay_live_over_websocket_watches(browser: Any, cluster: NodeCluster) -> None:
    """Thirteen watches and two followed logs in seven tabs: over HTTP streaming a browser
    would hold six at most."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    try:
        first = context.new_page()
        first.set_default_timeout(20_000)
        goto(first, dashboard_url(cluster, cluster.server.token()))  # the token is per tab: log each in
        views = {"pods": 1, "workloads": 3, "nodes": 2, "services": 2, "events": 1, "pod/default/ticker": 2,
                 "pod/default/busy": 2}  # and each pod page follows its logs
        pages = {}
        for view in views:
            p = first if view == "pods" else context.new_page()
            p.set_default_timeout(20_000)
            if p is not first:
                goto(p, dashboard_url(cluster, cluster.server.token()))
                p.wait_for_selector("#pods")
                goto(p, f"{cluster.server.url}/dashboard/#/{view}")
            p.wait_for_selector("#main h1")
            pages[view] = p
        cluster.kubectl("create", "deployment", "multi", "--image=busybox:latest", "--", "sleep", "3600")
        cluster.kubectl("create", "service", "clusterip", "multi", "--tcp=80")
        cluster.apply({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ticker.poked", "namespace": "default"},
                       "involvedObject": {"kind": "Pod", "name": "ticker", "namespace": "default"},
                       "reason": "Poked", "message": "from the test", "type": "Normal"})
        pages["pods"].wait_for_selector('#pods tr[data-pod^="default/multi-"]')
        pages["workloads"].wait_for_function(
            "() => [...document.querySelectorAll('details.workload')].find(d => d.textContent.includes('default/multi'))"
            "?.querySelectorAll('tr[data-pod^=\"default/multi-\"]').length === 1")
        pages["services"].wait_for_selector('#services td:text-is("multi")')
        pages["events"].wait_for_selector('#events td:has-text("ScalingReplicaSet")')
        pages["pod/default/ticker"].wait_for_selector('#pod-events td:text-is("Poked")')
        pages["nodes"].wait_for_selector("#nodes")
        for view, p in pages.items():  # every watch is a WebSocket
            p.wait_for_function(f"() => +(document.documentElement.dataset.watches || 0) === {views[view]}")
    finally:
        context.close()
        cluster.kubectl("delete", "deployment,service", "multi", "--wait=false", "--ignore-not-found")
