"""The AsyncAPI document of the event log, for systems that subscribe to ``cchc.>`` on NATS.

Generated from the event registry by ``cchc.contracts.asyncapi`` (the same document the
``cchc-asyncapi`` command prints). Public like ``/openapi.json``: it describes the contract and
holds no data. Outside the OpenAPI document, as ``/openapi.json`` itself is. The gateway adds
the installation's public signing keys (``info.x-cchc-signing-keys``), as at ``/audit/keys``.
"""

from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cchc.contracts.asyncapi import asyncapi_document
from cchc.gateway.audit_keys import published_keyring

router = APIRouter()


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return asyncapi_document()


@router.get("/asyncapi", include_in_schema=False)
@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi(request: Request) -> JSONResponse:
    served = dict(document())
    keyring = published_keyring(request.app.state.gateway.settings)
    served["info"] = {**served["info"], "x-cchc-signing-keys": [
        key.model_dump(mode="json") for key in keyring.keys]}
    return JSONResponse(served)
