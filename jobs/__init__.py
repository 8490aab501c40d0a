"""Background jobs: the outbox relay and the Dramatiq actors that handle events."""
