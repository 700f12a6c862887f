// The API as the logged-in user: every request carries their bearer token, so the server's
// RBAC decides what the page may read and do, exactly as for kubectl.

const KEY = "kubelite.token";

export function token() { return sessionStorage.getItem(KEY) || ""; }
export function setToken(t) { t ? sessionStorage.setItem(KEY, t) : sessionStorage.removeItem(KEY); }

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.reason = (body && body.reason) || "";
  }
}

function headers(extra = {}) { return { Authorization: `Bearer ${token()}`, ...extra }; }

async function failure(resp) {
  let body = null;
  try { body = await resp.json(); } catch { /* not a Status */ }
  return new ApiError(resp.status, body);
}

export async function get(path, { signal } = {}) {
  const resp = await fetch(path, { headers: headers({ Accept: "application/json" }), signal });
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

export async function send(method, path, body, contentType = "application/json") {
  const resp = await fetch(path, { method, body, headers: headers({ "Content-Type": contentType, Accept: "application/json" }) });
  if (!resp.ok) throw await failure(resp);
  return resp.json();
}

// Lines of a streaming response (watch events, followed logs), until `signal` aborts.
export async function streamLines(path, onLine, { signal } = {}) {
  const resp = await fetch(path, { headers: headers(), signal });
  if (!resp.ok) throw await failure(resp);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  if (buffered) onLine(buffered);
}

const enc = new TextEncoder();

// A browser cannot set an Authorization header on a WebSocket: the token travels as
// kube-apiserver's bearer subprotocol.
export function bearerProtocol() {
  const b64 = btoa(String.fromCharCode(...enc.encode(token())));
  return `base64url.bearer.authorization.k8s.io.${b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

export const wsUrl = (path) => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;

// Watch events over a WebSocket (one JSON event per text message, as kube-apiserver sends
// them): a browser opens at most six HTTP/1.1 connections to a host, but many WebSockets, so
// every view in every tab stays live. Resolves when the server ends the watch; rejects if the
// socket never opened.
export function watchSocket(path, onEvent, { signal } = {}) {
  return new Promise((resolve, reject) => {
    // The server echoes the subprotocol offered besides the token (the browser requires one).
    const ws = new WebSocket(wsUrl(path), ["base64.binary.k8s.io", bearerProtocol()]);
    let opened = false;
    const abort = () => ws.close();
    signal && signal.addEventListener("abort", abort);
    const count = (n) => { watchSocket.open += n; document.documentElement.dataset.watches = String(watchSocket.open); };
    ws.onopen = () => { opened = true; count(1); };
    ws.onmessage = (ev) => { try { onEvent(JSON.parse(ev.data)); } catch (err) { console.error(err); } };
    ws.onclose = () => {
      signal && signal.removeEventListener("abort", abort);
      if (opened) { count(-1); resolve(); } else reject(new Error("the watch's WebSocket did not open"));
    };
  });
}
watchSocket.open = 0;  // open watch sockets in this tab (shown as <html data-watches>)

// A followed stream (logs) over a WebSocket as kube-apiserver sends one (binary.k8s.io: each
// message a chunk of bytes), split into lines; if no socket opens (a refusal cannot be read
// from a failed handshake), the same request as a fetch stream, which says why.
export function streamLinesLive(path, onLine, { signal } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(path), ["binary.k8s.io", bearerProtocol()]);
    ws.binaryType = "arraybuffer";
    const decoder = new TextDecoder();
    let opened = false;
    let buffered = "";
    const abort = () => ws.close();
    signal && signal.addEventListener("abort", abort);
    ws.onopen = () => { opened = true; };
    ws.onmessage = (ev) => {
      buffered += decoder.decode(new Uint8Array(ev.data), { stream: true });
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    };
    ws.onclose = () => {
      signal && signal.removeEventListener("abort", abort);
      if (opened) {
        if (buffered) onLine(buffered);
        resolve();
      } else if (signal && signal.aborted) resolve();
      else streamLines(path, onLine, { signal }).then(resolve, reject);
    };
  });
}

export const keyOf = (o) => `${o.metadata.namespace || ""}/${o.metadata.name}`;

// List, then watch from the list's resourceVersion (over a WebSocket): the informer pattern,
// in the browser.
// `onChange(items)` gets the current Map on every change; `onError(err)` a refusal or failure.
export class Informer {
  constructor(path, onChange, onError) {
    this.path = path;
    this.onChange = onChange;
    this.onError = onError;
    this.items = new Map();
    this.abort = new AbortController();
    this.run();
  }

  stop() { this.abort.abort(); }

  // Over a WebSocket; if none opens (a proxy on the way without WebSockets, or a refusal, which
  // a handshake cannot tell the page), this once as a fetch stream, which says why it failed
  // (for a minute: then a WebSocket is tried again, so the fetch does not keep a connection).
  async watch(url, onEvent) {
    const signal = this.abort.signal;
    try {
      await watchSocket(url, onEvent, { signal });
      return;
    } catch {
      if (signal.aborted) return;
    }
    await streamLines(`${url}&timeoutSeconds=60`, (line) => { if (line.trim()) onEvent(JSON.parse(line)); }, { signal });
  }

  async run() {
    const sep = this.path.includes("?") ? "&" : "?";
    while (!this.abort.signal.aborted) {
      try {
        const list = await get(this.path, { signal: this.abort.signal });
        this.items = new Map(list.items.map((o) => [keyOf(o), o]));
        this.onChange(this.items);
        let rv = list.metadata.resourceVersion;
        let gone = false;
        while (!gone && !this.abort.signal.aborted) {
          await this.watch(`${this.path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, (ev) => {
            if (ev.type === "ERROR") { gone = true; return; }  // 410 Gone: list again
            rv = ev.object.metadata.resourceVersion;
            if (ev.type === "BOOKMARK") return;
            if (ev.type === "DELETED") this.items.delete(keyOf(ev.object));
            else this.items.set(keyOf(ev.object), ev.object);
            this.onChange(this.items);
          });
        }
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.onError(err);
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }
}
