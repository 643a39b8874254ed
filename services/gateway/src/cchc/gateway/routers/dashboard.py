"""The officials' web dashboard: a static page and its script, served from this package.

No build step and nothing fetched at run time: plain HTML, CSS and a small vanilla JS module in
``cchc/gateway/dashboard/`` that calls the REST API with the token the official pasted at
sign-in. ``GET /`` leads there.

With an OIDC provider configured (``CCHC_GATEWAY_OIDC_ISSUER``, ``..._OIDC_CLIENT_ID``), the page
signs in through it instead: ``/dashboard/sign-in.json`` tells it the provider's endpoints and
client id, and the script runs the authorization code flow with PKCE in the browser (the page's
Content-Security-Policy then lets it reach the provider's token endpoint).
"""

import re
from importlib.resources import files

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from cchc.gateway.oidc import ProviderUnavailable
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


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


def _headers(request: Request) -> dict[str, str]:
    """The page may reach the identity provider's token endpoint when one is configured."""
    gateway = getattr(request.app.state, "gateway", None)
    oidc = gateway.authenticator.oidc if gateway is not None else None
    if oidc is None:
        return HEADERS
    origins = {_origin(oidc.issuer)}
    if oidc.cached_discovery is not None:
        origins.add(_origin(oidc.cached_discovery.token_endpoint))
    allowed = " ".join(sorted(o for o in origins if o))
    headers = dict(HEADERS)
    headers["Content-Security-Policy"] += f"; connect-src 'self' {allowed}"
    return headers


def page_file(name: str, request: Request) -> Response:
    match = FILE_NAME.match(name)
    resource = DASHBOARD / name
    if not match or not resource.is_file():
        raise problem(404, f"no dashboard file {name}")
    return Response(resource.read_bytes(), media_type=MEDIA_TYPES[match.group(1)],
                    headers=_headers(request))


class Provider(BaseModel):
    issuer: str
    client_id: str
    scope: str
    authorization_endpoint: str
    token_endpoint: str
    end_session_endpoint: str | None = None


class SignIn(BaseModel):
    """How the page signs in: through ``oidc`` when set, else with a pasted token."""

    oidc: Provider | None = None


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/dashboard")
async def dashboard_without_slash() -> RedirectResponse:
    # The page names its script and style relative to /dashboard/.
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/dashboard/")
async def dashboard(request: Request) -> Response:
    return page_file("index.html", request)


@router.get("/dashboard/sign-in.json", response_model=SignIn)
async def sign_in(request: Request) -> SignIn:
    gw = request.app.state.gateway
    oidc = gw.authenticator.oidc
    if oidc is None or not gw.settings.oidc_client_id:
        return SignIn()
    try:
        discovery = await oidc.discovery()
    except ProviderUnavailable:
        raise problem(503, "the identity provider did not answer; try again",
                      headers={"Retry-After": "5"}) from None
    if not discovery.authorization_endpoint or not discovery.token_endpoint:
        raise problem(503, "the identity provider names no authorization or token endpoint")
    return SignIn(oidc=Provider(
        issuer=discovery.issuer, client_id=gw.settings.oidc_client_id,
        scope=gw.settings.oidc_scope, authorization_endpoint=discovery.authorization_endpoint,
        token_endpoint=discovery.token_endpoint,
        end_session_endpoint=discovery.end_session_endpoint,
    ))


@router.get("/dashboard/{name}")
async def dashboard_file(name: str, request: Request) -> Response:
    return page_file(name, request)
