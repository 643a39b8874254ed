"""An HTTP client of a running stack (embedded or in containers), with a token per role."""

import httpx

from cchc.gateway.auth import issue_token


class Api:
    """An HTTP client of the running stack, with a token per role."""

    def __init__(self, base_url: str, secret: str) -> None:
        self.base_url = base_url
        self.secret = secret
        self._clients: dict[tuple[str, str | None], httpx.AsyncClient] = {}

    def as_(self, role: str, agency: str | None = None) -> httpx.AsyncClient:
        key = (role, agency)
        if key not in self._clients:
            token = issue_token(self.secret, f"{role}-{agency or 'all'}", role, agency)
            hooks = {"request": [self._registering(agency)]} if agency else {}
            self._clients[key] = httpx.AsyncClient(
                base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30,
                event_hooks=hooks,
            )
        return self._clients[key]

    def _registering(self, agency: str):  # type: ignore[no-untyped-def]
        """A token's agency must be registered (issue 13): a test's officer of an agency the
        test did not register itself ("another agency") gets it registered before its first
        request; an agency the test registered answers 409 here, which changes nothing."""
        done = False

        async def register(request: httpx.Request) -> None:
            nonlocal done
            if done:
                return
            # 201, or 409 when the test registered it: either way it is registered now (should
            # it not be, the officer's own request says so with a 401 naming the agency).
            await self.admin.post("/api/v1/agencies", json={
                "code": agency, "name": f"Cơ quan {agency}", "group": "department"})
            done = True

        return register

    @property
    def admin(self) -> httpx.AsyncClient:
        return self.as_("admin")

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
