// zaiproxy's dashboard: the login form and the dashboard page (<body data-page> says which).
// Every URL is built from the base path the server wrote into <body data-base>, so the pages
// work under a ROOT_PATH prefix. Data from the server only ever goes into the page as text.
"use strict";

const BASE = document.body.dataset.base;
const REFRESH_MS = 5000;
const AUTO_REFRESH_KEY = "zaiproxy.dashboard.autoRefresh";
const STATE_PATH = "/api/state?minutes=60";

// ── the server ──

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(BASE + path, options);
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new HttpError(response.status, answer.error || `HTTP ${response.status}`);
  }
  return answer;
}

// ── formatting ──

const NUMBER = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });

function formatCount(value) {
  return NUMBER.format(Math.round(value || 0));
}

function formatMs(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function formatSpan(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

function twoDigits(number) {
  return String(number).padStart(2, "0");
}

function formatClock(date, withSeconds = true) {
  const parts = [date.getHours(), date.getMinutes()];
  if (withSeconds) parts.push(date.getSeconds());
  return parts.map(twoDigits).join(":");
}

// "12 s ago", measured against the server's clock (the state's `now`), not the browser's.
function formatAgo(iso, now) {
  if (!iso) return "never";
  return `${formatSpan(now - Date.parse(iso) / 1000)} ago`;
}

// ── building the page ──

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// A row of cells: each a string or a ready node.
function tableRow(cells) {
  const row = document.createElement("tr");
  for (const content of cells) {
    const cell = document.createElement("td");
    cell.append(content instanceof Node ? content : String(content));
    row.append(cell);
  }
  return row;
}

function fillTable(id, rows, emptyText) {
  const table = document.getElementById(id);
  if (rows.length === 0) {
    const empty = element("td", emptyText, "empty");
    empty.colSpan = table.tHead.rows[0].cells.length;
    const row = document.createElement("tr");
    row.append(empty);
    rows = [row];
  }
  table.tBodies[0].replaceChildren(...rows);
}

function showStatus(message, isError = false) {
  const line = document.getElementById("status-line");
  line.textContent = message;
  line.classList.toggle("error", isError);
}

// Shows a failure; a 401 means the session is over, so back to the login form.
function reportFailure(what, error) {
  if (error.status === 401) {
    location.replace(BASE);
    return;
  }
  showStatus(`${what} failed: ${error.message}`, true);
}

// ── the login page ──

function initLogin() {
  const form = document.getElementById("login-form");
  const message = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    try {
      await call("POST", "/login", { password: form.elements.password.value });
      location.replace(BASE); // also drops a wrong ?token= from the address
    } catch (error) {
      message.textContent = error.message;
    }
  });
}

// ── the dashboard: header, cards, tables ──

function setValue(id, value, text) {
  const node = document.getElementById(id);
  node.dataset.value = String(value);
  node.textContent = text;
}

function renderHeader(state) {
  document.getElementById("store-kind").textContent = state.store;
  document.getElementById("anonymous-mode").textContent = state.anonymous_mode ? "on" : "off";
  document.getElementById("last-updated").textContent = `updated ${formatClock(new Date())}`;
}

function renderStats(stats, pool) {
  const total = stats.total_requests;
  setValue("stat-total-requests", total, formatCount(total));
  setValue(
    "stat-success-rate",
    stats.success_rate,
    total ? `${(stats.success_rate * 100).toFixed(1)} %` : "–",
  );
  setValue("stat-failures", stats.failure_requests, formatCount(stats.failure_requests));
  const latency = stats.average_response_time;
  setValue("stat-latency", latency, total ? formatMs(latency) : "–");
  setValue("stat-ttfb", stats.average_ttfb, total ? formatMs(stats.average_ttfb) : "–");
  setValue("stat-input-tokens", stats.input_tokens, formatCount(stats.input_tokens));
  setValue("stat-output-tokens", stats.output_tokens, formatCount(stats.output_tokens));
  for (const state of ["serving", "cooling", "disabled", "guest", "invalid"]) {
    setValue(`pool-${state}`, pool[state], formatCount(pool[state]));
  }
}

function modelRow(model) {
  return tableRow([
    model.model,
    formatCount(model.requests),
    formatCount(model.failures),
    formatCount(model.input_tokens),
    formatCount(model.output_tokens),
  ]);
}

// A message cut to the column's width; the whole of it on hover.
function clipped(text, className = "") {
  const node = element("span", text, `clipped ${className}`.trim());
  node.title = text;
  return node;
}

function recentRow(entry) {
  const row = tableRow([
    formatClock(new Date(entry.timestamp)),
    entry.method,
    entry.path,
    entry.model || "–",
    element("span", String(entry.status), `status s${String(entry.status)[0]}xx`),
    formatMs(entry.duration_ms),
    formatMs(entry.ttfb_ms),
    `${formatCount(entry.input_tokens)} / ${formatCount(entry.output_tokens)}`,
    element("code", entry.token_display),
    entry.client_ip,
    clipped(entry.error, "error-text"),
  ]);
  row.dataset.testid = "recent-row";
  return row;
}

function actionButton(label, action) {
  const button = element("button", label);
  button.type = "button";
  button.dataset.action = action;
  return button;
}

function tokenRow(token, now) {
  const actions = element("span", undefined, "actions");
  actions.append(
    token.enabled ? actionButton("Disable", "disable") : actionButton("Enable", "enable"),
    actionButton("Reset", "reset"),
    actionButton("Check", "check"),
    actionButton("Delete", "delete"),
  );
  const lastStatus = [token.last_status, token.last_error].filter((part) => part).join(" · ");
  const row = tableRow([
    element("code", token.display, "token-display"),
    token.source,
    token.role,
    element("span", token.state, `state ${token.state}`),
    `${token.failures} (${token.total_failures} in all)`,
    formatCount(token.successes),
    token.cooldown_seconds > 0 ? formatSpan(token.cooldown_seconds) : "–",
    formatAgo(token.last_used, now),
    clipped(lastStatus || "–"),
    actions,
  ]);
  row.dataset.tokenId = token.token_id;
  row.dataset.display = token.display;
  return row;
}

// ── the dashboard: charts of the last hour, as inline SVG ──

const SVG_NS = "http://www.w3.org/2000/svg";
const MARGIN = { top: 10, right: 12, bottom: 26, left: 56 };
const Y_TICKS = 4;

function svgNode(tag, attributes, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A round step (1, 2, 2.5 or 5 times a power of ten) so Y_TICKS of them reach `value`.
function tickStep(value, integer) {
  const raw = value / Y_TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => s >= raw);
  return integer ? Math.max(1, Math.ceil(step)) : step;
}

// Clears the SVG and draws its grid and axes; the scales to draw the data with. The y axis
// reaches at least `floor`, so an idle hour still has a readable scale.
function chartFrame(svg, minutes, maxValue, { integer, floor, formatTick }) {
  const box = svg.getBoundingClientRect();
  const width = Math.max(box.width, 200);
  const height = Math.max(box.height, 120);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: height - MARGIN.top - MARGIN.bottom,
  };
  const step = tickStep(Math.max(maxValue, floor), integer);
  const top = step * Y_TICKS;
  const slot = plot.width / Math.max(minutes.length, 1);
  const scales = {
    plot,
    slot,
    x: (index) => plot.left + slot * (index + 0.5),
    y: (value) => plot.top + plot.height * (1 - value / top),
  };
  for (let tick = 0; tick <= Y_TICKS; tick += 1) {
    const y = scales.y(tick * step);
    svg.append(
      svgNode("line", { x1: plot.left, x2: plot.left + plot.width, y1: y, y2: y, class: "grid" }),
      svgNode("text", { x: plot.left - 6, y: y + 4, class: "tick y" }, formatTick(tick * step)),
    );
  }
  minutes.forEach((minute, index) => {
    if (minute % 600 === 0) {
      const label = formatClock(new Date(minute * 1000), false);
      svg.append(svgNode("text", { x: scales.x(index), y: height - 8, class: "tick x" }, label));
    }
  });
  svg.append(
    svgNode("line", {
      x1: plot.left,
      x2: plot.left + plot.width,
      y1: plot.top + plot.height,
      y2: plot.top + plot.height,
      class: "axis",
    }),
  );
  return scales;
}

function minuteLabel(minute) {
  return formatClock(new Date(minute * 1000), false);
}

function drawRequestChart(svg, series) {
  const minutes = series.map((point) => point.minute);
  const busiest = Math.max(0, ...series.map((point) => point.success + point.failure));
  const scales = chartFrame(svg, minutes, busiest, {
    integer: true,
    floor: Y_TICKS,
    formatTick: String,
  });
  const width = Math.max(1, scales.slot * 0.7);
  series.forEach((point, index) => {
    const x = scales.x(index) - width / 2;
    let base = 0;
    for (const kind of ["success", "failure"]) {
      if (point[kind] === 0) continue;
      const bar = svgNode("rect", {
        x,
        width,
        y: scales.y(base + point[kind]),
        height: scales.y(base) - scales.y(base + point[kind]),
        class: `bar ${kind}`,
      });
      bar.append(svgNode("title", {}, `${minuteLabel(point.minute)}: ${point[kind]} ${kind}`));
      svg.append(bar);
      base += point[kind];
    }
  });
}

// A line per measure, broken where a minute had no requests (its average means nothing).
function drawLatencyChart(svg, series) {
  const measures = [
    ["average_response_time", "latency"],
    ["average_ttfb", "ttfb"],
  ];
  const minutes = series.map((point) => point.minute);
  const slowest = Math.max(0, ...series.flatMap((point) => measures.map(([key]) => point[key])));
  const scales = chartFrame(svg, minutes, slowest, {
    integer: false,
    // An idle hour gets a 0–100 ms scale; once there is data, the scale fits it.
    floor: slowest > 0 ? 1 : 100,
    formatTick: formatMs,
  });
  for (const [key, kind] of measures) {
    let path = "";
    let drawing = false;
    const dots = [];
    series.forEach((point, index) => {
      if (point.requests === 0) {
        drawing = false;
        return;
      }
      const x = scales.x(index);
      const y = scales.y(point[key]);
      path += `${drawing ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
      drawing = true;
      const dot = svgNode("circle", { cx: x, cy: y, r: 2.5, class: `dot ${kind}` });
      const label = `${minuteLabel(point.minute)}: ${formatMs(point[key])} ${kind}`;
      dot.append(svgNode("title", {}, label));
      dots.push(dot);
    });
    if (path) svg.append(svgNode("path", { d: path, class: `line ${kind}` }), ...dots);
  }
}

function renderCharts(series) {
  drawRequestChart(document.getElementById("chart-requests"), series);
  drawLatencyChart(document.getElementById("chart-latency"), series);
}

// ── the dashboard: loading and acting ──

let latestState = null;
let refreshTicket = 0;

function render(state) {
  renderHeader(state);
  renderStats(state.stats, state.pool);
  renderCharts(state.series);
  fillTable("models-table", state.models.map(modelRow), "No requests yet");
  fillTable("recent-table", state.recent_requests.map(recentRow), "No requests yet");
  fillTable(
    "tokens-table",
    state.tokens.map((token) => tokenRow(token, state.now)),
    "No tokens in the pool",
  );
}

async function refresh() {
  // Only the answer to the latest refresh is shown: an older one may arrive after it.
  const ticket = ++refreshTicket;
  try {
    const state = await call("GET", STATE_PATH);
    if (ticket === refreshTicket) {
      latestState = state;
      render(state);
    }
  } catch (error) {
    if (ticket === refreshTicket) reportFailure("Refresh", error);
  }
}

// Runs an action, shows its outcome (`work` answers a message), then shows the new state.
async function perform(what, work) {
  showStatus(`${what}…`);
  try {
    showStatus(await work());
  } catch (error) {
    reportFailure(what, error);
  }
  await refresh();
}

function describeChecks(results) {
  if (results.length === 1) {
    const [result] = results;
    return `${result.display}: ${result.error || result.role}`;
  }
  const counts = {};
  for (const result of results) {
    const outcome = result.error ? "failed" : result.role;
    counts[outcome] = (counts[outcome] || 0) + 1;
  }
  const summary = Object.entries(counts).map(([outcome, count]) => `${count} ${outcome}`);
  return `Checked ${results.length} tokens: ${summary.join(", ") || "none"}`;
}

function checkTokens(tokenIds) {
  const body = tokenIds ? { token_ids: tokenIds } : {};
  return call("POST", "/api/health-check", body).then((answer) => describeChecks(answer.results));
}

// What a row's button does: the request, then the message that reports it.
function tokenAction(action, tokenId, display) {
  const path = `/api/tokens/${encodeURIComponent(tokenId)}/${action}`;
  const post = (message) => () => call("POST", path).then(() => message);
  const actions = {
    enable: post(`${display} enabled`),
    disable: post(`${display} disabled`),
    reset: post(`${display}: cooldown and failures cleared`),
    check: () => checkTokens([tokenId]),
    delete: () =>
      call("DELETE", "/api/tokens", { token_ids: [tokenId] }).then(() => `${display} deleted`),
  };
  return actions[action];
}

function onTokenButton(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const { action } = button.dataset;
  const { tokenId, display } = button.closest("tr[data-token-id]").dataset;
  if (action === "delete" && !confirm(`Delete ${display} from the pool?`)) return;
  perform(`${action} ${display}`, tokenAction(action, tokenId, display));
}

function addTokens() {
  const input = document.getElementById("token-input");
  if (!input.value.trim()) {
    showStatus("Paste one or more tokens first.", true);
    return;
  }
  perform("Adding tokens", async () => {
    const answer = await call("POST", "/api/tokens", { tokens: input.value });
    input.value = ""; // the secrets do not stay on the page
    const size = answer.token_pool && answer.token_pool.size;
    return typeof size === "number" ? `Tokens saved; the pool holds ${size}.` : "Tokens saved.";
  });
}

async function logOut() {
  try {
    await call("POST", "/logout");
    location.replace(BASE);
  } catch (error) {
    showStatus(`Logout failed: ${error.message}`, true);
  }
}

// Auto-refresh every REFRESH_MS while the box is ticked; the choice outlives the page.
function setUpAutoRefresh() {
  const toggle = document.getElementById("auto-refresh");
  toggle.checked = localStorage.getItem(AUTO_REFRESH_KEY) !== "off";
  let timer = null;
  const apply = () => {
    clearInterval(timer);
    timer = toggle.checked ? setInterval(refresh, REFRESH_MS) : null;
  };
  toggle.addEventListener("change", () => {
    localStorage.setItem(AUTO_REFRESH_KEY, toggle.checked ? "on" : "off");
    apply();
  });
  apply();
}

function initDashboard() {
  document.getElementById("refresh-now").addEventListener("click", refresh);
  document.getElementById("logout").addEventListener("click", logOut);
  document.getElementById("add-tokens").addEventListener("click", addTokens);
  document
    .getElementById("check-all")
    .addEventListener("click", () => perform("Checking all tokens", () => checkTokens(null)));
  document.getElementById("tokens-table").tBodies[0].addEventListener("click", onTokenButton);
  // Charts follow their box's size: redrawn when the window (or the layout) changes.
  const charts = new ResizeObserver(() => latestState && renderCharts(latestState.series));
  document.querySelectorAll(".chart svg").forEach((svg) => charts.observe(svg));
  setUpAutoRefresh();
  refresh();
}

if (document.body.dataset.page === "login") initLogin();
else initDashboard();
