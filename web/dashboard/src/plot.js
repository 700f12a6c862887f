// Utilization over time with uPlot: CPU and memory used, beside requests and limits.
// The history is a time series the server samples (/dashboard/api/history); the page asks
// for the new points once per sampling interval.

import { get } from "./api.js";
import { h } from "./dom.js";

const WIDTH = 460;
const MAX_PLOTS = 30;  // a page of 1,000 pods' plots would be 2,000 canvases: the busiest 30
const last = (values) => { for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i]; return 0; };
const HEIGHT = 180;

const cores = (v) => `${+v.toPrecision(3)}`;
const mem = (v) => (v >= 2 ** 30 ? `${+(v / 2 ** 30).toPrecision(3)}Gi` : `${+(v / 2 ** 20).toPrecision(3)}Mi`);

function chart(title, format, series, floor = 1e-9) {
  const el = h("div", { class: "plot" });
  const opts = {
    title, width: WIDTH, height: HEIGHT,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max || 0, floor) * 1.1] } },
    axes: [{}, { values: (u, ticks) => ticks.map(format), size: 64 }],
    series: [{}, ...series],
  };
  return { el, opts };
}

const line = (label, stroke, dash) => ({ label, stroke, width: 1.5, dash, spanGaps: false, points: { show: false } });

// Two plots (CPU, memory) for one series of the history.
export function seriesPlots(uPlot, item) {
  const node = item.kind === "node";  // a node's "request" and "limit" are both its allocatable
  const cluster = item.kind === "cluster";  // the cluster's: requested by pods, and allocatable
  const lines = () => [line("used", "#2a7"), line(node ? "allocatable" : cluster ? "requested" : "request", "#36c", [6, 3]),
    line(cluster ? "allocatable" : "limit", "#c33", [2, 3])];
  const title = cluster ? "Cluster" : item.name;
  const cpu = chart(`${title} CPU (cores)`, cores, lines());
  const memory = chart(`${title} memory (working set)`, mem, lines());
  // Restarts over time: the cluster's (every bound pod's containers) and each pod's own.
  const restarts = item.restarts ? chart(`${title} container restarts`, (v) => `${+v.toPrecision(3)}`, [line("restarts", "#a50")], 1) : null;
  const wrap = h("div", { class: "plot-pair", "data-series": `${item.kind}/${item.namespace}/${item.name}` }, cpu.el, memory.el,
    restarts && restarts.el);
  const data = (it) => {
    const n = it.time.length;
    const flat = (v) => Array(n).fill(v || null);
    return [
      [it.time, it.cpu, flat(it.cpuRequest), flat(node ? null : it.cpuLimit)],
      [it.time, it.memory, flat(it.memoryRequest), flat(node ? null : it.memoryLimit)],
    ];
  };
  const [c, m] = data(item);
  const plots = [new uPlot(cpu.opts, c, cpu.el), new uPlot(memory.opts, m, memory.el)];
  if (restarts) plots.push(new uPlot(restarts.opts, [item.time, item.restarts], restarts.el));
  const update = (it) => {
    const [c2, m2] = data(it);
    plots[0].setData(c2);
    plots[1].setData(m2);
    if (restarts) plots[2].setData([it.time, it.restarts]);
    const points = it.cpu.filter((v) => v !== null).length;
    wrap.dataset.points = String(points);
  };
  update(item);
  return { el: wrap, update, destroy: () => plots.forEach((p) => p.destroy()) };
}

// Plots of every series of `kind` ("node", "pod", or "" for all) the user may read, or of one
// (`one` = {kind, namespace, name}); refreshed every sampling interval.
export function utilizationPlots(root, kind, one = null) {
  const shown = new Map();
  let timer = null;
  let stopped = false;
  const refresh = async () => {
    let interval = 15;
    try {
      const { default: uPlot } = await import("uplot");  // loaded with the first plot, not with the page
      const q = new URLSearchParams(one ? one : kind ? { kind } : {});
      const doc = await get(`/dashboard/api/history?${q}`);
      const order = { cluster: 0, node: 1, pod: 2 };
      const items = one ? [doc] : doc.items.sort((a, b) => order[a.kind] - order[b.kind] || last(b.cpu) - last(a.cpu));
      interval = doc.interval || 15;
      for (const it of items) {
        const key = `${it.kind}/${it.namespace}/${it.name}`;
        let p = shown.get(key);
        if (!p && shown.size >= MAX_PLOTS) continue;
        if (!p) {
          p = seriesPlots(uPlot, it);
          shown.set(key, p);
          root.append(p.el);
        }
        p.update(it);
      }
      if (!items.length && !root.childElementCount) root.append(h("p", { class: "muted" }, "no samples yet"));
    } catch (err) {
      root.replaceChildren(h("p", { class: "muted" }, `no utilization history: ${err.message}`));
    }
    if (!stopped) timer = setTimeout(refresh, Math.max(1, interval) * 1000);
  };
  refresh();
  return () => { stopped = true; clearTimeout(timer); shown.forEach((p) => p.destroy()); };
}
