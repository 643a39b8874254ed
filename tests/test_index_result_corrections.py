"""Corrections of published index results honour If-Match (issue 14): a correction made on a
stale version is refused with 412 and changes nothing."""

from api_steps import unique


async def test_a_correction_on_a_stale_version_is_412_and_changes_nothing(stack_api):
    home_affairs = stack_api.as_("home_affairs")
    agency = unique("S")
    body = {"index": "PAR", "year": 2018, "agency": agency, "score": 88.5, "group": "department",
            "published_on": "2019-04-20"}

    never = await home_affairs.post("/api/v1/index-results", json=body, headers={"If-Match": '"1"'})
    assert never.status_code == 412, never.text

    first = await home_affairs.post("/api/v1/index-results", json=body)
    assert first.status_code == 201 and first.headers["ETag"] == '"1"', first.text
    corrected = await home_affairs.post("/api/v1/index-results", json={**body, "score": 89.0},
                                        headers={"If-Match": '"1"'})
    assert corrected.status_code == 201 and corrected.headers["ETag"] == '"2"', corrected.text

    stale = await home_affairs.post("/api/v1/index-results", json={**body, "score": 12.0},
                                    headers={"If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    shown = await home_affairs.get("/api/v1/rankings", params={
        "index": "PAR", "year": 2018, "group": "department"},
        headers={"X-Min-Position": corrected.headers["X-Event-Position"]})
    mine = [i for i in shown.json()["items"] if i["agency"] == agency]
    assert [i["score"] for i in mine] == [89.0]
