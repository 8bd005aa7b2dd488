import pytest

from pulse.db.patch import set_clause, update_row


def test_set_clause_numbers_parameters_in_order():
    assert set_clause({"name": "x", "enabled": True}, first=3) == "name = $3, enabled = $4"


@pytest.mark.parametrize("column", ["name; DROP TABLE x", "Name", "a-b", "", "a b", '"quoted"'])
def test_set_clause_refuses_anything_but_plain_identifiers(column):
    with pytest.raises(ValueError, match="identifier"):
        set_clause({column: 1}, first=1)


class _Recorder:
    def __init__(self):
        self.calls = []

    async def fetchrow(self, sql, *args):
        self.calls.append((sql, args))
        return {"ok": 1}


async def test_update_row_builds_where_set_and_returning():
    conn = _Recorder()
    await update_row(
        conn,
        "sites",
        {"tenant_id": "t", "site_id": "s"},
        {"name": "n"},
        returning="site_id",
        also="updated_at = now()",
    )
    sql, args = conn.calls[0]
    assert (
        sql
        == "UPDATE sites SET name = $3, updated_at = now() WHERE tenant_id = $1 AND site_id = $2 RETURNING site_id"
    )
    assert args == ("t", "s", "n")


async def test_update_row_needs_values_and_plain_table_names():
    conn = _Recorder()
    with pytest.raises(ValueError):
        await update_row(conn, "sites", {"tenant_id": "t"}, {})
    with pytest.raises(ValueError):
        await update_row(conn, "sites;--", {"tenant_id": "t"}, {"name": "n"})
    assert conn.calls == []
