"""Connectors to the supplier's ERP, WMS and chat tools (the connector SDK arrives with issue 3)."""
