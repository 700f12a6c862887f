// An in-browser terminal: `kubectl exec -it` over the same WebSocket protocol kubectl 1.30+
// uses (v5.channel.k8s.io, falling back to v4): byte 0 of each frame is the stream (0 stdin,
// 1 stdout, 2 stderr, 3 error Status, 4 resize). A browser cannot set an Authorization header
// on a WebSocket, so the token travels as kube-apiserver's bearer subprotocol.

import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { bearerProtocol, wsUrl } from "./api.js";

const enc = new TextEncoder();

function frame(channel, bytes) {
  const out = new Uint8Array(bytes.length + 1);
  out[0] = channel;
  out.set(bytes, 1);
  return out;
}

export function openTerminal(el, ns, pod, container, command = ["sh"]) {
  const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 13, rows: 24 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  const q = new URLSearchParams({ container, stdin: "true", stdout: "true", tty: "true" });
  command.forEach((c) => q.append("command", c));
  const url = wsUrl(`/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}/exec?${q}`);
  const ws = new WebSocket(url, ["v5.channel.k8s.io", "v4.channel.k8s.io", bearerProtocol()]);
  ws.binaryType = "arraybuffer";
  const dec = new TextDecoder();
  const resize = () => {
    if (ws.readyState === WebSocket.OPEN) ws.send(frame(4, enc.encode(JSON.stringify({ Width: term.cols, Height: term.rows }))));
  };
  ws.onopen = () => { el.dataset.state = "open"; resize(); term.focus(); };
  ws.onmessage = (ev) => {
    const data = new Uint8Array(ev.data);
    if (!data.length) return;
    if (data[0] === 1 || data[0] === 2) term.write(data.subarray(1));
    else if (data[0] === 3) {
      const status = JSON.parse(dec.decode(data.subarray(1)) || "{}");
      if (status.status && status.status !== "Success") term.write(`\r\n\x1b[31m${status.message}\x1b[0m\r\n`);
    }
  };
  ws.onclose = () => { el.dataset.state = "closed"; term.write("\r\n\x1b[2m[session closed]\x1b[0m\r\n"); };
  ws.onerror = () => term.write("\r\n\x1b[31m[connection failed]\x1b[0m\r\n");
  const input = term.onData((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(frame(0, enc.encode(d))); });
  const onResize = () => { fit.fit(); resize(); };
  window.addEventListener("resize", onResize);
  return () => { input.dispose(); window.removeEventListener("resize", onResize); ws.close(); term.dispose(); };
}
