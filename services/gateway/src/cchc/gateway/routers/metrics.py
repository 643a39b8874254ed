"""``GET /metrics``: every Prometheus metric of this process, in the text exposition format.

The embedded ``cchc up`` runs the services and the gateway in one process, so this one page
holds them all (HTTP, the services' message handling, projections). Not in the OpenAPI
document: it is for the scraper, not for clients.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder

router = APIRouter(tags=["operations"], include_in_schema=False)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(REGISTRY), media_type=content_type)
