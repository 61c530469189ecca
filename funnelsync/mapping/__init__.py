"""funnelsync.mapping."""
