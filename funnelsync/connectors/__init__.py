"""funnelsync.connectors."""
