// The list views, each live over one or more watches (no polling of lists).

import { Informer, ApiError } from "./api.js";
import { h, age, table } from "./dom.js";
import { utilizationPlots } from "./plot.js";

// Re-render at most once per frame, however many events arrive.
function live(render) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; render(); });
  };
}

export function errorBox(err) {
  const forbidden = err instanceof ApiError && err.status === 403;
  return h("div", { class: forbidden ? "error forbidden" : "error", "data-status": err.status || "" },
    forbidden ? "Forbidden: " : "Error: ", err.message);
}

// One view: the watches it holds, and a render of their current items into `root`.
function view(root, sources, render) {
  const state = Object.fromEntries(sources.map(([name]) => [name, new Map()]));
  let failed = null;
  const paint = live(() => {
    const t0 = performance.now();
    root.replaceChildren(failed ? errorBox(failed) : render(state));
    performance.measure("dashboard-render", { start: t0 });
  });
  const informers = sources.map(([name, path]) => new Informer(path, (items) => { state[name] = items; paint(); },
    (err) => { failed = err; paint(); }));
  paint();
  return () => informers.forEach((i) => i.stop());
}

const nsPath = (ns, plural, group = "api/v1") => (ns ? `/${group}/namespaces/${encodeURIComponent(ns)}/${plural}` : `/${group}/${plural}`);
const link = (href, text) => h("a", { href }, text);
const podLink = (p) => link(`#/pod/${p.metadata.namespace}/${p.metadata.name}`, p.metadata.name);
const sortByName = (items) => [...items.values()].sort((a, b) => (a.metadata.namespace || "").localeCompare(b.metadata.namespace || "") || a.metadata.name.localeCompare(b.metadata.name));

export function podRow(p) {
  const st = p.status || {};
  const cs = st.containerStatuses || [];
  const ready = `${cs.filter((c) => c.ready).length}/${(p.spec.containers || []).length}`;
  const restarts = cs.reduce((n, c) => n + (c.restartCount || 0), 0);
  const waiting = cs.map((c) => c.state && c.state.waiting && c.state.waiting.reason).find(Boolean);
  const phase = p.metadata.deletionTimestamp ? "Terminating" : waiting || st.phase || "Pending";
  return { attrs: { "data-pod": `${p.metadata.namespace}/${p.metadata.name}` },
    cells: [p.metadata.namespace, podLink(p), ready, h("span", { class: `phase ${phase}` }, phase), restarts,
      p.spec.nodeName || "", st.podIP || "", age(p.metadata.creationTimestamp)] };
}

const POD_COLUMNS = ["Namespace", "Name", "Ready", "Status", "Restarts", "Node", "IP", "Age"];

export function pods(root, params) {
  const ns = params.get("ns") || "";
  const selector = params.get("labelSelector") || "";
  const filters = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    const f = new FormData(e.target);
    for (const k of ["ns", "labelSelector"]) if (f.get(k)) q.set(k, f.get(k));
    location.hash = `#/pods?${q}`;
  } },
  h("input", { name: "ns", placeholder: "namespace (all)", value: ns }),
  h("input", { name: "labelSelector", placeholder: "label selector, e.g. app=web", value: selector, size: 30 }),
  h("button", { type: "submit" }, "Filter"));
  const body = h("div");
  root.replaceChildren(h("h1", {}, "Pods"), filters, body);
  const path = nsPath(ns, "pods") + (selector ? `?labelSelector=${encodeURIComponent(selector)}` : "");
  return view(body, [["pods", path]], (s) => table(POD_COLUMNS, sortByName(s.pods).map(podRow), { id: "pods" }));
}

function quantityCell(obj, key) {
  return ((obj && obj[key]) || "");
}

export function nodes(root) {
  const body = h("div");
  const plots = h("div", { class: "plots" });
  root.replaceChildren(h("h1", {}, "Nodes"), body, h("h2", {}, "Utilization"), plots);
  const stopPlots = utilizationPlots(plots, "node");
  const stop = view(body, [["nodes", "/api/v1/nodes"], ["pods", "/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed"]], (s) => {
    const requested = {};
    for (const p of s.pods.values()) {
      const n = p.spec.nodeName;
      if (!n) continue;
      const r = (requested[n] = requested[n] || { cpu: 0, mem: 0, pods: 0 });
      r.pods += 1;
      for (const c of p.spec.containers || []) {
        const req = (c.resources && c.resources.requests) || {};
        r.cpu += cpuCores(req.cpu);
        r.mem += bytes(req.memory);
      }
    }
    return table(["Name", "Status", "Conditions", "CPU alloc.", "CPU requested", "Memory alloc.", "Memory requested", "Pods", "Age"],
      sortByName(s.nodes).map((n) => {
        const conds = (n.status && n.status.conditions) || [];
        const ready = conds.find((c) => c.type === "Ready");
        const bad = conds.filter((c) => c.type !== "Ready" && c.status === "True").map((c) => c.type);
        const r = requested[n.metadata.name] || { cpu: 0, mem: 0, pods: 0 };
        const alloc = (n.status && n.status.allocatable) || {};
        return { cells: [n.metadata.name, ready && ready.status === "True" ? "Ready" : "NotReady", bad.join(", ") || "–",
          quantityCell(alloc, "cpu"), `${r.cpu.toFixed(2)} (${pct(r.cpu, cpuCores(alloc.cpu))})`,
          human(bytes(alloc.memory)), `${human(r.mem)} (${pct(r.mem, bytes(alloc.memory))})`,
          `${r.pods}/${alloc.pods || "?"}`, age(n.metadata.creationTimestamp)] };
      }), { id: "nodes" });
  });
  return () => { stop(); stopPlots(); };
}

export function namespaces(root) {
  const body = h("div");
  root.replaceChildren(h("h1", {}, "Namespaces"), body);
  return view(body, [["ns", "/api/v1/namespaces"]], (s) => table(["Name", "Status", "Age"],
    sortByName(s.ns).map((n) => ({ cells: [link(`#/pods?ns=${n.metadata.name}`, n.metadata.name), n.status && n.status.phase, age(n.metadata.creationTimestamp)] })), { id: "namespaces" }));
}

const WORKLOADS = [
  ["Deployment", "deployments", "apis/apps/v1", (o) => `${(o.status && o.status.readyReplicas) || 0}/${o.spec.replicas ?? 1}`],
  ["StatefulSet", "statefulsets", "apis/apps/v1", (o) => `${(o.status && o.status.readyReplicas) || 0}/${o.spec.replicas ?? 1}`],
  ["DaemonSet", "daemonsets", "apis/apps/v1", (o) => `${(o.status && o.status.numberReady) || 0}/${(o.status && o.status.desiredNumberScheduled) || 0}`],
  ["ReplicaSet", "replicasets", "apis/apps/v1", (o) => `${(o.status && o.status.readyReplicas) || 0}/${o.spec.replicas ?? 1}`],
  ["Job", "jobs", "apis/batch/v1", (o) => `${(o.status && o.status.succeeded) || 0}/${o.spec.completions ?? 1}`],
  ["CronJob", "cronjobs", "apis/batch/v1", (o) => `${((o.status && o.status.active) || []).length} active`],
];

// The pods a workload owns, directly or through its ReplicaSets (Deployments) or Jobs (CronJobs).
function ownedPods(owner, s) {
  const uids = new Set([owner.metadata.uid]);
  for (const kind of ["replicasets", "jobs"]) {
    for (const o of s[kind].values()) {
      if ((o.metadata.ownerReferences || []).some((r) => uids.has(r.uid))) uids.add(o.metadata.uid);
    }
  }
  return [...s.pods.values()].filter((p) => (p.metadata.ownerReferences || []).some((r) => uids.has(r.uid)));
}

// One kind at a time, with three watches: the kind, what stands between it and its pods, the pods.
const BETWEEN = { deployments: "replicasets", cronjobs: "jobs" };

export function workloads(root, params) {
  const ns = params.get("ns") || "";
  const plural = WORKLOADS.some(([, p]) => p === params.get("kind")) ? params.get("kind") : "deployments";
  const [kind, , group, ready] = WORKLOADS.find(([, p]) => p === plural);
  const body = h("div");
  const tabs = h("nav", { class: "tabs" }, WORKLOADS.filter(([k]) => k !== "ReplicaSet").map(([k, p]) =>
    h("a", { href: `#/workloads?kind=${p}${ns ? `&ns=${encodeURIComponent(ns)}` : ""}`, class: p === plural ? "active" : "" }, `${k}s`)));
  root.replaceChildren(h("h1", {}, "Workloads"), tabs, body);
  const sources = [[plural, nsPath(ns, plural, group)], ["pods", nsPath(ns, "pods")]];
  const between = BETWEEN[plural];
  if (between) sources.push([between, nsPath(ns, between, WORKLOADS.find(([, p]) => p === between)[2])]);
  return view(body, sources, (s) => {
    s.replicasets = s.replicasets || new Map();
    s.jobs = s.jobs || new Map();
    const items = sortByName(s[plural]);
    if (!items.length) return h("p", { class: "muted" }, `no ${kind}s`);
    return h("section", {}, items.map((o) => {
      const owned = ownedPods(o, s);
      return h("details", { class: "workload", open: true },
        h("summary", {}, h("b", {}, `${o.metadata.namespace}/${o.metadata.name}`), `  ready ${ready(o)}  ·  ${age(o.metadata.creationTimestamp)}`),
        owned.length ? table(POD_COLUMNS, owned.map(podRow)) : h("p", { class: "muted" }, "no pods"));
    }));
  });
}

export function services(root, params) {
  const ns = params.get("ns") || "";
  const body = h("div");
  root.replaceChildren(h("h1", {}, "Services"), body);
  return view(body, [["svc", nsPath(ns, "services")], ["ep", nsPath(ns, "endpoints")]], (s) => table(
    ["Namespace", "Name", "Type", "Cluster IP", "Ports", "Endpoints", "Age"],
    sortByName(s.svc).map((o) => {
      const ep = s.ep.get(`${o.metadata.namespace}/${o.metadata.name}`);
      const addrs = ((ep && ep.subsets) || []).flatMap((sub) => (sub.addresses || []).flatMap((a) => (sub.ports || [{}]).map((p) => `${a.ip}${p.port ? ":" + p.port : ""}`)));
      const ports = (o.spec.ports || []).map((p) => `${p.port}${p.nodePort ? ":" + p.nodePort : ""}/${p.protocol || "TCP"}`).join(", ");
      return { cells: [o.metadata.namespace, o.metadata.name, o.spec.type, o.spec.clusterIP, ports, addrs.join(", ") || "<none>", age(o.metadata.creationTimestamp)] };
    }), { id: "services" }));
}

const eventTime = (e) => e.lastTimestamp || e.eventTime || e.firstTimestamp || e.metadata.creationTimestamp || "";

export function events(root, params) {
  const ns = params.get("ns") || "";
  const body = h("div");
  root.replaceChildren(h("h1", {}, "Events"), body);
  return view(body, [["ev", nsPath(ns, "events")]], (s) => table(["Last seen", "Type", "Reason", "Object", "Message", "Count"],
    [...s.ev.values()].sort((a, b) => eventTime(b).localeCompare(eventTime(a))).slice(0, 500).map((e) => ({
      cells: [age(eventTime(e)), e.type, e.reason, `${(e.involvedObject.kind || "").toLowerCase()}/${e.involvedObject.name}`, e.message, e.count || 1] })),
    { id: "events" }));
}

export function utilization(root) {
  const plots = h("div", { class: "plots" });
  root.replaceChildren(h("h1", {}, "Utilization"), h("p", { class: "muted" }, "Used beside requested and limit, per node and per pod (sampled from the kubelets' stats)."), plots);
  return utilizationPlots(plots, "");
}

// -- quantities -------------------------------------------------------------------------------

export function cpuCores(q) {
  if (!q) return 0;
  q = String(q);
  if (q.endsWith("m")) return parseFloat(q) / 1000;
  if (q.endsWith("n")) return parseFloat(q) / 1e9;
  return parseFloat(q) || 0;
}

const UNITS = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };

export function bytes(q) {
  if (!q) return 0;
  const m = String(q).match(/^([\d.e+-]+)([A-Za-z]*)$/);
  return m ? parseFloat(m[1]) * (UNITS[m[2]] || 1) : 0;
}

const human = (b) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)}Gi` : `${(b / 2 ** 20).toFixed(0)}Mi`);
const pct = (part, whole) => (whole ? `${Math.round((100 * part) / whole)}%` : "–");
