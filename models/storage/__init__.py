"""Storage: the tables, the hash-chained event log and the queries, publishing, reporting,
chasing and review built on them."""
