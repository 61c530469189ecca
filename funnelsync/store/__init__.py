"""The state store: what funnelsync knows between runs, in SQLite (default) or PostgreSQL."""
