"""A real PostgreSQL + PostGIS for the tests: one throwaway database per test session (and xdist worker).

The server comes from ``CIMTWIN_TEST_PG_URL`` (a URL to any database the tests may create databases
from, e.g. ``postgresql://postgres@127.0.0.1:55432/postgres``; ``scripts/pg_local.sh start`` starts
one and prints it). Without it, or when it cannot be reached, the PostGIS tests skip and say why —
unless ``CIMTWIN_REQUIRE_PG=1`` (set by ``.ci/run`` once its server runs), where that is a failure.
"""

from __future__ import annotations

import os
import secrets

import pytest

ENV = "CIMTWIN_TEST_PG_URL"


def _admin_url() -> str:
    url = os.environ.get(ENV)
    reason = None
    if not url:
        reason = f"no PostgreSQL server for the PostGIS tests: set {ENV} (scripts/pg_local.sh start prints it)"
    else:
        try:
            import psycopg

            psycopg.connect(url, connect_timeout=5, autocommit=True).close()
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is the reason to skip
            reason = f"PostgreSQL at {ENV} cannot be reached: {' '.join(str(exc).split())}"
    if reason:
        if os.environ.get("CIMTWIN_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def pg_database():
    """URL (without a schema) of a fresh database with PostGIS; dropped at the end of the session."""
    import psycopg
    from psycopg import sql

    admin = _admin_url()
    name = f"cimtwin_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin.rsplit("/", 1)[0].split("?")[0]
    url = f"{base}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis_raster")
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_url(pg_database):
    """A model URL in a schema of its own: ``postgresql://…/db?schema=t_<random>``."""
    return f"{pg_database}?schema=t_{secrets.token_hex(4)}"
