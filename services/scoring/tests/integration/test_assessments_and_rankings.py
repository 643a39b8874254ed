"""The assessment flow by role, and rankings from finished assessments and published results."""

from cchc.contracts.messages import Principal, Role

HOME_AFFAIRS = Principal(sub="snv", role=Role.HOME_AFFAIRS)
INSPECTOR = Principal(sub="tt", role=Role.INSPECTOR)


def officer(agency: str) -> Principal:
    return Principal(sub=f"officer-{agency}", role=Role.OFFICER, agency=agency)


async def test_self_scores_appraisal_survey_and_finish_by_role(call, agency, framework_body):
    code = f"PAR-{agency}"
    await call.ok("define-framework", framework_body(code))
    other = f"{agency}X"
    refused = await call("open-assessment", {"framework": code, "agency": agency},
                         principal=officer(other))
    assert refused.problem.kind == "forbidden"
    opened = await call.ok("open-assessment", {"framework": code, "agency": agency},
                           principal=officer(agency))
    target = opened.result["id"]
    again = await call("open-assessment", {"framework": code, "agency": agency})
    assert again.problem.kind == "conflict"

    scores = {"scores": {"1.1": 2}, "evidence": {"1.1": ["https://stttt.gov.vn/kh-cchc-2022.pdf"]}}
    assert (await call("submit-self-scores", scores, target=target,
                       principal=officer(other))).problem.kind == "forbidden"
    assert (await call("submit-self-scores", scores, target=target,
                       principal=INSPECTOR)).problem.kind == "forbidden"
    await call.ok("submit-self-scores", scores, target=target, principal=officer(agency))
    too_many = await call("submit-self-scores", {"scores": {"1.1": 3}}, target=target)
    assert too_many.problem.kind == "invalid" and too_many.problem.errors[0].field == "scores.1.1"

    appraisal = {"scores": {"1.1": 1.5}, "notes": "Kế hoạch ban hành chậm"}
    assert (await call("record-appraisal", appraisal, target=target,
                       principal=officer(agency))).problem.kind == "forbidden"
    await call.ok("record-appraisal", appraisal, target=target, principal=HOME_AFFAIRS)
    survey = {"criterion": "8.1", "respondents": 400, "satisfied": 390}
    assert (await call("record-survey", survey, target=target,
                       principal=officer(agency))).problem.kind == "forbidden"
    last = await call.ok("record-survey", survey, target=target, principal=HOME_AFFAIRS)

    read = await call.ok("get-assessment", target=target, min_position=last.position,
                         principal=officer(agency))
    first = read.result["criteria"][0]
    assert (first["self"], first["appraised"], first["final"]) == (2, 1.5, 1.5)
    assert first["evidence"] == ["https://stttt.gov.vn/kh-cchc-2022.pdf"]
    assert read.result["criteria"][-1]["final"] == 3.9  # 390 / 400 × 4
    assert (await call("get-assessment", target=target, min_position=last.position,
                       principal=officer(other))).problem.kind == "forbidden"
    assert (await call("get-assessment", target=target, principal=INSPECTOR)).ok

    assert (await call("finish-assessment", {}, target=target,
                       principal=officer(agency))).problem.kind == "forbidden"
    done = await call.ok("finish-assessment", {}, target=target, principal=HOME_AFFAIRS)
    assert done.result["status"] == "finished"
    late = await call("submit-self-scores", scores, target=target, principal=officer(agency))
    assert late.problem.kind == "conflict"
    ranked = await call.ok("rankings", {"index": "PAR", "year": 2022, "group": "department"},
                           min_position=done.position, principal=officer(other))
    mine = next(item for item in ranked.result["items"] if item["agency"] == agency)
    assert mine["score"] == done.result["score"] and mine["source"] == "assessment"


async def test_rankings_share_ranks_on_ties_and_count_the_latest_result_per_agency(call, agency):
    group = f"g{agency}"  # a group of this test's own: the log is shared by the session
    agencies = [f"{agency}{i}" for i in range(5)]
    scores = [93.8, 95.1, 95.1, 90.0, 88.2]
    for code, score in zip(agencies, scores, strict=True):
        last = await call.ok("record-index-result", {
            "index": "PAR", "year": 2021, "agency": code, "score": score, "group": group,
            "published_on": "2022-04-20"})
    # A correction published later replaces the agency's earlier result.
    correction = await call.ok("record-index-result", {
        "index": "PAR", "year": 2021, "agency": agencies[4], "score": 96.0, "group": group,
        "published_on": "2022-09-01"})
    assert correction.version == 2 and last.position < correction.position

    ranked = await call.ok("rankings", {"index": "PAR", "year": 2021, "group": group},
                           min_position=correction.position, principal=officer(agency))
    assert ranked.result["of"] == 5
    assert [(i["agency"], i["score"], i["rank"]) for i in ranked.result["items"]] == [
        (agencies[4], 96.0, 1), (agencies[1], 95.1, 2), (agencies[2], 95.1, 2),
        (agencies[0], 93.8, 4), (agencies[3], 90.0, 5),
    ]
    before = await call.ok("rankings", {"index": "PAR", "year": 2021, "group": group,
                                        "as_of": "2022-07-15"})
    assert [(i["agency"], i["rank"]) for i in before.result["items"]][-1] == (agencies[4], 5)

    indexes = await call.ok("agency-indexes", {"agency": agencies[0], "as_of": "2022-07-15"},
                            principal=officer(agencies[0]))
    assert indexes.result["items"] == [
        {"index": "PAR", "year": 2021, "score": 93.8, "rank": 3, "of": 5, "group": group}
    ]
    refused = await call("agency-indexes", {"agency": agencies[0]}, principal=officer(agency))
    assert refused.problem.kind == "forbidden"
    assert (await call("record-index-result", {"index": "PAR", "year": 2021, "agency": agency,
                                               "score": 1}, principal=officer(agency))
            ).problem.kind == "forbidden"


async def test_a_result_without_a_group_ranks_in_its_agency_registered_group(
    call, log, agency, scoring
):
    group = f"g{agency}"
    position = await log.agency(agency, group="commune")
    other = f"{agency}B"
    await call.ok("record-index-result", {"index": "SIPAS", "year": 2021, "agency": agency,
                                          "score": 97.99, "published_on": "2022-05-01"})
    last = await call.ok("record-index-result", {"index": "SIPAS", "year": 2021, "agency": other,
                                                 "score": 98.5, "group": group,
                                                 "published_on": "2022-05-01"})
    assert await scoring.dossier_metrics.wait_for(position, 5)
    indexes = await call.ok("agency-indexes", {"agency": agency, "as_of": "2022-07-15"},
                            min_position=last.position)
    assert indexes.result["items"][0]["group"] == "commune"
    assert indexes.result["agency_name"] == f"Sở {agency}"
    ranked = await call.ok("rankings", {"index": "SIPAS", "year": 2021, "group": group})
    assert [i["agency"] for i in ranked.result["items"]] == [other]


async def test_rankings_without_a_group_rank_each_group_on_its_own(call, agency):
    """A district is never ranked beside the departments: without ``group`` every group gets
    its own ranks, and each item names its group."""
    departments, districts = f"d{agency}", f"h{agency}"
    scored = {f"{agency}D1": (departments, 91.0), f"{agency}D2": (departments, 85.5),
              f"{agency}H1": (districts, 88.0), f"{agency}H2": (districts, 95.0)}
    for code, (group, score) in scored.items():
        last = await call.ok("record-index-result", {
            "index": "PAR", "year": 2019, "agency": code, "score": score, "group": group,
            "published_on": "2020-04-20"})
    ranked = await call.ok("rankings", {"index": "PAR", "year": 2019},
                           min_position=last.position, principal=officer(agency))
    mine = [(i["group"], i["agency"], i["rank"]) for i in ranked.result["items"]
            if i["agency"] in scored]
    assert mine == [
        (departments, f"{agency}D1", 1), (departments, f"{agency}D2", 2),
        (districts, f"{agency}H2", 1), (districts, f"{agency}H1", 2),
    ]
    ranks_by_group: dict[str, list[int]] = {}
    for item in ranked.result["items"]:
        ranks_by_group.setdefault(item["group"], []).append(item["rank"])
    assert all(ranks[0] == 1 for ranks in ranks_by_group.values())
