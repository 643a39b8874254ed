"""The workbook media type: whether a request asks for it, and the response that carries it."""

from urllib.parse import quote

from fastapi.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def wants_xlsx(accept: str | None) -> bool:
    """A client that names the workbook type (with a non-zero quality) gets the workbook."""
    for part in (accept or "").split(","):
        media, *params = [p.strip() for p in part.split(";")]
        if media.lower() != XLSX:
            continue
        for param in params:
            if param.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
                return False
        return True
    return False


def xlsx_response(content: bytes, filename: str) -> Response:
    """The workbook as a download; the file name may carry Vietnamese (RFC 6266 filename*)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition})


XLSX_RESPONSE = {200: {"content": {XLSX: {}},
                       "description": f"the JSON answer; with `Accept: {XLSX}`, the workbook"}}
