-- PostgreSQL only: the seed (0002) gave focus rows their ids by hand, which an identity
-- column does not notice; start its sequence after the largest, as SQLite would.
SELECT setval(pg_get_serial_sequence('focus', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM focus), false);
