from tests._postgis import pg_database, pg_url  # noqa: F401  (fixtures)
