"""The transactional outbox: events committed with the change that caused them."""
