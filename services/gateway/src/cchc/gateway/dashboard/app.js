// The officials' dashboard: reads the REST API (/api/v1) with the bearer token pasted at sign-in,
// or, when the gateway names an identity provider (/dashboard/sign-in.json), with the access token
// of the provider's authorization code flow with PKCE, run here in the browser.
// No framework and nothing fetched from elsewhere: DOM built with textContent (never innerHTML of
// data), charts drawn as inline SVG. What a role may not see is not requested nor shown.

const API = "/api/v1";
const TOKEN_KEY = "cchc.token";
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const ALERTS_REFRESH_MS = 60000;  // the badge is read again this often
const ALERT_KIND = { overdue: "Quá hạn", due_today: "Đến hạn hôm nay",
  due_tomorrow: "Đến hạn ngày làm việc tiếp theo" };
const PKCE_KEY = "cchc.pkce";
const TZ = "Asia/Ho_Chi_Minh";
const SVG = "http://www.w3.org/2000/svg";

const STATUS = {
  in_progress: "Đang giải quyết", awaiting_supplement: "Chờ bổ sung", resolved: "Đã giải quyết",
  returned: "Đã trả kết quả", withdrawn: "Đã rút",
};
const TIMELINESS = { early: "Trước hạn", on_time: "Đúng hạn", late: "Trễ hạn" };
const CHANNEL = { online: "Trực tuyến", direct: "Trực tiếp", postal: "Bưu chính" };
const OUTCOME = { approved: "Chấp thuận", rejected: "Từ chối" };
const ROLE = {
  admin: "Quản trị hệ thống", home_affairs: "Sở Nội vụ", inspector: "Thanh tra, kiểm tra",
  officer: "Cán bộ",
};
const AREA = {
  direction: "Chỉ đạo, điều hành", institutions: "Cải cách thể chế",
  procedures: "Cải cách thủ tục hành chính", apparatus: "Cải cách tổ chức bộ máy",
  civil_service: "Cải cách chế độ công vụ", public_finance: "Cải cách tài chính công",
  digital_government: "Chính phủ điện tử, chính phủ số",
};
const EVENT = {
  DossierReceived: "Tiếp nhận hồ sơ", SupplementRequested: "Yêu cầu bổ sung hồ sơ",
  DossierSupplemented: "Bổ sung hồ sơ", DossierExtended: "Gia hạn, hẹn lại ngày trả",
  DossierResolved: "Giải quyết hồ sơ", ResultReturned: "Trả kết quả",
  DossierWithdrawn: "Rút hồ sơ",
};
const INDEX = { PAR: "Chỉ số CCHC", SIPAS: "Chỉ số SIPAS", SERVICE: "Chỉ số phục vụ (QĐ 766)" };
const METHOD = { manual: "Tự chấm", auto: "Tự động", survey: "Khảo sát" };
const GROUP = { department: "Sở, ban, ngành", district: "UBND cấp huyện", commune: "UBND cấp xã" };
const METRIC = {
  "plan.completion_rate": "tỷ lệ hoàn thành kế hoạch",
  "dossier.on_time_rate": "tỷ lệ hồ sơ giải quyết đúng hạn",
  "dossier.online_rate": "tỷ lệ hồ sơ trực tuyến",
  "procedures.published": "số thủ tục đã công bố",
  "procedures.full_online_rate": "tỷ lệ thủ tục trực tuyến toàn trình",
};

const state = {
  token: null, me: null, agencies: [], agency: "", year: 0, asOf: "", method: "form",
  minDossierPosition: 0, cursor: null, selected: null, generation: 0,
};

// --- small helpers ---------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const numberFormat = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 2 });
const num = (value) => (value === null || value === undefined ? "–" : numberFormat.format(value));
const pct = (rate) => (rate === null || rate === undefined ? "–"
  : new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 }).format(rate * 100) + "%");

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ }).format(new Date());
}

function nowLocalInput() {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date()).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

function viDate(iso) {
  if (!iso) return "–";
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return `${d}/${m}/${y}`;
}

function viDateTime(iso) {
  if (!iso) return "–";
  const moment = new Date(iso);
  return new Intl.DateTimeFormat("vi-VN", {
    timeZone: TZ, day: "numeric", month: "numeric", year: "numeric", hour: "2-digit",
    minute: "2-digit",
  }).format(moment);
}

// A datetime-local value is read as Vietnam time (DOMAIN: every time is in Asia/Ho_Chi_Minh).
const localInputToIso = (value) => `${value.length === 16 ? value + ":00" : value}+07:00`;

function newKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

const canReadAll = () => ["admin", "home_affairs", "inspector"].includes(state.me.role);
const canWrite = () => ["admin", "home_affairs", "officer"].includes(state.me.role);
const agencyName = (code) => state.agencies.find((a) => a.code === code)?.name || code;

function periodEnd() {
  const lastDay = `${state.year}-12-31`;
  return state.asOf < lastDay ? state.asOf : lastDay;
}

// --- the API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, { method = "GET", body, headers = {}, accept = "application/json",
  dossierRead = false } = {}) {
  const sent = { Authorization: `Bearer ${state.token}`, Accept: accept, ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  if (dossierRead && state.minDossierPosition) {
    sent["X-Min-Position"] = String(state.minDossierPosition);  // read our own writes
  }
  const answer = await fetch(API + path, {
    method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (answer.status === 401) {
    signOut("Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Vui lòng đăng nhập lại.");
    throw new ApiError(401, "Chưa đăng nhập");
  }
  if (!answer.ok) {
    let detail = `Lỗi ${answer.status}`;
    try {
      const problem = await answer.json();
      detail = problem.detail || problem.title || detail;
      if (problem.errors?.length) detail += ` (${problem.errors.map((e) => e.field).join(", ")})`;
    } catch { /* not a problem document */ }
    throw new ApiError(answer.status, detail);
  }
  const position = answer.headers.get("X-Event-Position");
  let data;
  if (accept === "application/json") data = await answer.json();
  else if (accept === XLSX) data = await answer.blob();
  else data = await answer.text();
  return { data, position: position ? Number(position) : null, etag: answer.headers.get("ETag"),
    headers: answer.headers };
}

const get = async (path, options) => (await api(path, options)).data;
const query = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
};

async function allPages(path, params = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path + query({ ...params, limit: 500, cursor }));
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// --- sign-in ---------------------------------------------------------------------------------

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

async function signIn(token) {
  if (!JWT.test(token)) throw new ApiError(401, "not a token");
  state.token = token;
  const me = await get("/me");
  sessionStorage.setItem(TOKEN_KEY, token);
  state.me = me;
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  await start();
}

// --- sign-in through the province's identity provider (authorization code + PKCE) -------------

let provider = null;  // {issuer, client_id, scope, authorization_endpoint, token_endpoint} or null

const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomText = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => `${location.origin}/dashboard/`;

async function loadProvider() {
  try {
    const answer = await fetch("/dashboard/sign-in.json", { headers: { Accept: "application/json" } });
    if (!answer.ok) throw new Error(`Lỗi ${answer.status}`);
    provider = (await answer.json()).oidc || null;
  } catch {
    provider = null;
    $("sign-in-error").textContent = "Chưa kết nối được với hệ thống đăng nhập của tỉnh.";
  }
  $("sso").hidden = !provider;
  $("sign-in-form").hidden = Boolean(provider);
}

async function ssoStart() {
  const verifier = randomText();
  const stateValue = randomText();
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state: stateValue }));
  const url = new URL(provider.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code", client_id: provider.client_id, redirect_uri: redirectUri(),
    scope: provider.scope, state: stateValue, code_challenge: base64url(digest),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

async function ssoFinish(params) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", location.pathname);  // the code is single-use: not kept in view
  if (params.get("error")) {
    throw new Error(`Hệ thống đăng nhập từ chối: ${params.get("error_description") || params.get("error")}`);
  }
  if (!saved || saved.state !== params.get("state")) {
    throw new Error("Phiên đăng nhập không khớp. Vui lòng đăng nhập lại.");
  }
  const answer = await fetch(provider.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
      client_id: provider.client_id, code_verifier: saved.verifier,
    }),
  });
  if (!answer.ok) throw new Error("Hệ thống đăng nhập không cấp mã truy cập. Vui lòng thử lại.");
  const tokens = await answer.json();
  await signIn(tokens.access_token);
}

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.me = null;
  state.generation += 1;
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  $(provider ? "sso-error" : "sign-in-error").textContent = message;
}

// --- set-up after sign-in --------------------------------------------------------------------

async function start() {
  const me = state.me;
  state.asOf = today();
  state.year = Number(state.asOf.slice(0, 4));
  state.agencies = await allPages("/agencies");
  $("who").textContent = `${ROLE[me.role] || me.role}${me.agency ? " · " + agencyName(me.agency) : ""}`;

  const select = $("agency");
  select.replaceChildren();
  if (canReadAll()) {
    select.append(el("option", { value: "" }, "Toàn tỉnh"));
    for (const agency of state.agencies) {
      select.append(el("option", { value: agency.code }, `${agency.name} (${agency.code})`));
    }
    state.agency = "";
    $("agency-field").hidden = false;
    $("own-agency").hidden = true;
  } else {
    // An officer sees its own agency only: no selector, no other agency's name.
    state.agency = me.agency;
    $("agency-field").hidden = true;
    $("own-agency").hidden = false;
    $("own-agency").textContent = agencyName(me.agency);
  }
  fillYears();
  $("as-of").value = state.asOf;
  await refresh();
}

function fillYears() {
  const current = Number(today().slice(0, 4));
  const years = new Set([state.year]);
  for (let y = current; y >= current - 6; y -= 1) years.add(y);
  const sorted = [...years].sort((a, b) => b - a);
  $("year").replaceChildren(...sorted.map((y) => el("option", { value: y }, y)));
  $("year").value = String(state.year);
  // Indexes of a year are published the next year: the previous year's by default.
  const indexYears = new Set([state.year, ...sorted.map((y) => y - 1)]);
  $("index-year").replaceChildren(...[...indexYears].sort((a, b) => b - a)
    .map((y) => el("option", { value: y }, y)));
  $("index-year").value = String(state.year - 1);
}

async function refresh() {
  const generation = ++state.generation;
  $("app-error").textContent = "";
  state.selected = null;
  $("dossier-detail").hidden = true;
  const jobs = [loadFigures(generation), loadPlan(generation), loadIndexes(generation),
    loadReport(generation), loadDossiers(generation, true), setUpReceive(generation),
    loadAlerts(generation), loadBackups(generation)];
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r) => r.status === "rejected" && r.reason?.status !== 401);
  if (failed && generation === state.generation) $("app-error").textContent = failed.reason.message;
  document.body.dataset.ready = String(generation);  // for tests and screen readers' sake
}

// --- dossier figures and the monthly chart ---------------------------------------------------

async function loadFigures(generation) {
  const end = periodEnd();
  const from = `${state.year}-01-01`;
  const method = state.method;
  const stats = await get(`/dossier-stats${query({ agency: state.agency, from, to: end, method })}`,
    { dossierRead: true });
  const months = [];
  for (let m = 1; m <= Number(end.slice(5, 7)); m += 1) {
    const first = `${state.year}-${String(m).padStart(2, "0")}-01`;
    const last = new Date(Date.UTC(state.year, m, 0)).toISOString().slice(0, 10);
    months.push({ month: m, from: first, to: last < end ? last : end });
  }
  const monthly = await Promise.all(months.map((p) => get(
    `/dossier-stats${query({ agency: state.agency, from: p.from, to: p.to, method })}`,
    { dossierRead: true })));
  if (generation !== state.generation) return;

  $("period").textContent = `${state.agency ? agencyName(state.agency) : "Toàn tỉnh"}: từ ngày `
    + `${viDate(from)} đến hết ngày ${viDate(end)}`;
  const figures = {
    received: stats.received.total, resolved: stats.resolved.total, early: stats.resolved.early,
    on_time: stats.resolved.on_time, late: stats.resolved.late,
    in_progress: stats.in_progress.total, overdue: stats.in_progress.overdue,
  };
  for (const [key, value] of Object.entries(figures)) {
    document.querySelector(`[data-kpi="${key}"]`).textContent = num(value);
  }
  document.querySelector('[data-kpi="on_time_rate"]').textContent = pct(stats.on_time_rate);
  drawRateChart(months.map((p, i) => ({ ...p, stats: monthly[i] })));
  drawByAgency(stats.by_agency);
}

function drawRateChart(months) {
  const width = 640, height = 230, left = 40, right = 10, top = 16, bottom = 34;
  const plotH = height - top - bottom;
  const step = (width - left - right) / 12;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "Tỷ lệ hồ sơ giải quyết đúng hạn theo tháng",
  });
  for (const tick of [0, 0.5, 1]) {
    const y = top + plotH * (1 - tick);
    chart.append(svg("line", { x1: left, x2: width - right, y1: y, y2: y, class: "axis" }));
    chart.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, `${tick * 100}%`));
  }
  for (let m = 1; m <= 12; m += 1) {
    const x = left + step * (m - 1) + step / 2;
    chart.append(svg("text", { x, y: height - 12, "text-anchor": "middle" }, `T${m}`));
    const month = months.find((p) => p.month === m);
    if (!month) continue;
    const { stats } = month;
    const rate = stats.on_time_rate;
    const barW = Math.min(28, step * 0.6);
    if (rate === null || rate === undefined) {
      chart.append(svg("text", { x, y: top + plotH - 4, "text-anchor": "middle" }, "–"));
      continue;
    }
    const barH = Math.max(2, plotH * rate);
    const bar = svg("rect", {
      x: x - barW / 2, y: top + plotH - barH, width: barW, height: barH, rx: 3,
      fill: rate >= 0.95 ? "#1f7a4d" : rate >= 0.8 ? "#2f6fb5" : "#c2410c",
    });
    bar.append(svg("title", {}, `Tháng ${m}: ${pct(rate)} (${stats.resolved.total} hồ sơ đã giải quyết)`));
    chart.append(bar);
    chart.append(svg("text", { x, y: top + plotH - barH - 4, "text-anchor": "middle" }, pct(rate)));
  }
  $("rate-chart").replaceChildren(chart);
}

function drawByAgency(byAgency) {
  const box = $("by-agency");
  if (!byAgency || state.agency) { box.replaceChildren(); return; }
  const rows = Object.entries(byAgency).map(([code, s]) => el("tr", {
    class: "clickable", onclick: () => chooseAgency(code),
  },
  el("td", {}, agencyName(code)), el("td", { class: "n" }, num(s.received.total)),
  el("td", { class: "n" }, num(s.resolved.total)),
  el("td", { class: "n" }, num(s.resolved.early + s.resolved.on_time)),
  el("td", { class: "n" }, num(s.resolved.late)), el("td", { class: "n" }, num(s.in_progress.total)),
  el("td", { class: "n" }, num(s.in_progress.overdue)), el("td", { class: "n" }, pct(s.on_time_rate))));
  box.replaceChildren(el("h3", {}, "Theo cơ quan, đơn vị"), el("div", { class: "table-wrap" },
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Cơ quan"),
      el("th", { class: "n" }, "Tiếp nhận"), el("th", { class: "n" }, "Đã giải quyết"),
      el("th", { class: "n" }, "Trước và đúng hạn"), el("th", { class: "n" }, "Trễ hạn"),
      el("th", { class: "n" }, "Đang giải quyết"), el("th", { class: "n" }, "Quá hạn"),
      el("th", { class: "n" }, "Tỷ lệ đúng hạn"))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 8 }, "Chưa có hồ sơ."))))));
}

function chooseAgency(code) {
  if (!canReadAll()) return;
  $("agency").value = code;
  state.agency = code;
  refresh();
}

// --- plan progress by area -------------------------------------------------------------------

async function loadPlan(generation) {
  const plans = await allPages("/plans", { agency: state.agency, year: state.year });
  const progress = await Promise.all(plans.slice(0, 100).map((plan) =>
    get(`/plans/${encodeURIComponent(plan.id)}/progress${query({ as_of: state.asOf })}`)));
  if (generation !== state.generation) return;
  const box = $("plan-body");
  if (!plans.length) {
    box.replaceChildren(el("p", { class: "muted" }, `Chưa có kế hoạch CCHC năm ${state.year}.`));
    return;
  }
  const total = { total: 0, completed: 0, cancelled: 0, overdue: 0 };
  const areas = {};
  for (const p of progress) {
    for (const key of Object.keys(total)) total[key] += p[key] || 0;
    for (const [area, counts] of Object.entries(p.by_area)) {
      const sum = areas[area] || (areas[area] = { total: 0, completed: 0, cancelled: 0 });
      sum.total += counts.total; sum.completed += counts.completed;
      sum.cancelled += counts.cancelled || 0;
    }
  }
  const rate = (done, all, cancelled) => (all - cancelled > 0 ? done / (all - cancelled) : null);
  const title = plans.length === 1 ? plans[0].title : `${plans.length} kế hoạch năm ${state.year}`;
  const areaRows = Object.entries(areas).filter(([, c]) => c.total > 0).map(([area, c]) => {
    const r = rate(c.completed, c.total, c.cancelled);
    return el("tr", {}, el("td", {}, AREA[area] || area),
      el("td", { class: "n" }, `${num(c.completed)}/${num(c.total - c.cancelled)}`),
      el("td", {}, el("div", { class: "bar", title: pct(r) },
        el("span", { style: `width:${Math.round((r || 0) * 100)}%` }))));
  });
  box.replaceChildren(
    el("p", {}, el("strong", {}, title)),
    el("p", {}, `Hoàn thành ${num(total.completed)}/${num(total.total - total.cancelled)} nhiệm vụ `
      + `(${pct(rate(total.completed, total.total, total.cancelled))}); quá hạn `
      + `${num(total.overdue)}; tính đến ngày ${viDate(state.asOf)}.`),
    el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "Lĩnh vực"), el("th", { class: "n" }, "Hoàn thành"),
        el("th", {}, "Tiến độ"))),
      el("tbody", {}, areaRows.length ? areaRows
        : el("tr", {}, el("td", { colspan: 3 }, "Kế hoạch chưa có nhiệm vụ."))))),
  );
}

// --- indexes, rankings and the criteria of an assessment -------------------------------------

async function loadIndexes(generation) {
  const kind = $("index-kind").value;
  const indexYear = Number($("index-year").value);
  const agency = state.agency;
  const group = agency ? state.agencies.find((a) => a.code === agency)?.group : undefined;
  const [ranking, own, assessments] = await Promise.all([
    get(`/rankings${query({ index: kind, year: indexYear, group })}`),
    agency ? get(`/index-results${query({ agency })}`) : null,
    agency ? get(`/assessments${query({ agency })}`) : null,
  ]);
  const assessment = assessments?.items.find((a) => a.index === kind && a.year === indexYear)
    || assessments?.items.find((a) => a.index === kind);
  const detail = assessment ? await get(`/assessments/${encodeURIComponent(assessment.id)}`) : null;
  if (generation !== state.generation) return;

  const parts = [];
  if (own) {
    const lines = own.items.map((i) => el("li", {}, `${INDEX[i.index] || i.index} năm ${i.year}: `,
      el("strong", {}, num(i.score)), i.rank ? ` — xếp thứ ${i.rank}/${i.of}` : ""));
    parts.push(el("h3", {}, "Kết quả đã công bố"),
      lines.length ? el("ul", {}, lines) : el("p", { class: "muted" }, "Chưa có kết quả công bố."));
  }
  const rows = ranking.items.slice(0, 50).map((item) => el("tr", {
    class: item.agency === agency ? "selected" : null,
  }, el("td", { class: "n" }, item.rank), el("td", {}, agencyName(item.agency)),
  el("td", { class: "hide-narrow" }, GROUP[item.group] || item.group),
  el("td", { class: "n" }, num(item.score))));
  parts.push(el("h3", {}, `Xếp hạng ${INDEX[kind]} năm ${indexYear}`
    + (group ? ` — ${GROUP[group] || group}` : "")),
  rows.length ? el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {},
    el("th", { class: "n" }, "Hạng"), el("th", {}, "Cơ quan"),
    el("th", { class: "hide-narrow" }, "Nhóm"), el("th", { class: "n" }, "Điểm"))),
  el("tbody", {}, rows))) : el("p", { class: "muted" }, "Chưa có kết quả xếp hạng."));
  if (detail) parts.push(...assessmentView(detail));
  else if (agency) parts.push(el("p", { class: "muted" }, `Chưa có đợt tự đánh giá ${INDEX[kind]}.`));
  $("index-body").replaceChildren(...parts);
}

function explain(c) {
  const e = c.explanation;
  if (!e) return null;
  if (c.method === "auto") {
    const metric = METRIC[e.metric] || e.metric;
    if (e.value === null || e.value === undefined) return `Chưa có số liệu ${metric}: 0 điểm.`;
    const value = e.metric?.endsWith("_rate") ? pct(e.value) : num(e.value);
    let rule = e.rule;
    if (e.band) rule = `mức từ ${pct(e.band.min_rate)} được ${num(e.band.points)} điểm`;
    else if (e.threshold !== undefined && e.value >= e.threshold) rule = `đạt ngưỡng ${pct(e.threshold)}: đủ điểm`;
    else if (e.threshold !== undefined) rule = `chưa đạt ngưỡng ${pct(e.threshold)}: tính theo tỷ lệ`;
    else if (rule === "below every band") rule = "dưới mọi mức";
    return `${metric[0].toUpperCase()}${metric.slice(1)} = ${value}; ${rule} → ${num(e.points)} điểm.`;
  }
  if (c.method === "survey" && e.respondents) {
    return `${num(e.satisfied)}/${num(e.respondents)} người hài lòng.`;
  }
  return null;
}

function assessmentView(a) {
  const rows = a.criteria.map((c) => el("tr", {},
    el("td", {}, el("div", {}, `${c.code}. ${c.title}`),
      explain(c) ? el("div", { class: "muted" }, explain(c)) : null),
    el("td", { class: "hide-narrow" }, METHOD[c.method] || c.method),
    el("td", { class: "n" }, num(c.final)), el("td", { class: "n" }, num(c.max_points))));
  return [
    el("h3", {}, `Đánh giá ${INDEX[a.index] || a.index} năm ${a.year}: ${num(a.score)}/${num(a.max_score)} điểm`
      + (a.status === "finished" ? "" : " (đang chấm)")),
    el("div", { class: "table-wrap" }, el("table", { id: "criteria" }, el("thead", {}, el("tr", {},
      el("th", {}, "Tiêu chí"), el("th", { class: "hide-narrow" }, "Cách chấm"),
      el("th", { class: "n" }, "Điểm"), el("th", { class: "n" }, "Tối đa"))),
    el("tbody", {}, rows))),
  ];
}

// --- the agency report -----------------------------------------------------------------------

async function loadReport(generation) {
  const frame = $("report-frame");
  $("download-report").hidden = !state.agency;
  if (!state.agency) {
    frame.hidden = true;
    frame.srcdoc = "";
    $("report-note").textContent = "Chọn một cơ quan, đơn vị để xem báo cáo.";
    return;
  }
  // The page needs the bearer token: fetched here and shown in a sandboxed frame. No scripts
  // run there; same origin only so that it is laid out and printed with the page.
  const html = await get(`/reports/agency${query({ agency: state.agency, year: state.year,
    as_of: state.asOf })}`, { accept: "text/html" });
  if (generation !== state.generation) return;
  $("report-note").textContent = `Báo cáo kết quả CCHC năm ${state.year}, số liệu đến ngày `
    + `${viDate(state.asOf)}.`;
  frame.srcdoc = html;
  frame.hidden = false;
}

// --- Excel downloads (the II.06a form, the agency report) ------------------------------------

function fileName(answerHeaders, fallback) {
  const disposition = answerHeaders.get("Content-Disposition") || "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  return encoded ? decodeURIComponent(encoded[1]) : fallback;
}

async function downloadWorkbook(path, fallback, errorId, button) {
  $(errorId).textContent = "";
  button.disabled = true;
  try {
    const answer = await api(path, { accept: XLSX, dossierRead: true });
    const url = URL.createObjectURL(answer.data);
    const link = el("a", { href: url, download: fileName(answer.headers, fallback) });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    document.body.dataset.downloaded = link.download;  // for tests' sake
  } catch (error) {
    if (error.status !== 401) $(errorId).textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

function downloadStats(event) {
  const from = `${state.year}-01-01`;
  const to = periodEnd();
  downloadWorkbook(`/dossier-stats${query({ agency: state.agency, from, to })}`,
    `bieu-II.06a-${state.agency || "tinh"}-${from}-${to}.xlsx`, "download-stats-error",
    event.currentTarget);
}

function downloadReport(event) {
  downloadWorkbook(`/reports/agency${query({ agency: state.agency, year: state.year,
    as_of: state.asOf })}`, `bao-cao-cchc-${state.agency}-${state.year}.xlsx`,
  "download-report-error", event.currentTarget);
}

// --- alerts: dossiers due today, on the next working day, and overdue -------------------------

async function loadAlerts(generation) {
  const day = today();
  const alerts = await get(`/alerts${query({ agency: state.agency, day })}`, { dossierRead: true });
  if (generation !== state.generation) return;
  $("alert-count").textContent = num(alerts.count);
  $("alerts-link").hidden = false;
  $("alerts-link").classList.toggle("none", alerts.count === 0);
  $("alerts-link").dataset.count = String(alerts.count);
  $("alerts").hidden = alerts.count === 0;
  $("alerts-note").textContent = `Ngày ${viDate(alerts.day)}; ngày làm việc tiếp theo `
    + `${viDate(alerts.next_working_day)}.`;
  const rows = [];
  for (const agency of alerts.agencies) {
    for (const kind of ["overdue", "due_today", "due_tomorrow"]) {
      for (const item of agency[kind]) {
        rows.push(el("tr", { class: kind },
          el("td", {}, ALERT_KIND[kind]), el("td", {}, item.receipt_code || item.id),
          el("td", {}, agencyName(agency.agency)),
          el("td", {}, item.procedure_name || item.procedure), el("td", {}, item.applicant_name || "–"),
          el("td", {}, viDateTime(item.due_at))));
      }
    }
  }
  $("alerts-body").replaceChildren(el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "Cảnh báo"), el("th", {}, "Mã hồ sơ"),
      el("th", {}, "Cơ quan"),
      el("th", {}, "Thủ tục"), el("th", {}, "Người nộp"), el("th", {}, "Hạn giải quyết"))),
    el("tbody", {}, rows)));
}

// --- the scheduled backups (admin): GET /health says how the last one went -------------------

async function loadBackups(generation) {
  if (state.me.role !== "admin") return;
  let backups = null;
  try {
    // 200 or 503, the same report either way; no token needed.
    backups = (await (await fetch("/health", { headers: { Accept: "application/json" } })).json())
      .backups;
  } catch { /* the gateway is unreachable: the other cards say so */ }
  if (generation !== state.generation) return;
  const failing = Boolean(backups) && !backups.healthy;
  $("backup-warning").hidden = !failing;
  $("backup-detail").textContent = failing ? backups.detail : "";
}

// --- the dossier list, a dossier's history and audit, and the two commands -------------------

// The audit's verdict: the hash chain, the services' signatures and the covering anchor.
function auditStatus(audit) {
  const signatures = audit.signatures || [];
  const invalid = signatures.filter((s) => s.status === "invalid").length;
  const unsigned = signatures.filter((s) => s.status === "unsigned").length;
  const chain = audit.chain_valid ?? audit.valid;
  return [
    chain
      ? el("span", { class: "badge valid" }, "Chuỗi băm hợp lệ")
      : el("span", { class: "badge invalid" }, `Chuỗi băm bị sai lệch từ sự kiện ${audit.broken_at}`),
    " ",
    invalid
      ? el("span", { class: "badge invalid" }, `${invalid} sự kiện có chữ ký số không hợp lệ`)
      : el("span", { class: "badge valid" }, unsigned
        ? `Chữ ký số hợp lệ; ${unsigned} sự kiện ghi trước khi có chữ ký số`
        : "Chữ ký số hợp lệ"),
    ` ${audit.events} sự kiện; mã băm cuối ${audit.head_hash.slice(0, 16)}…; `,
    audit.anchor ? `mốc kiểm chứng ${audit.anchor.short_fingerprint}` : "chưa có mốc kiểm chứng",
  ];
}

async function loadDossiers(generation, reset) {
  if (reset) state.cursor = null;
  const page = await get(`/dossiers${query({
    agency: state.agency, q: $("search").value.trim(), status: $("status-filter").value,
    irregular_supplement: $("irregular-filter").checked ? "true" : "", limit: 20,
    cursor: state.cursor,
  })}`, { dossierRead: true });
  if (generation !== state.generation) return;
  const table = $("dossier-list");
  let body = table.querySelector("tbody");
  if (reset || !body) {
    body = el("tbody");
    table.replaceChildren(el("table", {}, el("thead", {}, el("tr", {},
      el("th", {}, "Người nộp"), el("th", { class: "hide-narrow" }, "Thủ tục"),
      el("th", { class: "hide-narrow" }, "Kênh"), el("th", {}, "Tiếp nhận"),
      el("th", { class: "hide-narrow" }, "Hạn giải quyết"), el("th", {}, "Trạng thái"))), body));
  }
  for (const d of page.items) {
    body.append(el("tr", { class: "clickable", dataset: { id: d.id }, onclick: () => openDossier(d.id) },
      el("td", {}, d.applicant?.name || "–", el("div", { class: "muted" }, `…${d.id.slice(-8)}`)),
      el("td", { class: "hide-narrow" }, d.procedure),
      el("td", { class: "hide-narrow" }, CHANNEL[d.channel] || d.channel),
      el("td", {}, viDateTime(d.received_at)), el("td", { class: "hide-narrow" }, viDateTime(d.due_at)),
      el("td", {}, STATUS[d.status] || d.status, " ",
        d.timeliness ? el("span", { class: `badge ${d.timeliness}` }, TIMELINESS[d.timeliness]) : null)));
  }
  if (!body.children.length) {
    body.append(el("tr", {}, el("td", { colspan: 6 }, "Không có hồ sơ phù hợp.")));
  }
  state.cursor = page.next_cursor;
  $("more-dossiers").hidden = !page.next_cursor;
}

async function openDossier(id) {
  const generation = state.generation;
  const [dossier, audit] = await Promise.all([
    get(`/dossiers/${encodeURIComponent(id)}`, { dossierRead: true }),
    get(`/audit/dossiers/${encodeURIComponent(id)}`),
  ]);
  if (generation !== state.generation) return;
  state.selected = dossier;
  for (const row of document.querySelectorAll("#dossier-list tr.selected")) row.classList.remove("selected");
  document.querySelector(`#dossier-list tr[data-id="${CSS.escape(id)}"]`)?.classList.add("selected");
  const facts = [
    ["Mã hồ sơ", dossier.receipt_code || dossier.id], ["Người nộp", dossier.applicant?.name || "–"],
    ["Cơ quan", agencyName(dossier.agency)], ["Thủ tục", dossier.procedure],
    ["Kênh", CHANNEL[dossier.channel] || dossier.channel],
    ["Tiếp nhận", viDateTime(dossier.received_at)], ["Hạn giải quyết", viDateTime(dossier.due_at)],
    ["Hẹn trả", viDateTime(dossier.appointment_at)],
    ["Trạng thái", STATUS[dossier.status] || dossier.status],
    ["Kết quả", dossier.outcome ? OUTCOME[dossier.outcome] : "–"],
    ["Đánh giá", dossier.timeliness ? TIMELINESS[dossier.timeliness] : "–"],
    ["Hạn theo QĐ 766", viDateTime(dossier.due_at_766)],
    ["Đánh giá theo QĐ 766", dossier.timeliness_766 ? TIMELINESS[dossier.timeliness_766] : "–"],
    ["Yêu cầu bổ sung", dossier.supplement_requests
      ? `${dossier.supplement_requests} lần${dossier.irregular_supplement
        ? " (có yêu cầu sau 3 ngày làm việc kể từ ngày tiếp nhận)" : ""}`
      : "Không"],
    ...(dossier.late_entry ? [["Nhập muộn", `${dossier.late_entry.events} sự kiện nhập sau thời điểm xảy ra`
      + (dossier.late_entry.reason ? ` (${dossier.late_entry.reason})` : "")]] : []),
  ];
  const history = dossier.history.map((e) => el("tr", {},
    el("td", {}, viDateTime(e.occurred_at)), el("td", {}, EVENT[e.type] || e.type,
      e.late_entry ? el("span", {
        class: "badge late-entry",
        title: `Nhập lúc ${viDateTime(e.recorded_at)}${e.late_entry.reason ? `: ${e.late_entry.reason}` : ""}`,
      }, "Nhập muộn") : ""),
    el("td", { class: "hide-narrow" }, e.actor || "–"), el("td", { class: "n" }, e.version)));
  $("detail-body").replaceChildren(
    el("div", { class: "table-wrap" }, el("table", {}, el("tbody", {},
      facts.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))))),
    el("p", {}, el("button", { type: "button", id: "receipt-slip", class: "secondary",
      onclick: () => openReceiptSlip(dossier.id) }, "In giấy tiếp nhận và hẹn trả kết quả")),
    el("h3", {}, "Kiểm tra toàn vẹn"),
    el("p", { id: "audit-status" }, ...auditStatus(audit)),
    el("h3", {}, "Lịch sử xử lý"),
    el("div", { class: "table-wrap" }, el("table", { id: "history" }, el("thead", {}, el("tr", {},
      el("th", {}, "Thời điểm"), el("th", {}, "Bước xử lý"), el("th", { class: "hide-narrow" }, "Người thực hiện"),
      el("th", { class: "n" }, "Phiên bản"))), el("tbody", {}, history))),
  );
  const resolvable = canWrite() && dossier.status === "in_progress";
  $("resolve-box").hidden = !resolvable;
  $("resolve-error").textContent = "";
  if (resolvable) $("resolve-at").value = nowLocalInput();
  $("dossier-detail").hidden = false;
}

async function openReceiptSlip(id) {
  // The slip needs the bearer token, so it is fetched and shown from memory, not linked.
  const answer = await fetch(`${API}/dossiers/${encodeURIComponent(id)}/receipt`, {
    headers: { Authorization: `Bearer ${state.token}` },
  });
  if (!answer.ok) {
    $("detail-body").prepend(el("p", { class: "error", role: "alert" },
      `Không tạo được giấy tiếp nhận (lỗi ${answer.status}).`));
    return;
  }
  const url = URL.createObjectURL(await answer.blob());
  window.open(url, "_blank", "noopener");
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function setUpReceive(generation) {
  // Commands only for roles that may write, and for one agency (its procedures).
  const box = $("receive-box");
  if (!canWrite() || !state.agency) { box.hidden = true; return; }
  const procedures = await allPages("/procedures", { agency: state.agency });
  if (generation !== state.generation) return;
  $("receive-procedure").replaceChildren(...procedures.map((p) =>
    el("option", { value: p.code }, `${p.name} (${p.code}, ${p.processing_days} ngày)`)));
  $("receive-at").value = nowLocalInput();
  $("receive-error").textContent = "";
  box.hidden = procedures.length === 0;
}

async function receive(event) {
  event.preventDefault();
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  $("receive-error").textContent = "";
  $("receive-notice").textContent = "";
  try {
    const answer = await api("/dossiers", {
      method: "POST", headers: { "Idempotency-Key": newKey() },
      body: {
        procedure: $("receive-procedure").value, channel: $("receive-channel").value,
        received_at: localInputToIso($("receive-at").value),
        applicant: { name: $("receive-applicant").value.trim() },
      },
    });
    state.minDossierPosition = Math.max(state.minDossierPosition, answer.position || 0);
    $("receive-notice").textContent = `Đã tiếp nhận hồ sơ …${answer.data.id.slice(-8)}; hạn giải `
      + `quyết ${viDateTime(answer.data.due_at)}.`;
    $("receive-applicant").value = "";
    await afterCommand(answer.data.id);
  } catch (error) {
    $("receive-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

async function resolve(event) {
  event.preventDefault();
  const dossier = state.selected;
  if (!dossier) return;
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  $("resolve-error").textContent = "";
  try {
    const answer = await api(`/dossiers/${encodeURIComponent(dossier.id)}/resolution`, {
      method: "POST", headers: { "If-Match": `"${dossier.version}"`, "Idempotency-Key": newKey() },
      body: {
        resolved_at: localInputToIso($("resolve-at").value), outcome: $("resolve-outcome").value,
        reason: $("resolve-reason").value.trim(),
      },
    });
    state.minDossierPosition = Math.max(state.minDossierPosition, answer.position || 0);
    await afterCommand(dossier.id);
  } catch (error) {
    $("resolve-error").textContent = error.status === 412
      ? "Hồ sơ vừa được cập nhật bởi người khác; đã tải lại, vui lòng kiểm tra."
      : error.message;
    if (error.status === 412) await openDossier(dossier.id);
  } finally {
    button.disabled = false;
  }
}

async function afterCommand(dossierId) {
  const generation = state.generation;
  await Promise.all([loadFigures(generation), loadDossiers(generation, true),
    loadAlerts(generation)]);
  await openDossier(dossierId);
  document.body.dataset.ready = `${generation}-${state.minDossierPosition}`;
}

// --- wiring ----------------------------------------------------------------------------------

function wire() {
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    try {
      await signIn($("token").value.trim());
      $("token").value = "";
    } catch (error) {
      if (error.status !== 401) $("sign-in-error").textContent = error.message;
      else $("sign-in-error").textContent = "Mã truy cập không hợp lệ.";
    }
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("sso-button").addEventListener("click", () => {
    $("sso-error").textContent = "";
    ssoStart().catch((error) => { $("sso-error").textContent = error.message; });
  });
  $("agency").addEventListener("change", (e) => { state.agency = e.target.value; refresh(); });
  $("year").addEventListener("change", (e) => {
    state.year = Number(e.target.value);
    const now = today();
    state.asOf = String(state.year) === now.slice(0, 4) ? now : `${state.year}-12-31`;
    $("as-of").value = state.asOf;
    fillYears();
    refresh();
  });
  $("as-of").addEventListener("change", (e) => {
    if (!e.target.value) return;
    state.asOf = e.target.value;
    state.year = Number(state.asOf.slice(0, 4));
    fillYears();
    refresh();
  });
  const reloadIndexes = () => loadIndexes(state.generation).catch((e) => {
    $("app-error").textContent = e.message;
  });
  $("index-kind").addEventListener("change", reloadIndexes);
  $("index-year").addEventListener("change", reloadIndexes);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadDossiers(state.generation, true).catch((e) => { $("app-error").textContent = e.message; });
  });
  $("status-filter").addEventListener("change", () => loadDossiers(state.generation, true)
    .catch((e) => { $("app-error").textContent = e.message; }));
  $("irregular-filter").addEventListener("change", () => loadDossiers(state.generation, true)
    .catch((e) => { $("app-error").textContent = e.message; }));
  $("stats-method").addEventListener("change", (e) => {
    state.method = e.target.value;
    loadFigures(state.generation).catch((error) => { $("app-error").textContent = error.message; });
  });
  $("more-dossiers").addEventListener("click", () => loadDossiers(state.generation, false)
    .catch((e) => { $("app-error").textContent = e.message; }));
  $("receive-form").addEventListener("submit", receive);
  $("resolve-form").addEventListener("submit", resolve);
  $("download-stats").addEventListener("click", downloadStats);
  $("download-report").addEventListener("click", downloadReport);
  setInterval(() => {
    if (state.token && state.me) loadAlerts(state.generation).catch(() => {});
  }, ALERTS_REFRESH_MS);
}

async function boot() {
  await loadProvider();
  const params = new URLSearchParams(location.search);
  if (provider && (params.has("code") || params.has("error"))) {
    try {
      await ssoFinish(params);
    } catch (error) {
      signOut();
      $("sso-error").textContent = error.message;
    }
    return;
  }
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    signIn(saved).catch(() => signOut("Vui lòng đăng nhập lại."));
  } else {
    signOut($("sign-in-error").textContent);
  }
}

wire();
boot();
