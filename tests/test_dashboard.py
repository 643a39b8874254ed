"""The officials' dashboard in a real headless Chromium (Debian's), against the whole stack.

Signs in with tokens minted for each role, reads the figures the page shows, takes screenshots
(checked for size and content), receives and resolves a dossier through the page's forms, and
checks that an officer sees its own agency only. Without /usr/bin/chromium the browser tests
skip, unless CI is set: there they fail. CCHC_SCREENSHOT_DIR=<folder> keeps the screenshots.
"""

import os
import re
import struct
import zlib
from collections import Counter
from pathlib import Path

import httpx
import pytest

from api_steps import unique
from cchc.gateway.auth import issue_token

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
AS_OF = "2022-07-15"
WAIT_MS = 15_000

# The page is the same whatever database is behind the API: SQLite only.
pytestmark = pytest.mark.parametrize("stack_api", ["sqlite"], indirect=True)


def chromium_or_skip() -> None:
    missing = None
    if not os.access(CHROMIUM, os.X_OK):
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (it is in requirements.lock)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the dashboard tests need a browser: {missing}")
        pytest.skip(f"the dashboard tests need a browser: {missing}")


@pytest.fixture(scope="module")
async def browser():
    chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser):
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors  # type: ignore[attr-defined]
    yield page
    await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def token(api, role: str, agency: str | None = None) -> str:
    return issue_token(api.secret, f"{role}-{agency or 'all'}", role, agency)


async def ok(answer: httpx.Response, status: int = 200) -> dict:
    assert answer.status_code == status, answer.text
    return answer.json()


@pytest.fixture(scope="module")
async def world(stack_api) -> dict:
    """Agency A with dossiers of 2022 (one early, one late, one overdue on 15/7), a plan of three tasks
    with one done, published PAR results and a PAR assessment with an auto criterion; agency B
    with a dossier of its own that A's officer must never see."""
    admin = stack_api.admin
    a, b = unique("STP"), unique("SYT")
    await ok(await admin.post("/api/v1/agencies", json={
        "code": a, "name": "Sở Tư pháp", "group": "department"}), 201)
    await ok(await admin.post("/api/v1/agencies", json={
        "code": b, "name": "Sở Y tế", "group": "department"}), 201)
    procedures = {}
    for agency, name in ((a, "Cấp phiếu lý lịch tư pháp"), (b, "Cấp chứng chỉ hành nghề")):
        code = f"1.{unique('')}.000.00.00.{agency}"
        await ok(await admin.post("/api/v1/procedures", json={
            "code": code, "name": name, "agency": agency, "field": "Tư pháp",
            "processing_days": 3, "online_level": "full"}), 201)
        procedures[agency] = code

    async def receive(agency: str, at: str, name: str) -> dict:
        return await ok(await admin.post("/api/v1/dossiers", json={
            "procedure": procedures[agency], "channel": "online", "received_at": at,
            "applicant": {"name": name, "phone": "0912345678"}}), 201)

    async def resolve(dossier: dict, at: str) -> None:
        await ok(await admin.post(f"/api/v1/dossiers/{dossier['id']}/resolution",
                                  json={"resolved_at": at, "outcome": "approved"}))

    early = await receive(a, "2022-03-10T09:00:00+07:00", "Nguyễn Văn An")
    await resolve(early, "2022-03-11T10:00:00+07:00")
    late = await receive(a, "2022-05-09T09:00:00+07:00", "Trần Thị Bình")
    await resolve(late, "2022-05-30T10:00:00+07:00")
    await receive(a, "2022-07-11T09:00:00+07:00", "Công ty TNHH Đức Phát")
    await receive(b, "2022-07-11T10:00:00+07:00", "Phạm Thị Bí Mật")

    plan = await ok(await admin.post("/api/v1/plans", json={
        "agency": a, "year": 2022, "title": "Kế hoạch cải cách hành chính năm 2022",
        "issued_at": "2022-01-05T08:00:00+07:00"}), 201)
    tasks = []
    for area, title in (("procedures", "Rà soát, đơn giản hóa TTHC"),
                        ("digital_government", "Số hóa hồ sơ, kết quả giải quyết TTHC"),
                        ("civil_service", "Đánh giá, xếp loại công chức")):
        tasks.append(await ok(await admin.post(f"/api/v1/plans/{plan['id']}/tasks", json={
            "title": title, "area": area, "due_date": "2022-12-31", "owner": "Văn phòng Sở",
            "added_at": "2022-01-10T08:00:00+07:00"}), 201))
    await ok(await admin.post(f"/api/v1/tasks/{tasks[0]['id']}/completion", json={
        "completed_at": "2022-06-20T10:00:00+07:00", "evidence": "Báo cáo số 12/BC-STP"}))

    for agency, score in ((a, 93.8), (b, 95.1)):
        await ok(await admin.post("/api/v1/index-results", json={
            "index": "PAR", "year": 2021, "agency": agency, "score": score,
            "group": "department", "published_on": "2022-04-20"}), 201)
    framework = f"PAR-{a}"
    await ok(await admin.post("/api/v1/index-frameworks", json={
        "code": framework, "index": "PAR", "year": 2022, "group": "department", "max_score": 3,
        "criteria": [
            {"code": "1.1", "title": "Ban hành kế hoạch CCHC", "area": "direction",
             "max_points": 1, "method": "manual"},
            {"code": "1.2", "title": "Mức độ hoàn thành kế hoạch CCHC", "area": "direction",
             "max_points": 2, "method": "auto", "metric": "plan.completion_rate",
             "bands": [{"min_rate": 0.9, "points": 2}, {"min_rate": 0.7, "points": 1}]},
        ]}), 201)
    await ok(await admin.post("/api/v1/assessments", json={"framework": framework, "agency": a}),
             201)
    return {"a": a, "b": b}


async def sign_in(page, base_url: str, bearer: str) -> None:
    await page.goto(f"{base_url}/")
    assert page.url == f"{base_url}/dashboard/"
    await page.fill("#token", bearer)
    await page.click("#sign-in-form button[type=submit]")
    await page.wait_for_selector("#app", state="visible")
    await page.wait_for_selector("body[data-ready]", state="attached")


async def show(page, *, agency: str | None = None, as_of: str = AS_OF) -> None:
    """Choose the agency and date the way an official does, and wait for every panel."""
    before = await page.get_attribute("body", "data-ready")
    if agency is not None:
        await page.select_option("#agency", agency)
        await page.wait_for_function(
            "b => document.body.dataset.ready !== b", arg=before)
        before = await page.get_attribute("body", "data-ready")
    if await page.input_value("#as-of") != as_of:
        await page.fill("#as-of", as_of)
        await page.wait_for_function("b => document.body.dataset.ready !== b", arg=before)


async def kpis(page) -> dict[str, str]:
    return await page.eval_on_selector_all(
        "[data-kpi]", "nodes => Object.fromEntries(nodes.map(n => [n.dataset.kpi, n.textContent]))")


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the pixels of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        (length,), kind = struct.unpack(">I", data[offset:offset + 4]), data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    assert header is not None
    width, height, depth, colour, *_ = header
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth=} {colour=}"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    pixels = [row[x:x + 3] for row in rows for x in range(0, stride, bpp)]
    return width, height, pixels


def assert_sensible_screenshot(path: Path, width: int, min_height: int) -> None:
    data = path.read_bytes()
    assert len(data) > 20_000, f"{path} is suspiciously small ({len(data)} bytes)"
    got_width, height, pixels = png_pixels(data)
    assert got_width == width and height >= min_height, (got_width, height)
    colours = Counter(pixels)
    assert len(colours) > 100, f"only {len(colours)} colours: a blank page?"
    commonest = colours.most_common(1)[0][1] / len(pixels)
    assert commonest < 0.85, f"one colour covers {commonest:.0%} of the page"
    # The brand red of the top bar and the text's dark ink are both there.
    assert any(r > 150 and g < 80 and b < 80 for r, g, b in colours), "no red top bar"
    assert any(r < 60 and g < 60 and b < 80 for r, g, b in colours), "no dark text"


async def test_the_gateway_serves_the_dashboard(stack_api):
    async with httpx.AsyncClient(base_url=stack_api.base_url) as client:
        root = await client.get("/")
        assert root.status_code == 307 and root.headers["location"] == "/dashboard/"
        page = await client.get("/dashboard/")
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert '<html lang="vi">' in page.text and "Đăng nhập" in page.text
        script = await client.get("/dashboard/app.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert (await client.get("/dashboard/style.css")).status_code == 200
        for name in ("nothing.js", "..%2Fapp.py", "app.py", "__init__.py"):
            assert (await client.get(f"/dashboard/{name}")).status_code == 404, name
        # Nothing the page uses comes from another host: no build step, no CDN.
        for text in (page.text, script.text):
            assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
            assert "https://" not in text


async def test_admin_sees_every_panel_in_vietnamese(stack_api, world, page, tmp_path):
    base = stack_api.base_url
    await page.goto(f"{base}/")
    for wrong in ("không-phải-mã", "abc.def.ghi", token(stack_api, "admin")[:-4] + "AAAA"):
        await page.fill("#token", wrong)
        await page.click("#sign-in-form button[type=submit]")
        await page.wait_for_selector("#sign-in-error:has-text('Mã truy cập không hợp lệ')")
        assert await page.is_hidden("#app")
        await page.evaluate("document.getElementById('sign-in-error').textContent = ''")

    await sign_in(page, base, token(stack_api, "admin"))
    for heading in ("Hồ sơ", "Tỷ lệ đúng hạn theo tháng", "Tiến độ kế hoạch",
                    "Chỉ số và xếp hạng", "Báo cáo", "Danh sách hồ sơ"):
        assert await page.get_by_role("heading", name=heading, exact=True).is_visible(), heading
    assert await page.is_visible("#agency")
    assert await page.is_hidden("#backup-warning")  # no backups failing here
    options = await page.eval_on_selector_all("#agency option", "os => os.map(o => o.value)")
    assert options[0] == "" and {world["a"], world["b"]} <= set(options)
    assert "Quản trị hệ thống" in await page.inner_text("#who")
    # The whole province first: a table by agency with both.
    await show(page)
    by_agency = await page.inner_text("#by-agency")
    assert "Sở Tư pháp" in by_agency and "Sở Y tế" in by_agency

    await show(page, agency=world["a"])
    assert await kpis(page) == {
        "received": "3", "resolved": "2", "early": "1", "on_time": "0", "late": "1",
        "in_progress": "1", "overdue": "1", "on_time_rate": "50%"}  # due 14/7: overdue
    assert "Sở Tư pháp: từ ngày 1/1/2022 đến hết ngày 15/7/2022" in await page.inner_text("#period")
    # March (early: 100%) and May (late: 0%) have resolved dossiers; the other months none.
    bars = await page.eval_on_selector_all("#rate-chart svg rect",
                                           "rs => rs.map(r => r.querySelector('title').textContent)")
    assert bars == ["Tháng 3: 100% (1 hồ sơ đã giải quyết)", "Tháng 5: 0% (1 hồ sơ đã giải quyết)"]
    assert await page.locator("#by-agency table").count() == 0

    plan = await page.inner_text("#plan-body")
    assert "Hoàn thành 1/3 nhiệm vụ" in plan
    for area in ("Cải cách thủ tục hành chính", "Chính phủ điện tử, chính phủ số",
                 "Cải cách chế độ công vụ"):
        assert area in plan

    indexes = await page.inner_text("#index-body")
    assert "Chỉ số CCHC năm 2021: 93,8 — xếp thứ 2/2" in indexes
    assert "Sở Y tế" in indexes  # the published ranking names every ranked agency
    criteria = await page.inner_text("#criteria")
    assert "1.2. Mức độ hoàn thành kế hoạch CCHC" in criteria
    # The auto criterion's explanation: 1 of 3 tasks done, below every band, no points.
    assert "Tỷ lệ hoàn thành kế hoạch = 33,3%; dưới mọi mức → 0 điểm." in criteria

    report = page.frame_locator("#report-frame")
    await report.locator("text=Báo cáo kết quả thực hiện công tác cải cách hành chính năm 2022"
                         ).wait_for()
    report_text = await report.locator("body").inner_text()
    assert "Sở Tư pháp" in report_text and "Số liệu tính đến ngày 15/7/2022" in report_text
    assert "tiếp nhận 3 hồ sơ" in report_text

    rows = page.locator("#dossier-list tbody tr")
    assert await rows.count() == 3
    await page.fill("#search", "duc phat")
    await page.click("#search-form button[type=submit]")
    await page.wait_for_function(
        "() => document.querySelectorAll('#dossier-list tbody tr').length === 1")
    assert "Công ty TNHH Đức Phát" in await rows.first.inner_text()
    await rows.first.click()
    await page.wait_for_selector("#dossier-detail", state="visible")
    assert "Chuỗi băm hợp lệ" in await page.inner_text("#audit-status")
    assert "Tiếp nhận hồ sơ" in await page.inner_text("#history")
    # 2022 entered in 2026: the receipt is marked as a late entry, in the facts and the history.
    assert "Nhập muộn" in await page.inner_text("#history")
    assert "1 sự kiện nhập sau thời điểm xảy ra" in await page.inner_text("#detail-body")
    # Its receipt code, and its receipt slip as a PDF in a new tab.
    assert re.search(r"Mã hồ sơ\s+\S+-220711-\d{4}", await page.inner_text("#detail-body"))
    async with page.expect_popup() as opened:
        await page.click("#receipt-slip")
    slip = await opened.value
    assert slip.url.startswith("blob:")
    await slip.close()
    assert await page.is_visible("#resolve-form")  # admin writes everywhere
    await page.fill("#search", "")
    await page.click("#search-form button[type=submit]")
    await page.wait_for_function(
        "() => document.querySelectorAll('#dossier-list tbody tr').length === 3")

    shot = tmp_path / "dashboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert_sensible_screenshot(shot, 1280, 900)

    # A phone: one column, nothing wider than the screen, the figures still there.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.evaluate("() => window.scrollTo(0, 0)")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    columns = await page.eval_on_selector(
        ".grid", "g => getComputedStyle(g).gridTemplateColumns.split(' ').length")
    assert columns == 1
    phone = tmp_path / "dashboard-phone.png"
    await page.screenshot(path=str(phone), full_page=False)
    assert_sensible_screenshot(phone, 390, 844)
    if keep := os.environ.get("CCHC_SCREENSHOT_DIR"):  # pytest's tmp_path is cleaned up later
        Path(keep).mkdir(parents=True, exist_ok=True)
        for path in (shot, phone):
            (Path(keep) / path.name).write_bytes(path.read_bytes())


async def test_receiving_and_resolving_through_the_forms_moves_the_figures(stack_api, page):
    admin = stack_api.admin
    agency = unique("SCT")
    await ok(await admin.post("/api/v1/agencies", json={
        "code": agency, "name": "Sở Công Thương", "group": "department"}), 201)
    procedure = f"2.{unique('')}.000.00.00.{agency}"
    await ok(await admin.post("/api/v1/procedures", json={
        "code": procedure, "name": "Cấp giấy phép kinh doanh bán lẻ rượu", "agency": agency,
        "field": "Lưu thông hàng hóa", "processing_days": 3, "online_level": "partial"}), 201)

    await sign_in(page, stack_api.base_url, token(stack_api, "officer", agency))
    await show(page)
    before = await kpis(page)
    assert (before["received"], before["resolved"], before["in_progress"]) == ("0", "0", "0")

    # Receipt on Tuesday 12/7/2022 at 9:00; 3 working days: due Friday 15/7 at 17:00.
    await page.select_option("#receive-procedure", procedure)
    await page.select_option("#receive-channel", "direct")
    await page.fill("#receive-at", "2022-07-12T09:00")
    await page.fill("#receive-applicant", "Lê Thị Hoa")
    # An officer acts in the present: a receipt of 2022 is refused, and the form says why.
    await page.click("#receive-form button[type=submit]")
    await page.wait_for_selector("#receive-error:has-text('24 hours')")
    assert (await kpis(page))["received"] == "0"

    # The province enters that past receipt (a late entry), through the same form.
    await page.click("#sign-out")
    await sign_in(page, stack_api.base_url, token(stack_api, "home_affairs"))
    await show(page, agency=agency)
    await page.select_option("#receive-procedure", procedure)
    await page.select_option("#receive-channel", "direct")
    await page.fill("#receive-at", "2022-07-12T09:00")
    await page.fill("#receive-applicant", "Lê Thị Hoa")
    await page.click("#receive-form button[type=submit]")
    await page.wait_for_selector("#receive-notice:has-text('Đã tiếp nhận hồ sơ')")
    assert "hạn giải quyết 17:00 15/7/2022" in await page.inner_text("#receive-notice")
    await page.wait_for_selector("[data-kpi=received]:text-is('1')")
    received = await kpis(page)
    assert (received["received"], received["resolved"], received["in_progress"]) == ("1", "0", "1")
    assert "Lê Thị Hoa" in await page.inner_text("#dossier-list tbody")

    # The new dossier is open: resolve it on 13/7, before its due date.
    await page.wait_for_selector("#resolve-form", state="visible")
    assert "Đang giải quyết" in await page.inner_text("#detail-body")
    await page.fill("#resolve-at", "2022-07-13T10:00")
    # A rejection without its reason is refused, and the form says why.
    await page.select_option("#resolve-outcome", "rejected")
    await page.click("#resolve-form button[type=submit]")
    await page.wait_for_selector("#resolve-error:has-text('reason')")
    await page.select_option("#resolve-outcome", "approved")
    await page.click("#resolve-form button[type=submit]")
    await page.wait_for_selector("[data-kpi=resolved]:text-is('1')")
    resolved = await kpis(page)
    assert resolved == {"received": "1", "resolved": "1", "early": "1", "on_time": "0",
                        "late": "0", "in_progress": "0", "overdue": "0", "on_time_rate": "100%"}
    await page.wait_for_selector("#detail-body :text('Đã giải quyết')")
    assert await page.is_hidden("#resolve-box")
    history = await page.inner_text("#history")
    assert "Tiếp nhận hồ sơ" in history and "Giải quyết hồ sơ" in history
    assert "2 sự kiện" in await page.inner_text("#audit-status")

    # What the page showed is what the API says.
    stats = await ok(await admin.get("/api/v1/dossier-stats", params={
        "agency": agency, "from": "2022-01-01", "to": AS_OF}))
    assert stats["received"]["total"] == 1 and stats["received"]["direct"] == 1
    assert stats["resolved"] == {"total": 1, "early": 1, "on_time": 0, "late": 0}


async def test_an_officer_sees_its_own_agency_only(stack_api, world, page):
    a, b = world["a"], world["b"]
    requests: list[str] = []
    statuses: list[int] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: statuses.append(response.status))
    await sign_in(page, stack_api.base_url, token(stack_api, "officer", a))
    await show(page)

    assert await page.is_hidden("#agency-field")
    assert await page.inner_text("#own-agency") == "Sở Tư pháp"
    assert (await kpis(page))["received"] == "3"
    assert await page.locator("#by-agency table").count() == 0
    listing = await page.inner_text("#dossier-list")
    assert "Nguyễn Văn An" in listing and "Phạm Thị Bí Mật" not in listing
    await page.fill("#search", "bi mat")
    await page.click("#search-form button[type=submit]")
    await page.wait_for_selector("#dossier-list :text('Không có hồ sơ phù hợp.')")
    # Its own report, and the receive form of its own agency.
    await page.frame_locator("#report-frame").locator("text=Sở Tư pháp").first.wait_for()
    assert await page.is_visible("#receive-form")

    # The page never asked for another agency's data, and was never refused.
    api_calls = [url for url in requests if "/api/v1/" in url]
    assert api_calls and all(f"agency={b}" not in url for url in api_calls)
    assert all(f"agency={a}" in url for url in api_calls
               if "agency=" in url), api_calls
    assert 403 not in statuses


async def test_an_inspector_reads_everything_and_gets_no_forms(stack_api, world, page):
    await sign_in(page, stack_api.base_url, token(stack_api, "inspector"))
    await show(page, agency=world["a"])
    assert (await kpis(page))["received"] == "3"
    assert await page.is_hidden("#receive-box")
    await page.locator("#dossier-list tbody tr").first.click()
    await page.wait_for_selector("#dossier-detail", state="visible")
    assert await page.is_hidden("#resolve-box")
    await page.click("#sign-out")
    assert await page.is_visible("#sign-in")
    assert await page.evaluate("sessionStorage.getItem('cchc.token')") is None


async def _downloaded(page, button: str) -> tuple[str, bytes]:
    """Click a download button; the file's suggested name and its bytes."""
    async with page.expect_download() as info:
        await page.click(button)
    download = await info.value
    return download.suggested_filename, Path(await download.path()).read_bytes()


async def test_an_officer_downloads_the_excel_forms(stack_api, world, page):
    from io import BytesIO

    from openpyxl import load_workbook

    a = world["a"]
    await sign_in(page, stack_api.base_url, token(stack_api, "officer", a))
    await show(page)
    assert await page.inner_text("#download-stats") == "Tải biểu II.06a (Excel)"

    name, content = await _downloaded(page, "#download-stats")
    assert name == f"bieu-II.06a-{a}-2022-01-01-{AS_OF}.xlsx"
    stats = await ok(await stack_api.as_("officer", a).get(
        f"/api/v1/dossier-stats?agency={a}&from=2022-01-01&to={AS_OF}&by=field"))
    sheet = load_workbook(BytesIO(content))["Biểu II.06a"]
    rows = {row[1]: list(row[2:15]) for row in sheet.iter_rows(min_row=12, values_only=True)
            if row[1] in ("Tư pháp", "Tổng cộng")}
    received, resolved, open_ = stats["received"], stats["resolved"], stats["in_progress"]
    figures = [received["total"], received["online"], received["direct"] + received["postal"],
               received["carried_over"], resolved["total"], resolved["early"],
               resolved["on_time"], resolved["late"], open_["total"], open_["not_due"],
               open_["overdue"], stats["withdrawn"], stats["on_time_rate"]]
    assert rows == {"Tư pháp": figures, "Tổng cộng": figures}
    assert figures[:1] == [3]

    assert await page.is_visible("#download-report")
    name, content = await _downloaded(page, "#download-report")
    assert name == f"bao-cao-cchc-{a}-2022-{AS_OF}.xlsx"
    book = load_workbook(BytesIO(content))
    assert book.sheetnames == ["Báo cáo CCHC", "Biểu II.06a"]
    texts = [cell for row in book["Báo cáo CCHC"].iter_rows(values_only=True) for cell in row
             if isinstance(cell, str)]
    assert f"Cơ quan: Sở Tư pháp ({a})" in texts
    assert await page.inner_text("#download-stats-error") == ""


async def test_the_alerts_badge_counts_what_is_due_and_overdue(stack_api, world, page):
    a = world["a"]
    await sign_in(page, stack_api.base_url, token(stack_api, "officer", a))
    await show(page)
    # Agency A's dossier received on 11/7/2022 and never resolved has been overdue since.
    await page.wait_for_selector("#alerts-link", state="visible")
    assert await page.inner_text("#alert-count") == "1"
    assert await page.get_attribute("#alerts-link", "data-count") == "1"
    assert await page.is_visible("#alerts")
    table = await page.inner_text("#alerts-body")
    assert "Quá hạn" in table and "Công ty TNHH Đức Phát" in table
    assert "Cấp phiếu lý lịch tư pháp" in table and "Phạm Thị Bí Mật" not in table

    # Another dossier received in 2022 and still open is overdue too: the badge counts it.
    admin = stack_api.admin
    procedure = (await ok(await admin.get(f"/api/v1/procedures?agency={a}")))["items"][0]["code"]
    answer = await admin.post("/api/v1/dossiers", json={
        "procedure": procedure, "channel": "direct", "received_at": "2022-07-12T09:00:00+07:00",
        "applicant": {"name": "Lê Văn Cảnh"}})
    assert answer.status_code == 201, answer.text
    await ok(await admin.get(f"/api/v1/alerts?agency={a}", headers={  # the projection has it
        "X-Min-Position": answer.headers["X-Event-Position"]}))
    before = await page.get_attribute("body", "data-ready")
    await page.fill("#as-of", "2022-07-14")  # any change of scope reads the alerts again
    await page.wait_for_function("b => document.body.dataset.ready !== b", arg=before)
    await page.wait_for_function(
        "() => document.getElementById('alerts-link').dataset.count === '2'")
    assert "Lê Văn Cảnh" in await page.inner_text("#alerts-body")


async def test_a_citizen_looks_up_a_dossier_on_the_public_page(stack_api, world, page):
    listed = await ok(await stack_api.admin.get("/api/v1/dossiers", params={
        "agency": world["a"], "q": "duc phat"}))
    code = listed["items"][0]["receipt_code"]
    await page.goto(f"{stack_api.base_url}/tra-cuu?ma={code}")  # the slip's QR code leads here
    await page.wait_for_selector("#lookup-table")
    shown = await page.inner_text("#lookup-table")
    assert code in shown and "Sở Tư pháp" in shown and "Đang giải quyết" in shown
    assert "C*** t* T*** Đ** P***" in shown and "Đức Phát" not in shown  # the name is masked
    await page.wait_for_selector("#board-table tbody tr")
    board = await page.inner_text("#board")
    assert "Tỷ lệ giải quyết hồ sơ đúng hạn năm" in board and "Sở Tư pháp" in board

    await page.fill("#code", f"{world['a']}-220711-9999")
    await page.click("#lookup-form button[type=submit]")
    await page.wait_for_selector("#lookup-error:has-text('Không tìm thấy hồ sơ')")


async def test_an_inspector_switches_to_decision_766s_clock_and_lists_irregular_requests(
    stack_api, page
):
    """A dossier sent back twice (early by the form, late by 766) and one sent back on the 4th
    working day after receipt, after its due date (irregular; overdue by 766 while it waits)."""
    admin = stack_api.admin
    agency = unique("SXD")
    await ok(await admin.post("/api/v1/agencies", json={
        "code": agency, "name": "Sở Xây dựng", "group": "department"}), 201)
    procedure = f"1.{unique('')}.000.00.00.{agency}"
    await ok(await admin.post("/api/v1/procedures", json={
        "code": procedure, "name": "Cấp giấy phép xây dựng", "agency": agency,
        "field": "Xây dựng", "processing_days": 3, "online_level": "partial"}), 201)

    async def dossier(name: str, *steps: tuple[str, dict]) -> None:
        received = await ok(await admin.post("/api/v1/dossiers", json={
            "procedure": procedure, "channel": "direct",
            "received_at": "2022-07-11T09:00:00+07:00", "applicant": {"name": name}}), 201)
        for action, body in steps:
            await ok(await admin.post(f"/api/v1/dossiers/{received['id']}/{action}", json=body))

    def request(day: str) -> tuple[str, dict]:
        return "supplement-request", {"requested_at": f"2022-07-{day}T10:00:00+07:00",
                                      "reason": "Thiếu bản vẽ"}

    def supplement(day: str) -> tuple[str, dict]:
        return "supplement", {"supplemented_at": f"2022-07-{day}T09:00:00+07:00"}

    await dossier("Lê Văn Cường", request("12"), supplement("13"), request("14"),
                  supplement("15"), ("resolution", {
                      "resolved_at": "2022-07-19T10:00:00+07:00", "outcome": "approved"}))
    await dossier("Hoàng Thị Dung", request("15"))

    await sign_in(page, stack_api.base_url, token(stack_api, "inspector"))
    await show(page, agency=agency, as_of="2022-07-31")
    by_form = await kpis(page)
    assert (by_form["early"], by_form["late"], by_form["overdue"]) == ("1", "0", "0")
    await page.select_option("#stats-method", "766")
    await page.wait_for_function(
        "() => document.querySelector('[data-kpi=late]').textContent === '1'")
    by_766 = await kpis(page)
    assert (by_766["early"], by_766["late"], by_766["overdue"]) == ("0", "1", "1")
    assert by_766["on_time_rate"] == "0%"

    rows = page.locator("#dossier-list tbody tr")
    assert await rows.count() == 2
    await page.check("#irregular-filter")
    await page.wait_for_function(
        "() => document.querySelectorAll('#dossier-list tbody tr').length === 1")
    assert "Hoàng Thị Dung" in await rows.first.inner_text()
    await rows.first.click()
    await page.wait_for_selector("#dossier-detail", state="visible")
    detail = await page.inner_text("#detail-body")
    assert "1 lần (có yêu cầu sau 3 ngày làm việc kể từ ngày tiếp nhận)" in detail
    await page.uncheck("#irregular-filter")
    await page.wait_for_function(
        "() => document.querySelectorAll('#dossier-list tbody tr').length === 2")
    await page.locator("#dossier-list tbody tr", has_text="Lê Văn Cường").click()
    await page.wait_for_function(
        "() => document.getElementById('detail-body').innerText.includes('2 lần')")
    facts = await page.eval_on_selector_all(
        "#detail-body tbody tr", "rs => Object.fromEntries(rs.filter(r => r.querySelector('th'))"
        ".map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent]))")
    assert facts["Đánh giá"] == "Trước hạn" and facts["Đánh giá theo QĐ 766"] == "Trễ hạn"


async def test_an_admin_is_told_when_the_scheduled_backups_fail(stack_api, page, tmp_path):
    """The backup job recorded a failed backup (a full disk): the admin's dashboard says so, in
    Vietnamese with the reason, while everything else works (GET /health stays 200)."""
    from datetime import UTC, datetime

    import nats

    from conftest import start_stack, stop_stack
    from cchc.runtime import backup_status
    from cchc.runtime.backup_job import BackupSettings, folder_name
    from cchc.runtime.backups import MANIFEST

    folder, now = tmp_path / "backups", datetime.now(UTC)
    (folder / folder_name(now)).mkdir(parents=True)  # a recent whole one: no backup at start
    (folder / folder_name(now) / MANIFEST).write_text("{}")
    stack, task, base_url = await start_stack(
        tmp_path / "data", backups=BackupSettings(folder=folder, interval_s=86400))
    ops = await nats.connect(stack.nats_url_of("ops"))
    await backup_status.publish(ops, {"state": "failed", "at": now.isoformat(), "every_s": 86400,
                                      "error": "OSError: [Errno 28] No space left on device"})
    await ops.close()
    try:
        async with httpx.AsyncClient() as http:
            health = await ok(await http.get(f"{base_url}/health"))
        assert health["backups"]["healthy"] is False
        await sign_in(page, base_url, issue_token(stack.installation.jwt_secret(), "admin-x",
                                                  "admin"))
        await page.wait_for_selector("#backup-warning", state="visible")
        text = await page.inner_text("#backup-warning")
        assert "Sao lưu tự động đang gặp sự cố" in text and "No space left on device" in text
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone: it still fits
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        if keep := os.environ.get("CCHC_SCREENSHOT_DIR"):
            Path(keep).mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(Path(keep) / "dashboard-backup-warning.png"))
    finally:
        await stop_stack(stack, task)
