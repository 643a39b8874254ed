"""The officials' web dashboard: a static page and its script, served from this package.

No build step and nothing fetched at run time: plain HTML, CSS and a small vanilla JS module in
``cchc/gateway/dashboard/`` that calls the REST API with the token the official pasted at
sign-in. ``GET /`` leads there.
"""

import re
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from cchc.gateway.problems import problem

router = APIRouter(include_in_schema=False)

DASHBOARD = files("cchc.gateway") / "dashboard"
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
}
# Only plain names of the folder: nothing else of the package can be read through this route.
FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.(html|css|js|svg)$")
# The page runs its own script only; the report's inline style (shown in a sandboxed srcdoc
# frame, which inherits this policy) and the script's SVG attributes need inline styles.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-src 'self' about:; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _file(name: str) -> Response:
    match = FILE_NAME.match(name)
    resource = DASHBOARD / name
    if not match or not resource.is_file():
        raise problem(404, f"no dashboard file {name}")
    return Response(resource.read_bytes(), media_type=MEDIA_TYPES[match.group(1)], headers=HEADERS)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/dashboard")
async def dashboard_without_slash() -> RedirectResponse:
    # The page names its script and style relative to /dashboard/.
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/dashboard/")
async def dashboard() -> Response:
    return _file("index.html")


@router.get("/dashboard/{name}")
async def dashboard_file(name: str) -> Response:
    return _file(name)
