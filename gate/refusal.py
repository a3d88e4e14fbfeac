"""What the gate does not carry out, and how it says so: one Vietnamese line, as the API's
`detail` (the UI shows a failed call's detail) or as a page of the gate's own."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gate.signin import page

UNREACHABLE = "Máy chủ Prefect không trả lời; thử lại sau ít phút."


class Refusal(Exception):
    """A request the gate does not send on: the status and the Vietnamese line to show."""

    def __init__(self, status: int, line: str) -> None:
        super().__init__(line)
        self.status = status
        self.line = line


def is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def refused(request: Request, status: int, line: str) -> Response:
    """The refusal: `{"detail": line}` for the API (the UI shows a failed call's detail), a
    page in Vietnamese for the UI."""
    if is_api(request):
        return JSONResponse({"detail": line}, status_code=status)
    return page("trang.html", status, title="Không thực hiện được", line=line, refused=True)
