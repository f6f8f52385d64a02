"""Server-rendered pages for phones: login, my points (list + map), a point, its verdict form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from firewatch.dispatch import review
from firewatch.dispatch.models import VERDICTS
from firewatch.dispatch.users import User, create_session, delete_session, load_session
from firewatch.web import maps
from firewatch.web.photos import PhotoRejected, checked_uploads
from firewatch.web.security import (
    actor_of,
    check_csrf,
    check_prelogin,
    clear_session_cookie,
    client_ip,
    context,
    login_attempt,
    page_user,
    prelogin_token,
    safe_next,
    session_cookie,
    set_prelogin_cookie,
    set_session_cookie,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {
    "pending": "待核查",
    "overdue": "已逾期",
    "escalated": "已上报",
    "answered": "已反馈",
}
ROLE_LABELS = {
    "village_member": "网格员",
    "field_chief": "田长",
    "analyst": "分析员",
    "admin": "管理员",
}
LEVEL_LABELS = {
    "village": "村级",
    "township": "乡镇级",
    "county": "县级",
    "city": "市级",
    "province": "省级",
}
ACTION_LABELS = {
    "assigned": "派发",
    "reminded": "提醒",
    "escalated": "逾期上报",
    "overdue": "逾期",
    "verdict": "反馈核查结果",
    "handled": "报告已处置",
}

PageUser = Annotated[tuple[User, str], Depends(page_user)]


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.templates
    return t


def render(
    request: Request,
    name: str,
    ctx: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    base = {
        "status_labels": STATUS_LABELS,
        "role_labels": ROLE_LABELS,
        "level_labels": LEVEL_LABELS,
        "action_labels": ACTION_LABELS,
        "verdicts": VERDICTS,
    }
    return templates(request).TemplateResponse(request, name, base | ctx, status_code=status_code)


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/points", status_code=303)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/points") -> Response:
    ctx = context(request)
    token = request.cookies.get(session_cookie(ctx.settings))
    if load_session(ctx.engine, token) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    csrf, nonce = prelogin_token(request)
    page = render(request, "login.html", {"next": safe_next(next), "error": None, "csrf": csrf})
    set_prelogin_cookie(request, page, nonce)
    return page


@router.post("/login", response_class=HTMLResponse)
async def login_submit(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/points",
) -> Response:
    check_prelogin(request, csrf_token)
    ctx = context(request)
    result = await login_attempt(request, username, password)
    if result.outcome == "ok" and result.user is not None:
        token, _csrf = await run_in_threadpool(
            create_session, ctx.engine, ctx.settings, result.user, ip=client_ip(request)
        )
        response: Response = RedirectResponse(safe_next(next), status_code=303)
        set_session_cookie(response, ctx.settings, token)
        return response
    messages = {
        "bad": (401, "用户名或密码不对。Wrong user name or password."),
        "locked": (
            423,
            "登录失败次数过多，账号已暂时锁定，请稍后再试。Account locked for a while.",
        ),
        "throttled": (429, "此地址登录失败过多，请稍后再试。Too many failed logins; try later."),
    }
    status, message = messages[result.outcome]
    return render(
        request,
        "login.html",
        {"next": safe_next(next), "error": message, "csrf": csrf_token},
        status_code=status,
    )


@router.post("/logout")
def logout(request: Request, auth: PageUser, csrf_token: Annotated[str, Form()] = "") -> Response:
    _user, csrf = auth
    check_csrf(csrf, csrf_token)
    ctx = context(request)
    delete_session(ctx.engine, request.cookies.get(session_cookie(ctx.settings)))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, ctx.settings)
    return response


@router.get("/points", response_class=HTMLResponse)
def points_page(request: Request, auth: PageUser, status: str = "all") -> HTMLResponse:
    user, csrf = auth
    ctx = context(request)
    if status not in review.LIST_STATUSES:
        status = "all"
    rows = review.list_points(ctx.engine, user, status=status)
    return render(
        request,
        "points.html",
        {
            "user": user,
            "csrf": csrf,
            "points": rows,
            "status": status,
            "map": maps.points_map(rows),
        },
    )


@router.get("/points/{detection_id}", response_class=HTMLResponse)
def point_page(
    request: Request, auth: PageUser, detection_id: str, saved: str | None = None
) -> HTMLResponse:
    user, csrf = auth
    point = review.get_point(context(request).engine, user, detection_id)
    return _point_page(request, user, csrf, point, saved=saved)


def _point_page(
    request: Request, user: Any, csrf: str, point: Any, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    """The point page (its map, the verdict form with the photo limits) plus ``extra``."""
    review_cfg = context(request).settings.review
    return render(
        request,
        "point.html",
        {
            "user": user,
            "csrf": csrf,
            "p": point,
            "map": maps.point_map(point),
            "max_photos": review_cfg.max_photos,
            "max_mib": review_cfg.max_photo_bytes // (1024 * 1024),
            **extra,
        },
        status_code=status_code,
    )


@router.post("/points/{detection_id}/verdict")
def verdict_submit(
    request: Request,
    auth: PageUser,
    detection_id: str,
    verdict: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    user, csrf = auth
    check_csrf(csrf, csrf_token)
    ctx = context(request)
    # Scope first: a point outside the user's subtree is "not found" before anything else.
    point = review.get_point(ctx.engine, user, detection_id)
    try:
        checked = checked_uploads(ctx.settings, photos or [])
        review.submit_verdict(
            ctx.engine,
            user,
            detection_id,
            verdict=verdict,
            note=note,
            photos=checked,
            actor=actor_of(request, user),
        )
    except (PhotoRejected, review.BadVerdict) as exc:
        return _point_page(
            request,
            user,
            csrf,
            point,
            status_code=exc.status if isinstance(exc, PhotoRejected) else 400,
            error=str(exc),
            form_note=note,
            form_verdict=verdict,
        )
    return RedirectResponse(f"/points/{detection_id}?saved=verdict", status_code=303)


@router.post("/points/{detection_id}/handled")
def handled_submit(
    request: Request,
    auth: PageUser,
    detection_id: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    user, csrf = auth
    check_csrf(csrf, csrf_token)
    ctx = context(request)
    review.mark_handled(ctx.engine, user, detection_id, actor=actor_of(request, user))
    return RedirectResponse(f"/points/{detection_id}?saved=handled", status_code=303)


@router.get("/points/{detection_id}/photos/{photo_id}")
def photo(request: Request, auth: PageUser, detection_id: str, photo_id: int) -> Response:
    user, _ = auth
    data, content_type = review.get_photo(context(request).engine, user, detection_id, photo_id)
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"},
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, auth: PageUser) -> HTMLResponse:
    user, csrf = auth
    if user.role != "admin":
        raise review.NotAllowed("the audit log is for administrators")
    rows = review.load_audit_in_scope(context(request).engine, user)
    return render(request, "audit.html", {"user": user, "csrf": csrf, "rows": rows})
