// One pod: containers and their states, probes, volumes, events, the scheduler's per-node
// explanation while it is Pending, logs streaming (follow, or the previous instance), a terminal, its YAML
// (edit and apply with PUT), and its utilization.

import { Informer, get, send, streamLines, streamLinesLive } from "./api.js";
import { h, age, table, toYaml } from "./dom.js";
import { errorBox } from "./views.js";
import { utilizationPlots } from "./plot.js";

const MAX_LOG_CHARS = 2_000_000;

function stateText(s) {
  if (!s) return "";
  if (s.running) return `Running since ${age(s.running.startedAt)}`;
  if (s.waiting) return `Waiting: ${s.waiting.reason || ""} ${s.waiting.message || ""}`;
  if (s.terminated) return `Terminated: ${s.terminated.reason || ""} (exit ${s.terminated.exitCode})`;
  return "";
}

function probeText(p) {
  if (!p) return "–";
  const how = p.httpGet ? `http-get :${p.httpGet.port}${p.httpGet.path || "/"}` : p.tcpSocket ? `tcp :${p.tcpSocket.port}`
    : p.exec ? `exec ${(p.exec.command || []).join(" ")}` : p.grpc ? `grpc :${p.grpc.port}` : "?";
  return `${how} every ${p.periodSeconds || 10}s`;
}

function containers(pod) {
  const statuses = new Map(((pod.status && pod.status.containerStatuses) || []).map((c) => [c.name, c]));
  return table(["Container", "Image", "State", "Ready", "Restarts", "Last state", "Liveness", "Readiness", "Startup"],
    pod.spec.containers.map((c) => {
      const s = statuses.get(c.name) || {};
      return { cells: [c.name, c.image, stateText(s.state), s.ready ? "yes" : "no", s.restartCount || 0, stateText(s.lastState) || "–",
        probeText(c.livenessProbe), probeText(c.readinessProbe), probeText(c.startupProbe)] };
    }), { id: "containers" });
}

function volumes(pod) {
  const vs = pod.spec.volumes || [];
  if (!vs.length) return h("p", { class: "muted" }, "no volumes");
  return table(["Volume", "Source"], vs.map((v) => {
    const kind = Object.keys(v).find((k) => k !== "name") || "";
    return { cells: [v.name, `${kind} ${JSON.stringify(v[kind])}`] };
  }));
}

function conditions(pod) {
  return h("p", {}, ((pod.status && pod.status.conditions) || []).map((c) =>
    h("span", { class: `cond ${c.status}` }, `${c.type}=${c.status}${c.reason ? ` (${c.reason}: ${c.message || ""})` : ""}`)));
}

function logsPanel(ns, name, pod) {
  const out = h("pre", { class: "logs", id: "logs" });
  const select = h("select", {}, pod.spec.containers.map((c) => h("option", { value: c.name }, c.name)));
  const previous = h("input", { type: "checkbox", id: "previous" });
  let abort = null;
  const start = () => {
    if (abort) abort.abort();
    abort = new AbortController();
    out.textContent = "";
    const q = new URLSearchParams({ container: select.value, tailLines: "1000" });
    if (previous.checked) q.set("previous", "true"); else q.set("follow", "true");
    // Followed logs over a WebSocket (a tab holds no HTTP connection open); the previous
    // instance's, which end at once, over fetch.
    const stream = previous.checked ? streamLines : streamLinesLive;
    stream(`/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/log?${q}`, (line) => {
      const stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 20;
      out.append(line + "\n");
      if (out.textContent.length > MAX_LOG_CHARS) out.textContent = out.textContent.slice(-MAX_LOG_CHARS / 2);
      if (stick) out.scrollTop = out.scrollHeight;
    }, { signal: abort.signal }).catch((err) => { if (!abort.signal.aborted) out.append(`[${err.message}]\n`); });
  };
  select.onchange = start;
  previous.onchange = start;
  start();
  return { el: h("div", {}, h("div", { class: "filters" }, "Container ", select, h("label", {}, previous, " previous instance")), out),
    stop: () => abort && abort.abort() };
}

function terminalPanel(ns, name, pod) {
  const box = h("div", { class: "terminal", id: "terminal" });
  const select = h("select", {}, pod.spec.containers.map((c) => h("option", { value: c.name }, c.name)));
  let close = null;
  const button = h("button", { id: "connect", onclick: async () => {
    if (close) close();
    box.replaceChildren();
    const { openTerminal } = await import("./terminal.js");  // xterm.js loads only when used
    close = openTerminal(box, ns, name, select.value);
  } }, "Connect");
  return { el: h("div", {}, h("div", { class: "filters" }, "Container ", select, " ", button), box), stop: () => close && close() };
}

function yamlPanel(ns, name, pod) {
  const clean = structuredClone(pod);
  delete clean.metadata.managedFields;
  const area = h("textarea", { class: "yaml", id: "yaml", spellcheck: "false", rows: 30 });
  area.value = toYaml(clean);
  const msg = h("span", { class: "muted" });
  const apply = h("button", { onclick: async () => {
    try {
      await send("PUT", `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`, area.value, "application/yaml");
      msg.textContent = "applied";
    } catch (err) { msg.textContent = `${err.status || ""} ${err.message}`; }
  } }, "Apply (PUT)");
  return { el: h("div", {}, area, h("div", {}, apply, " ", msg)), stop: () => {} };
}

// The scheduler's per-node explanation of a pod not yet bound (as `kubelite explain-schedule`
// prints it): which filter refused it on each node, or each feasible node's scores.
function schedulingPanel(ns, name) {
  const body = h("div", {}, h("p", { class: "muted" }, "asking the scheduler…"));
  let last = 0;
  let timer = null;
  const load = async () => {
    last = Date.now();
    try {
      const doc = await get(`/dashboard/api/explain?namespace=${encodeURIComponent(ns)}&name=${encodeURIComponent(name)}`);
      const score = (r) => Object.entries(r.scores).sort().map(([k, v]) => `${k}=${v}`).join(", ");
      const ranked = [...doc.nodes.filter((r) => r.feasible).sort((a, b) => b.total - a.total), ...doc.nodes.filter((r) => !r.feasible)];
      body.replaceChildren(h("p", {}, `${doc.feasible}/${doc.nodes.length} nodes are feasible.`),
        table(["Node", "Result", "Detail"], ranked.map((r) => ({ attrs: { "data-node": r.node, class: r.feasible ? "fits" : "refused" },
          cells: [r.node, r.feasible ? "fits" : "refused", r.feasible ? `total=${r.total} (${score(r)})` : `${r.plugin}: ${r.reasons.join("; ")}`] })),
        { id: "schedule-nodes" }));
    } catch (err) { body.replaceChildren(errorBox(err)); }
  };
  // Asked again when the pod changes, at most every 3 s, and on the button.
  const refresh = () => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; load(); }, Math.max(0, last + 3000 - Date.now()));
  };
  const el = h("section", { id: "schedule" }, h("h2", {}, "Scheduling ", h("button", { onclick: load }, "Explain again")),
    h("p", { class: "muted" }, "Why the scheduler has not placed this pod: each node, the filter that refused it or its scores."), body);
  return { el, refresh, stop: () => clearTimeout(timer) };
}

export function podPage(root, params, ns, name) {
  const head = h("div");
  const tabsEl = h("nav", { class: "tabs" });
  const panel = h("div", { class: "panel" });
  const details = h("div");
  const schedBox = h("div");  // above the tabs while the pod waits for a node
  root.replaceChildren(h("h1", {}, `Pod ${ns}/${name}`), head, schedBox, tabsEl, panel, details);
  let pod = null;
  let current = null;
  let eventsMap = new Map();
  let scheduling = null;
  const tabs = {
    logs: () => logsPanel(ns, name, pod),
    terminal: () => terminalPanel(ns, name, pod),
    yaml: () => yamlPanel(ns, name, pod),
    utilization: () => {
      const el = h("div", { class: "plots", id: "pod-plots" });
      return { el, stop: utilizationPlots(el, "pod", { kind: "pod", namespace: ns, name }) };
    },
  };
  const tab = params.get("tab") || "logs";
  const showTab = (which) => {
    if (current) current.stop();
    current = tabs[which]();
    panel.replaceChildren(current.el);
  };
  tabsEl.replaceChildren(...Object.keys(tabs).map((t) => h("a", { href: `#/pod/${ns}/${name}?tab=${t}`, class: t === tab ? "active" : "", id: `tab-${t}` }, t)));
  const render = () => {
    if (!pod) return;
    const evs = [...eventsMap.values()].sort((a, b) => (a.lastTimestamp || a.eventTime || "").localeCompare(b.lastTimestamp || b.eventTime || ""));
    head.replaceChildren(
      h("p", {}, `Phase ${pod.status.phase || "Pending"} · node ${pod.spec.nodeName || "(not scheduled)"} · IP ${pod.status.podIP || "–"} · age ${age(pod.metadata.creationTimestamp)}`),
      conditions(pod), containers(pod));
    if (!pod.spec.nodeName && !pod.metadata.deletionTimestamp) {
      if (!scheduling) scheduling = schedulingPanel(ns, name);
      scheduling.refresh();
    } else if (scheduling) { scheduling.stop(); scheduling = null; }
    if (schedBox.firstChild !== (scheduling && scheduling.el)) schedBox.replaceChildren(...(scheduling ? [scheduling.el] : []));
    details.replaceChildren(h("h2", {}, "Events"),
      evs.length ? table(["Type", "Reason", "Message", "Age"], evs.map((e) => ({ cells: [e.type, e.reason, e.message, age(e.lastTimestamp || e.eventTime)] })), { id: "pod-events" })
        : h("p", { class: "muted" }, "no events"), h("h2", {}, "Volumes"), volumes(pod));
  };
  const podInformer = new Informer(`/api/v1/namespaces/${encodeURIComponent(ns)}/pods?fieldSelector=metadata.name%3D${encodeURIComponent(name)}`, (items) => {
    const first = !pod;
    pod = items.get(`${ns}/${name}`) || null;
    if (!pod) { head.replaceChildren(h("p", { class: "error" }, "pod not found (deleted?)")); return; }
    render();
    if (first) showTab(tab);
  }, (err) => root.replaceChildren(errorBox(err)));
  const evInformer = new Informer(`/api/v1/namespaces/${encodeURIComponent(ns)}/events?fieldSelector=involvedObject.name%3D${encodeURIComponent(name)}`,
    (items) => { eventsMap = items; render(); }, () => {});
  return () => { podInformer.stop(); evInformer.stop(); if (current) current.stop(); if (scheduling) scheduling.stop(); };
}
