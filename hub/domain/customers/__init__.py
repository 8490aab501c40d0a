"""Trade customers (dealers, distributors, stores), their groups and regions."""
