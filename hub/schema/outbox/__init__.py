"""Dead letters of the outbox for ADMIN: ``deadEvents`` and ``deadEventRetry``."""
