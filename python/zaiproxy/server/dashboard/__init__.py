"""The web dashboard: its page, the login form, login / logout and the page's static assets.

The page reads the admin JSON API under ``{base}/api/``. Every URL it uses is built from the
base path the server writes into the HTML (``<body data-base>``), so the dashboard works under a
ROOT_PATH prefix; the session cookie is scoped to that path too.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from zaiproxy.server.admin_auth import SESSION_COOKIE, AdminAuth, AdminDenied, client_address
from zaiproxy.server.body import read_body
from zaiproxy.server.completions import service_of
from zaiproxy.server.errors import ApiError

__all__ = ["dashboard_router"]

STATIC = Path(__file__).parent / "static"
# The assets the pages load, with their content types: nothing else under static/ is served
# (the HTML files there are templates, rendered by the routes below).
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
LOGIN_BODY_LIMIT = 16 * 1024
# The query parameters of a one-shot login link (the older proxies' ``?token=`` / ``?auth_token=``).
LINK_PARAMETERS = ("token", "auth_token")

# The pages load only their own assets and talk only to their own origin, and no other site may
# frame them (the token buttons must not be clickable through someone else's page).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

dashboard_router = APIRouter(tags=["Dashboard"])


def base_path(request: Request) -> str:
    """Where the dashboard is, as the browser sees it (behind ROOT_PATH when one is set)."""
    return str(request.scope.get("root_path", "")) + "/dashboard"


async def _admin_auth(request: Request) -> AdminAuth:
    return await service_of(request).admin_auth()


def _denial(admin: AdminAuth, request: Request) -> AdminDenied | None:
    try:
        admin.check(request)
    except AdminDenied as denied:
        return denied
    return None


def _render(template: str, request: Request, **values: str) -> HTMLResponse:
    """A page of static/ with ``$base`` and the given values filled in, HTML-escaped."""
    fields = {"base": base_path(request), **values}
    text = Template((STATIC / template).read_text("utf-8"))
    page = text.substitute({name: html.escape(value) for name, value in fields.items()})
    return HTMLResponse(page, headers=PAGE_HEADERS)


def _login_page(request: Request, message: str = "") -> HTMLResponse:
    # 200, not 401: for a browser the form is the answer to show, not an error.
    return _render("login.html", request, message=message)


def _with_session(request: Request, admin: AdminAuth, response: Response) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        admin.new_session(),
        max_age=int(admin.lifetime),
        path=base_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


def _failure(status: int, error: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=status)


async def _password_of(request: Request) -> str:
    """The ``password`` of a JSON or form-encoded body; empty when there is none."""
    body = await read_body(request, LOGIN_BODY_LIMIT)
    value: object
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return ""
        value = document.get("password") if isinstance(document, dict) else None
    else:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        value = form.get("password", [""])[0]
    return value if isinstance(value, str) else ""


def _link_token(request: Request) -> str | None:
    query = request.query_params
    return next((query[name] for name in LINK_PARAMETERS if name in query), None)


@dashboard_router.get("/dashboard", include_in_schema=False)
async def dashboard_page(request: Request) -> Response:
    """The dashboard for an admin, the login form for anyone else. A link with ``?token=``
    (or ``?auth_token=``) logs in and redirects to the bare address, so the secret leaves the
    address bar and the history."""
    admin = await _admin_auth(request)
    denied = _denial(admin, request)
    if denied is not None and denied.status != 401:
        return _login_page(request, str(denied))  # not configured, or too many wrong ones
    token = _link_token(request)
    if token is not None:
        if not admin.accepts(token):  # the check above counted it as a failed attempt
            return _login_page(request, "wrong token")
        redirect = RedirectResponse(base_path(request), status_code=303, headers=PAGE_HEADERS)
        return _with_session(request, admin, redirect)
    if denied is not None:
        return _login_page(request)
    return _render("dashboard.html", request)


@dashboard_router.post("/dashboard/login")
async def login(request: Request) -> Response:
    """``{"password": …}`` (JSON or form-encoded) in exchange for a session cookie."""
    admin = await _admin_auth(request)
    denied = _denial(admin, request)
    if denied is not None and not denied.configured:
        return _failure(403, str(denied))
    try:
        password = await _password_of(request)
    except ApiError as error:
        return _failure(error.status, error.message)
    try:
        if not admin.verify(client_address(request), password):
            return _failure(401, "wrong password")
    except AdminDenied as denied:
        return _failure(denied.status, str(denied))
    return _with_session(request, admin, JSONResponse({"ok": True}))


@dashboard_router.post("/dashboard/logout")
async def logout(request: Request) -> Response:
    response = JSONResponse({"ok": True})
    response.delete_cookie(
        SESSION_COOKIE,
        path=base_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@dashboard_router.get("/dashboard/static/{name}", include_in_schema=False)
async def static_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        return JSONResponse({"error": "no such file"}, status_code=404)
    # no-cache: the browser asks again each time (the files are small), so an upgrade shows at once.
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response((STATIC / name).read_bytes(), media_type=media_type, headers=headers)
