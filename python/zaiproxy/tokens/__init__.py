"""The upstream-token pool, its stores (SQLite, Redis) and the request statistics kept in them."""
