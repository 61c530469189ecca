"""funnelsync.reports."""
