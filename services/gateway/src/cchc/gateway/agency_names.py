"""Agency names by code, for the forms' rows and headers (the dossier service's list)."""

from cchc.contracts.dossier_commands import SERVICE
from cchc.gateway.deps import Gateway, QueryCall
from cchc.gateway.forwarding import ask_result

PAGE = 500


async def agency_names(gw: Gateway, call: QueryCall) -> dict[str, str]:
    """Every registered agency's name, by code (the list is readable by everyone)."""
    names: dict[str, str] = {}
    cursor = None
    while True:
        page = await ask_result(gw, call, SERVICE, "list-agencies",
                                {"limit": PAGE, "cursor": cursor},
                                min_position=call.position_in(SERVICE))
        names.update((item["code"], item["name"]) for item in page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return names
