"""Managing prices and visibility: price lists, customer prices, order tiers, promotions and
visibility rules (API.md "Pricing and catalog management")."""
