"""Storage: the database schema, migrations and the queries of the turn."""
