"""Orders: placing, approving, rejecting and cancelling, with their timeline."""
