"""deploy/postgres/init-databases.sql on a real PostgreSQL: each service's role owns its own
database and works there, and can reach nothing else. Runs where a PostgreSQL server is reachable
(the `postgres_server_url` fixture); the roles and databases get a unique prefix (the SQL is
otherwise run as shipped) and are dropped afterwards."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "init-databases.sql"
SERVICES = ("dossier", "planning", "scoring")

pytestmark = pytest.mark.postgres


def as_role(server_url: str, role: str, password: str, database: str) -> str:
    parts = urlsplit(server_url)
    netloc = f"{role}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", "", ""))


async def test_each_service_role_owns_only_its_own_database(postgres_server_url, tmp_path):
    psql = shutil.which("psql")
    if psql is None:
        if os.environ.get("CI"):  # a silent skip in CI would hide an untested deployment
            pytest.fail("psql is not installed")
        pytest.skip("psql is not installed")
    prefix = f"cchc_t{uuid.uuid4().hex[:8]}"
    sql = SQL.read_text().replace("cchc_", f"{prefix}_")
    (tmp_path / "init.sql").write_text(sql)
    passwords = {service: uuid.uuid4().hex for service in SERVICES}
    args = [psql, postgres_server_url, "-X", "-q", "-f", str(tmp_path / "init.sql")]
    for service, password in passwords.items():
        args += ["-v", f"{service}_password={password}"]
    ran = subprocess.run(args, capture_output=True, text=True, timeout=60)
    try:
        assert ran.returncode == 0, ran.stderr
        for service in SERVICES:
            role = database = f"{prefix}_{service}"
            own = await asyncpg.connect(as_role(postgres_server_url, role, passwords[service],
                                                database))
            try:
                # Its projections: it creates, writes and reads its own tables.
                await own.execute("CREATE TABLE projection_rows (id int primary key)")
                await own.execute("INSERT INTO projection_rows VALUES (1)")
                assert await own.fetchval("SELECT count(*) FROM projection_rows") == 1
                flags = await own.fetchrow(
                    "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles "
                    "WHERE rolname = current_user")
                assert not any(flags.values()), dict(flags)
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await own.execute(f'CREATE DATABASE "{prefix}_more"')
            finally:
                await own.close()
            for other in SERVICES:
                if other == service:
                    continue
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await asyncpg.connect(as_role(postgres_server_url, role, passwords[service],
                                                  f"{prefix}_{other}"))
    finally:
        admin = await asyncpg.connect(postgres_server_url)
        try:
            for service in SERVICES:
                await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)')
            for service in SERVICES:
                await admin.execute(f'DROP ROLE IF EXISTS "{prefix}_{service}"')
        finally:
            await admin.close()
