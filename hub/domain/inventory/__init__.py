"""Warehouses, stock levels and reservations."""
