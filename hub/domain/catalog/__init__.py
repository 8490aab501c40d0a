"""Products and categories, and what a caller may see of them."""
