"""/customer/oncall-schedules and the personal on-call feed against a real database: CRUD, validation,
who is on call, the timeline, gaps, the calendar export, and feed rotation and revocation."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from pulse.db.tx import operator_tx
from tests.integration.api.helpers import bearer, make_user

URL = "/customer/oncall-schedules"


@pytest.fixture
async def people(pool, tenants) -> dict[str, str]:
    """Persons ann, bob and cat of tenant A, carl of tenant B and a service account of tenant A."""
    ids = {}
    for name, tenant in (("ann", tenants[0]), ("bob", tenants[0]), ("cat", tenants[0]), ("carl", tenants[1])):
        user, _ = await make_user(pool, name, ["customer"], tenant)
        ids[name] = user.user_id
    async with operator_tx(pool, "test") as conn:
        ids["robot"] = str(
            await conn.fetchval(
                """INSERT INTO users (tenant_id, username, password_hash, kind)
                   VALUES ($1, 'robot', 'x', 'service') RETURNING user_id""",
                tenants[0],
            )
        )
    return ids


@pytest.fixture
async def admin(app, tenants) -> dict:
    return await bearer(app, ["tenant-admin"], tenants[0], preferred_username="boss")


def daily(people: list[str], position: int = 0, **extra) -> dict:
    return {
        "name": f"Layer {position}",
        "position": position,
        "rotation": "daily",
        "handoff_time": "09:00",
        "start_date": "2024-01-01",
        "participants": people,
        **extra,
    }


async def _create(client, admin, **body) -> dict:
    response = await client.post(URL, headers=admin, json={"name": "Primary", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_schedule_and_layer_crud(client, admin, people) -> None:
    created = await _create(
        client, admin, timezone="Europe/London", layers=[daily([people["ann"], people["bob"]])]
    )
    sid = created["schedule_id"]
    assert created["timezone"] == "Europe/London" and created["gaps"] == []
    [layer] = created["layers"]
    assert layer["participants"] == [people["ann"], people["bob"]] and layer["handoff_time"] == "09:00"

    office = {
        **daily([people["cat"]], position=1),
        "rotation": "hourly",
        "shift_hours": 36,
        "restrictions": [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
    }
    added = await client.post(f"{URL}/{sid}/layers", headers=admin, json=office)
    assert added.status_code == 201, added.text
    saved = added.json()
    assert saved["layer"]["shift_hours"] == 36 and saved["layer"]["restrictions"][0]["end"] == "17:00"
    assert [x["position"] for x in saved["schedule"]["layers"]] == [1, 0] and saved["gaps"] == []
    layer_id = saved["layer"]["layer_id"]

    clash = await client.post(f"{URL}/{sid}/layers", headers=admin, json=daily([people["ann"]], position=1))
    assert clash.status_code == 409 and clash.json()["error"] == "conflict"
    moved = await client.put(f"{URL}/{sid}/layers/{layer_id}", headers=admin, json={**office, "position": 0})
    assert moved.status_code == 409
    renamed = await client.put(
        f"{URL}/{sid}/layers/{layer_id}", headers=admin, json={**office, "name": "Office"}
    )
    assert renamed.status_code == 200 and renamed.json()["layer"]["name"] == "Office"

    listed = (await client.get(URL, headers=admin)).json()["schedules"]
    assert [(s["schedule_id"], len(s["layers"])) for s in listed] == [(sid, 2)]
    assert (await client.delete(f"{URL}/{sid}/layers/{layer_id}", headers=admin)).status_code == 204
    assert (await client.delete(f"{URL}/{sid}/layers/{layer_id}", headers=admin)).status_code == 404

    weekly = {**daily([people["bob"]]), "rotation": "weekly", "start_date": "2024-01-03"}
    replaced = await client.put(
        f"{URL}/{sid}",
        headers=admin,
        json={"name": "Renamed", "timezone": "America/New_York", "layers": [weekly]},
    )
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["name"] == "Renamed" and body["timezone"] == "America/New_York"
    assert [x["handoff_weekday"] for x in body["layers"]] == [2]  # default: start_date's weekday (Wednesday)
    cleared = await client.put(f"{URL}/{sid}", headers=admin, json={"name": "Empty", "layers": []})
    assert cleared.json()["layers"] == [] and len(cleared.json()["gaps"]) == 1  # nobody for 14 days

    assert (await client.delete(f"{URL}/{sid}", headers=admin)).status_code == 204
    gone = await client.get(f"{URL}/{sid}", headers=admin)
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"


async def test_validation_errors(client, admin, people) -> None:
    ann = people["ann"]
    bad_schedules = [
        ({"name": "x", "timezone": "Mars/Olympus"}, "invalid_request"),
        ({"name": "x", "timezone": "UTC", "extra": 1}, "invalid_request"),
        ({"name": ""}, "invalid_request"),
        ({"name": "x", "layers": [daily([])]}, "invalid_request"),
        ({"name": "x", "layers": [daily([ann], rotation="hourly")]}, "invalid_request"),  # no shift_hours
        ({"name": "x", "layers": [daily([ann], shift_hours=4)]}, "invalid_request"),  # shift_hours not hourly
        ({"name": "x", "layers": [daily([ann], handoff_weekday=2)]}, "invalid_request"),
        ({"name": "x", "layers": [daily([ann], handoff_time="25:00")]}, "invalid_request"),
        ({"name": "x", "layers": [daily([ann], rotation="hourly", shift_hours=8761)]}, "invalid_request"),
        (
            {
                "name": "x",
                "layers": [daily([ann], restrictions=[{"weekdays": [7], "start": "09:00", "end": "17:00"}])],
            },
            "invalid_request",
        ),
        (
            {
                "name": "x",
                "layers": [
                    daily([ann], restrictions=[{"weekdays": [1], "start": "09:00", "end": "17:00"}] * 15)
                ],
            },
            "invalid_request",
        ),
        ({"name": "x", "layers": [daily([ann] * 101)]}, "invalid_request"),
        ({"name": "x", "layers": [daily(["00000000-0000-0000-0000-000000000001"])]}, "invalid_reference"),
        ({"name": "x", "layers": [daily([people["carl"]])]}, "invalid_reference"),  # tenant B's person
        ({"name": "x", "layers": [daily([people["robot"]])]}, "invalid_reference"),  # not a person
    ]
    for body, error in bad_schedules:
        response = await client.post(URL, headers=admin, json=body)
        assert response.status_code == 422 and response.json()["error"] == error, (body, response.text)
    twice = await client.post(URL, headers=admin, json={"name": "x", "layers": [daily([ann]), daily([ann])]})
    assert twice.status_code == 409
    assert (await client.get(URL, headers=admin)).json()["schedules"] == []  # nothing half-written

    sid = (await _create(client, admin))["schedule_id"]
    start = datetime(2024, 1, 8, 12, tzinfo=UTC)
    bad_overrides = [
        ({"user_id": ann, "start_at": start.isoformat(), "end_at": start.isoformat()}, "invalid_request"),
        (
            {
                "user_id": ann,
                "start_at": start.isoformat(),
                "end_at": (start - timedelta(hours=1)).isoformat(),
            },
            "invalid_request",
        ),
        (
            {
                "user_id": ann,
                "start_at": start.isoformat(),
                "end_at": (start + timedelta(days=91)).isoformat(),
            },
            "invalid_request",
        ),
        (
            {
                "user_id": people["carl"],
                "start_at": start.isoformat(),
                "end_at": (start + timedelta(hours=1)).isoformat(),
            },
            "invalid_reference",
        ),
    ]
    for body, error in bad_overrides:
        response = await client.post(f"{URL}/{sid}/overrides", headers=admin, json=body)
        assert response.status_code == 422 and response.json()["error"] == error, (body, response.text)
    assert (await client.get(f"{URL}/{sid}/timeline", headers=admin, params={"days": 91})).status_code == 422
    assert (await client.get(f"{URL}/{sid}/gaps", headers=admin, params={"days": 0})).status_code == 422


async def test_overrides_timeline_and_gaps(client, admin, people) -> None:
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    office = daily(
        [cat], position=1, restrictions=[{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]
    )
    sid = (await _create(client, admin, layers=[daily([ann, bob]), office]))["schedule_id"]
    cover = {
        "user_id": bob,
        "start_at": "2024-01-08T12:00:00Z",
        "end_at": "2024-01-08T14:00:00Z",
        "reason": "dentist",
    }
    created = await client.post(f"{URL}/{sid}/overrides", headers=admin, json=cover)
    assert created.status_code == 201, created.text
    override = created.json()
    assert (
        override["username"] == "bob" and override["created_by"] == "boss" and override["reason"] == "dentist"
    )

    window = {"start": "2024-01-08T00:00:00Z", "days": 1}
    timeline = (await client.get(f"{URL}/{sid}/timeline", headers=admin, params=window)).json()
    assert timeline["timezone"] == "UTC" and timeline["start"].startswith("2024-01-08T00:00:00")
    assert [
        (s["start"][11:16], s["end"][11:16], s["responder"], s["layer_name"], s["is_override"])
        for s in timeline["slots"]
    ] == [
        ("00:00", "09:00", "ann", "Layer 0", False),  # day 6 since 2024-01-01: ann
        ("09:00", "12:00", "cat", "Layer 1", False),
        ("12:00", "14:00", "bob", "Override", True),
        ("14:00", "17:00", "cat", "Layer 1", False),
        ("17:00", "00:00", "bob", "Layer 0", False),
    ]
    assert timeline["slots"][2]["user_id"] == bob

    listed = (await client.get(f"{URL}/{sid}/overrides", headers=admin)).json()["overrides"]
    assert [o["override_id"] for o in listed] == [override["override_id"]]
    later = await client.get(f"{URL}/{sid}/overrides", headers=admin, params={"from": "2024-01-09T00:00:00Z"})
    assert later.json()["overrides"] == []
    url = f"{URL}/{sid}/overrides/{override['override_id']}"
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.delete(url, headers=admin)).status_code == 404

    nights = await _create(client, admin, name="Office only", layers=[office])
    gaps = (await client.get(f"{URL}/{nights['schedule_id']}/gaps", headers=admin, params=window)).json()
    assert [(g["start"][11:16], g["end"][11:16]) for g in gaps["gaps"]] == [
        ("00:00", "09:00"),
        ("17:00", "00:00"),
    ]
    assert len(nights["gaps"]) >= 1  # the save reports the uncovered time of the next 14 days


async def test_current_responder(client, admin, people) -> None:
    ann, cat = people["ann"], people["cat"]
    alone = await _create(client, admin, layers=[daily([ann], name="Solo")])
    current = (await client.get(f"{URL}/{alone['schedule_id']}/current", headers=admin)).json()
    assert current["responder"] == "ann" and current["layer"] == "Solo" and current["until"] is None
    assert current["user_id"] == ann and current["is_override"] is False

    now = datetime.now(UTC)
    cover = {
        "user_id": cat,
        "start_at": (now - timedelta(hours=1)).isoformat(),
        "end_at": (now + timedelta(hours=2)).isoformat(),
    }
    await client.post(f"{URL}/{alone['schedule_id']}/overrides", headers=admin, json=cover)
    current = (await client.get(f"{URL}/{alone['schedule_id']}/current", headers=admin)).json()
    assert (current["responder"], current["layer"], current["is_override"]) == ("cat", "Override", True)
    assert datetime.fromisoformat(current["until"]) == datetime.fromisoformat(cover["end_at"])
    assert datetime.fromisoformat(current["since"]) == datetime.fromisoformat(cover["start_at"])

    empty = await _create(client, admin, name="Nobody")
    nobody = (await client.get(f"{URL}/{empty['schedule_id']}/current", headers=admin)).json()
    assert nobody == {
        "responder": "",
        "layer": "",
        "until": None,
        "since": None,
        "user_id": None,
        "username": None,
        "display_name": None,
        "is_override": False,
    }


async def test_calendar_export(client, admin, people) -> None:
    sid = (
        await _create(client, admin, timezone="Europe/London", layers=[daily([people["ann"], people["bob"]])])
    )["schedule_id"]
    response = await client.get(f"{URL}/{sid}/calendar.ics", headers=admin, params={"days": 7})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/London"
    events = calendar.walk("VEVENT")
    assert 7 <= len(events) <= 8
    assert {str(e["SUMMARY"]) for e in events} == {"On call: ann", "On call: bob"}
    assert (await client.get(f"{URL}/{sid}/calendar.ics")).status_code == 401


async def test_personal_feed_rotate_and_revoke(app, client, admin, people, tenants) -> None:
    await _create(client, admin, layers=[daily([people["ann"], people["bob"]])])
    await _create(client, admin, name="Secondary", layers=[daily([people["bob"], people["ann"]])])
    ann = await bearer(app, ["customer"], tenants[0], sub=people["ann"])
    first = await client.post("/customer/me/oncall-feed", headers=ann)
    assert first.status_code == 201, first.text
    url = first.json()["url"]
    assert url.startswith(app.state.settings.base_url + "/oncall/feeds/") and url.endswith(".ics")
    path = url.removeprefix(app.state.settings.base_url)

    feed = await client.get(path)  # no token: the URL is the credential
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    summaries = {str(e["SUMMARY"]) for e in events}
    assert summaries == {"On call: ann (Primary)", "On call: ann (Secondary)"}
    starts = sorted(e["DTSTART"].dt for e in events)
    assert starts[-1] - starts[0] >= timedelta(days=55)  # 60 days of shifts
    token = path.removeprefix("/oncall/feeds/").removesuffix(".ics")
    assert await _stored_hashes(app) == [hashlib.sha256(token.encode()).hexdigest()] and len(token) >= 40

    rotated = (await client.post("/customer/me/oncall-feed", headers=ann)).json()["url"]
    assert rotated != url
    assert (await client.get(path)).status_code == 404
    new_path = rotated.removeprefix(app.state.settings.base_url)
    assert (await client.get(new_path)).status_code == 200

    assert (await client.delete("/customer/me/oncall-feed", headers=ann)).status_code == 204
    revoked = await client.get(new_path)
    assert revoked.status_code == 404 and revoked.json()["error"] == "not_found"
    assert (await client.delete("/customer/me/oncall-feed", headers=ann)).status_code == 404
    unknown = await client.get("/oncall/feeds/" + "A" * 43 + ".ics")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert (await client.get("/oncall/feeds/short.ics")).status_code in (404, 422)

    external = await bearer(app, ["customer"], tenants[0], sub="keycloak|1234")
    refused = await client.post("/customer/me/oncall-feed", headers=external)
    assert refused.status_code == 409 and refused.json()["error"] == "no_user_account"
    other_tenant = await bearer(app, ["customer"], tenants[1], sub=people["ann"])
    assert (await client.post("/customer/me/oncall-feed", headers=other_tenant)).status_code == 409


async def _stored_hashes(app) -> list[str]:
    async with operator_tx(app.state.pool, "test") as conn:
        return [r["token_hash"] for r in await conn.fetch("SELECT token_hash FROM oncall_ical_feeds")]
