"""funnelsync.sync."""
