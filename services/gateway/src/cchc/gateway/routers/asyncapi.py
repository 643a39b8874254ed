"""The AsyncAPI document of the event log, for systems that subscribe to ``cchc.>`` on NATS.

Generated from the event registry by ``cchc.contracts.asyncapi`` (the same document the
``cchc-asyncapi`` command prints). Public like ``/openapi.json``: it describes the contract and
holds no data. Outside the OpenAPI document, as ``/openapi.json`` itself is.
"""

from functools import lru_cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cchc.contracts.asyncapi import asyncapi_document

router = APIRouter()


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return asyncapi_document()


@router.get("/asyncapi", include_in_schema=False)
@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi() -> JSONResponse:
    return JSONResponse(document())
