"""WMS connectors (planned: Qimen)."""
