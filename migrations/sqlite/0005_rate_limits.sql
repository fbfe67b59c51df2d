-- Rate limits kept in the database, as on PostgreSQL where several replicas share them (one
-- process on SQLite keeps them in memory; the table is here so both schemas hold the same data).
CREATE TABLE rate_limit_hits (
    key             TEXT    NOT NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX rate_limit_hits_key ON rate_limit_hits (key, at);
CREATE INDEX rate_limit_hits_at ON rate_limit_hits (at);
