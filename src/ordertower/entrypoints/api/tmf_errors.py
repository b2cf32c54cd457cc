"""TMF630 ``Error`` bodies for the TMF APIs (``/tmf-api/...``), as the official TMF622 and
TMF637 v4 documents declare them: ``code`` and ``reason`` required, ``status`` a string,
content type ``application/json;charset=utf-8``, and only the status codes the operation
declares. problems.py decides, by path, whether an error is rendered here or as RFC 9457.

Every TMF operation declares 400, 401, 403, 405, 409 and 500; all but the three creations
(``POST productOrder``, ``POST cancelProductOrder``, ``POST product``) declare 404 too; ``DELETE hub/{id}`` declares no 409. An
ordertower status the operation does not declare is answered with the nearest one it does
(``STATUS_MAPPING``); ``code`` keeps ordertower's precise kind (``invalid-order``,
``payload-too-large``...) and ``referenceError`` its documentation URL, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from ...domain.errors import Issue

TMF_PREFIX = "/tmf-api/"
TMF_MEDIA_TYPE = "application/json;charset=utf-8"
DECLARED = frozenset({400, 401, 403, 404, 405, 409, 500})
CREATIONS = ("productOrder", "cancelProductOrder", "product")  # POST to these: no 404 declared

# ordertower's status -> the declared one that says the same to a TMF client
STATUS_MAPPING = {
    404: 400,  # a creation naming an unknown order or asset: the request is wrong
    410: 404,  # gone (a single-use resource already used): not found any more
    413: 400,  # body too large
    415: 400,  # not JSON
    422: 400,  # valid JSON the catalog or the life cycle refuses (invalid order...)
}


# Kept although no TMF operation declares it: a database that cannot serve now is a 503 with
# Retry-After everywhere; turned into a 500 it would tell a client not to try again.
OUTSIDE_THE_DOCUMENT = frozenset({503})


def is_tmf(path: str) -> bool:
    return path.startswith(TMF_PREFIX)


def declared_statuses(method: str, path: str) -> frozenset[int]:
    """The error statuses the official document declares for this operation."""
    parts = path.rstrip("/").rsplit("/", 2)
    if method.upper() == "POST" and parts[-1] in CREATIONS:
        return DECLARED - {404}
    if method.upper() == "DELETE" and parts[-2] == "hub":
        return DECLARED - {409}
    return DECLARED


def tmf_status(status: int, method: str, path: str) -> int:
    """``status`` if the operation declares it, else the declared status closest to it."""
    if status in OUTSIDE_THE_DOCUMENT:
        return status
    declared = declared_statuses(method, path)
    while status not in declared:
        mapped = STATUS_MAPPING.get(status)
        if mapped is None:
            return 500 if status >= 500 else 400
        status = mapped
    return status


def tmf_error(status: int, code: str, reason: str, message: str, reference: str,
              issues: list[Issue] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"@type": "Error", "code": code, "reason": reason, "message": message,
                            "status": str(status), "referenceError": reference}
    if issues:
        body["errors"] = [i.as_dict() for i in issues]
    return body


def tmf_error_response(method: str, path: str, status: int, code: str, reason: str, message: str,
                       reference: str, issues: list[Issue] | None = None,
                       headers: dict[str, str] | None = None) -> JSONResponse:
    answered = tmf_status(status, method, path)
    return JSONResponse(tmf_error(answered, code, reason, message, reference, issues),
                        status_code=answered, media_type=TMF_MEDIA_TYPE, headers=headers)
