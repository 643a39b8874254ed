// The public lookup (/tra-cuu): a dossier by its receipt code, and each agency's on-time rate.
// No token: it reads only /api/v1/public/..., which answers public fields (the name masked).

const API = "/api/v1/public";
const STATUS = {
  in_progress: "Đang giải quyết", awaiting_supplement: "Chờ bổ sung hồ sơ",
  resolved: "Đã có kết quả", returned: "Đã trả kết quả", withdrawn: "Đã rút hồ sơ",
};
const OUTCOME = { approved: "Chấp thuận", rejected: "Từ chối" };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? "–"));
  return node;
}

function viDateTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const parts = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", day: "numeric",
    month: "numeric", year: "numeric", hour12: false,
  }).formatToParts(d);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.hour}:${p.minute} ${p.day}/${p.month}/${p.year}`;
}

async function fetchJson(path) {
  const answer = await fetch(API + path, { headers: { Accept: "application/json" } });
  if (answer.status === 429) {
    throw new Error(`Quá nhiều lượt tra cứu. Vui lòng thử lại sau ${answer.headers.get("Retry-After") || "ít"} giây.`);
  }
  if (answer.status === 404 || answer.status === 422) {
    throw new Error("Không tìm thấy hồ sơ với mã này. Vui lòng kiểm tra lại mã trên giấy tiếp nhận.");
  }
  if (!answer.ok) throw new Error(`Hệ thống đang bận (lỗi ${answer.status}). Vui lòng thử lại.`);
  return answer.json();
}

async function lookUp(code) {
  $("lookup-error").textContent = "";
  $("lookup-result").replaceChildren();
  try {
    const d = await fetchJson(`/dossiers/${encodeURIComponent(code)}`);
    const rows = [
      ["Mã hồ sơ", d.receipt_code], ["Người nộp", d.applicant], ["Cơ quan", d.agency_name],
      ["Thủ tục", d.procedure_name], ["Tình trạng", STATUS[d.status] || d.status],
      ["Tiếp nhận", viDateTime(d.received_at)], ["Hạn giải quyết", viDateTime(d.due_at)],
      ["Hẹn trả kết quả", viDateTime(d.appointment_at)],
      ["Kết quả", d.outcome ? OUTCOME[d.outcome] : "Chưa có"],
      ["Trả kết quả", d.result_returned ? `Đã trả lúc ${viDateTime(d.returned_at)}` : "Chưa trả"],
    ];
    $("lookup-result").replaceChildren(el("table", { id: "lookup-table" }, el("tbody", {},
      ...rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))))));
  } catch (error) {
    $("lookup-error").textContent = error.message;
  }
}

async function showBoard() {
  try {
    const board = await fetchJson("/on-time-rates");
    $("board-title").textContent = `Tỷ lệ giải quyết hồ sơ đúng hạn năm ${board.year}`;
    const [y, m, d] = board.as_of.split("-");
    $("board-note").textContent = `Số liệu từ 01/01/${board.year} đến ${d}/${m}/${y}.`;
    $("board-table").querySelector("tbody").replaceChildren(...board.items.map((i) => el("tr", {},
      el("td", {}, i.agency_name), el("td", { class: "n" }, i.received),
      el("td", { class: "n" }, i.resolved), el("td", { class: "n" }, i.resolved_on_time),
      el("td", { class: "n" }, i.overdue),
      el("td", { class: "n" }, i.on_time_rate === null ? "–"
        : `${(i.on_time_rate * 100).toLocaleString("vi-VN", { maximumFractionDigits: 1 })}%`))));
  } catch (error) {
    $("board-note").textContent = error.message;
  }
}

$("lookup-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = $("code").value.trim();
  history.replaceState(null, "", `?ma=${encodeURIComponent(code)}`);
  lookUp(code);
});
const given = new URLSearchParams(location.search).get("ma");
if (given) {
  $("code").value = given;
  lookUp(given);
}
showBoard();
