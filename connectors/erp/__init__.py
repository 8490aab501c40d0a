"""ERP connectors (planned: Kingdee K/3 Cloud REST, Dynamics NAV SOAP)."""
