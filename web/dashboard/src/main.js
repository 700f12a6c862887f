// The dashboard's entry: log in with a bearer token (from the URL fragment `#token=...`,
// which never reaches the server, or typed into the form), then route `#/view?params`.

import "@xterm/xterm/css/xterm.css";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { token, setToken } from "./api.js";
import { h } from "./dom.js";
import * as views from "./views.js";
import { podPage } from "./pod.js";

const ROUTES = {
  pods: views.pods, nodes: views.nodes, namespaces: views.namespaces, workloads: views.workloads,
  services: views.services, events: views.events, utilization: views.utilization,
};

const main = document.getElementById("main");
let stop = null;

function takeTokenFromFragment() {
  const m = location.hash.match(/^#token=([^&]*)/);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, "", `${location.pathname}#/pods`);  // out of the address bar and history
}

function loginForm(message) {
  const input = h("input", { type: "password", id: "token", placeholder: "bearer token", size: 60, autocomplete: "off" });
  main.replaceChildren(h("form", { class: "login", id: "login", onsubmit: (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    start();
  } }, h("h1", {}, "Log in"), h("p", { class: "muted" }, "A bearer token: e.g. from `kubectl create token NAME -n NAMESPACE`, or the URL `kubelite dashboard` prints. What you see is what this token's RBAC allows."),
  message ? h("p", { class: "error" }, message) : null, input, " ", h("button", { type: "submit" }, "Log in")));
}

function route() {
  if (stop) { stop(); stop = null; }
  const [path, query] = (location.hash.replace(/^#\/?/, "") || "pods").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").map(decodeURIComponent);
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === parts[0]));
  if (parts[0] === "pod" && parts.length === 3) stop = podPage(main, params, parts[1], parts[2]);
  else stop = (ROUTES[parts[0]] || views.pods)(main, params);
}

async function start() {
  if (!token()) { loginForm(""); return; }
  document.getElementById("nav").replaceChildren(...Object.keys(ROUTES).map((v) => h("a", { href: `#/${v}`, "data-view": v }, v)));
  window.onhashchange = route;
  route();  // at once: who-am-I below runs beside the view's first LIST
  // Who am I: a SelfSubjectReview is a create; a 401 means the token is not valid.
  const resp = await fetch("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
    method: "POST", headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" },
    body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
  });
  if (resp.status === 401) { logout("That token is not valid for this cluster."); return; }
  const review = resp.ok ? await resp.json() : null;
  const user = review && review.status && review.status.userInfo ? review.status.userInfo.username : "";
  document.getElementById("who").replaceChildren(user ? `${user} ` : "", h("a", { href: "#", id: "logout", onclick: (e) => { e.preventDefault(); logout(""); } }, "log out"));
}

function logout(message) {
  if (stop) { stop(); stop = null; }
  window.onhashchange = null;
  setToken("");
  document.getElementById("nav").replaceChildren();
  document.getElementById("who").replaceChildren();
  history.replaceState(null, "", location.pathname);
  loginForm(message);
}

takeTokenFromFragment();
start();
