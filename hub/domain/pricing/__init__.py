"""Resolving the price a customer pays, with the rules that produced it."""
