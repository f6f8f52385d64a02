"""The JSON API (``/api/v1``), documented by the OpenAPI document at ``/api/openapi.json``.

Authentication is the same session cookie as the pages (``POST /api/v1/login``); every
changing request carries the session's CSRF token in the ``X-CSRF-Token`` header.  The login
itself only accepts ``application/json``, which a cross-site form cannot send.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from firewatch.dispatch import review
from firewatch.dispatch.users import User, create_session, delete_session
from firewatch.web.photos import checked_uploads
from firewatch.web.security import (
    actor_of,
    api_user,
    check_csrf,
    clear_session_cookie,
    client_ip,
    context,
    login_attempt,
    session_cookie,
    set_session_cookie,
    user_json,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["review"])

ApiUser = Annotated[tuple[User, str], Depends(api_user)]
CsrfHeader = Annotated[str | None, Header(alias="X-CSRF-Token")]


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str
    grid_code: str
    scope: str = Field(description="Code prefix of every point this user may see.")
    level: str
    can_review: bool


class LoginOut(BaseModel):
    csrf_token: str = Field(description="Send it back in the X-CSRF-Token header.")
    user: UserOut


class PointSummary(BaseModel):
    detection_id: str
    acq_time_utc: dt.datetime
    acq_time_bjt: str
    latitude: float
    longitude: float
    satellite: str
    frp: float | None
    city_name: str | None
    county_name: str | None
    grid_code: str
    grid_name: str | None
    responsible_level: str
    escalation_level: int
    deadline: dt.datetime
    review_status: str = Field(description="pending | answered | overdue | escalated")
    verdict: str | None
    answered_at: dt.datetime | None
    handled_at: dt.datetime | None


class PointList(BaseModel):
    count: int
    points: list[PointSummary]


class PhotoOut(BaseModel):
    id: int
    url: str
    width: int
    height: int
    gps_lat: float | None
    gps_lon: float | None
    gps_distance_m: float | None = Field(description="From the photo's EXIF GPS to the point.")
    taken_at: str | None


class VerdictOut(BaseModel):
    id: int
    verdict: str
    note: str | None
    decided_at: dt.datetime
    user_role: str
    display_name: str
    photos: list[PhotoOut]


class PointDetail(PointSummary):
    instrument: str
    product: str
    scan: float | None
    track: float | None
    confidence_level: str | None
    confidence_score: float | None
    daynight: str | None
    field_chief: str | None
    grid_member: str | None
    grid_flags: str | None
    fp_class: str | None = None
    p_straw: float | None = None
    fp_explanation: str | None = None
    verdicts: list[VerdictOut]


class VerdictCreated(BaseModel):
    verdict_id: int
    detection_id: str
    review_status: str
    photos: int


class Handled(BaseModel):
    detection_id: str
    handled_at: dt.datetime | None
    changed: bool


def _photo_out(detection_id: str, ph: dict[str, Any]) -> PhotoOut:
    return PhotoOut(
        url=f"/api/v1/points/{detection_id}/photos/{ph['id']}",
        **{k: ph[k] for k in PhotoOut.model_fields if k != "url"},
    )


@router.post("/login", response_model=LoginOut, responses={401: {}, 423: {}, 429: {}})
async def api_login(request: Request, body: LoginIn) -> Response:
    """Log in; sets the session cookie and returns the CSRF token."""
    # JSON only (FastAPI already refuses a form-encoded body for a model parameter with 422).
    ctx = context(request)
    result = await login_attempt(request, body.username, body.password)
    if result.outcome != "ok" or result.user is None:
        status = {"bad": 401, "locked": 423, "throttled": 429}[result.outcome]
        detail = {
            "bad": "wrong user name or password",
            "locked": "account locked for a while after repeated failures",
            "throttled": "too many failed logins from this address; try later",
        }[result.outcome]
        return JSONResponse({"detail": detail}, status_code=status)
    token, csrf = await run_in_threadpool(
        create_session, ctx.engine, ctx.settings, result.user, ip=client_ip(request)
    )
    response = JSONResponse(
        LoginOut(csrf_token=csrf, user=UserOut(**user_json(result.user))).model_dump()
    )
    set_session_cookie(response, ctx.settings, token)
    return response


@router.post("/logout", status_code=204)
def api_logout(request: Request, auth: ApiUser, x_csrf_token: CsrfHeader = None) -> Response:
    """End the session."""
    _user, csrf = auth
    check_csrf(csrf, x_csrf_token)
    ctx = context(request)
    delete_session(ctx.engine, request.cookies.get(session_cookie(ctx.settings)))
    response = Response(status_code=204)
    clear_session_cookie(response, ctx.settings)
    return response


@router.get("/me", response_model=UserOut)
def me(auth: ApiUser) -> UserOut:
    """Who I am and my scope."""
    return UserOut(**user_json(auth[0]))


@router.get("/points", response_model=PointList)
def points(request: Request, auth: ApiUser, status: str = "all", limit: int = 500) -> PointList:
    """My points: open ones first by deadline (most urgent), then the newest answered.

    ``status``: ``all``, ``open`` or ``answered``.
    """
    rows = review.list_points(context(request).engine, auth[0], status=status, limit=limit)
    return PointList(count=len(rows), points=[PointSummary(**r) for r in rows])


@router.get("/points/{detection_id}", response_model=PointDetail, responses={404: {}})
def point(request: Request, auth: ApiUser, detection_id: str) -> PointDetail:
    """One of my points with its verdicts and photos (404 for any point outside my scope)."""
    p = review.get_point(context(request).engine, auth[0], detection_id)
    verdicts = [
        VerdictOut(
            **{k: v[k] for k in VerdictOut.model_fields if k != "photos"},
            photos=[_photo_out(detection_id, ph) for ph in v["photos"]],
        )
        for v in p["verdicts"]
    ]
    fields: dict[str, Any] = {k: p.get(k) for k in PointDetail.model_fields if k != "verdicts"}
    return PointDetail(**fields, verdicts=verdicts)


@router.post(
    "/points/{detection_id}/verdict",
    response_model=VerdictCreated,
    status_code=201,
    responses={400: {}, 403: {}, 404: {}, 413: {}, 415: {}},
)
def verdict(
    request: Request,
    auth: ApiUser,
    detection_id: str,
    verdict: Annotated[
        str, Form(description="straw_burning | industrial | other_fire | nothing_found")
    ] = "",
    note: Annotated[str, Form()] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
    x_csrf_token: CsrfHeader = None,
) -> VerdictCreated:
    """Give a verdict, with a note and JPEG/PNG photos (checked by content, size-limited)."""
    user, csrf = auth
    check_csrf(csrf, x_csrf_token)
    ctx = context(request)
    review.get_point(ctx.engine, user, detection_id)  # scope before anything else
    checked = checked_uploads(ctx.settings, photos or [])
    vid = review.submit_verdict(
        ctx.engine,
        user,
        detection_id,
        verdict=verdict,
        note=note,
        photos=checked,
        actor=actor_of(request, user),
    )
    return VerdictCreated(
        verdict_id=vid, detection_id=detection_id, review_status="answered", photos=len(checked)
    )


@router.post("/points/{detection_id}/handled", response_model=Handled, responses={403: {}, 404: {}})
def handled(
    request: Request, auth: ApiUser, detection_id: str, x_csrf_token: CsrfHeader = None
) -> Handled:
    """Report that the fire at this point is out."""
    user, csrf = auth
    check_csrf(csrf, x_csrf_token)
    ctx = context(request)
    changed = review.mark_handled(ctx.engine, user, detection_id, actor=actor_of(request, user))
    p = review.get_point(ctx.engine, user, detection_id)
    return Handled(detection_id=detection_id, handled_at=p["handled_at"], changed=changed)


@router.get(
    "/points/{detection_id}/photos/{photo_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, 404: {}},
)
def api_photo(request: Request, auth: ApiUser, detection_id: str, photo_id: int) -> Response:
    """A photo of one of my points."""
    data, content_type = review.get_photo(context(request).engine, auth[0], detection_id, photo_id)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private"})
