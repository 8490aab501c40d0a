"""Users, roles, passwords and tokens."""
