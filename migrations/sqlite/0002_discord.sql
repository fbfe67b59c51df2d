-- The Discord message that shows a request, kept up to date as the request changes.
ALTER TABLE access_requests ADD COLUMN discord_message_id TEXT;

-- Who clicked in Discord, beside the approver's email in `actor`.
ALTER TABLE audit_events ADD COLUMN discord_user TEXT;

-- Interactions already handled: a replayed interaction decides nothing twice.
CREATE TABLE discord_interactions (
    id          TEXT    PRIMARY KEY,
    received_at INTEGER NOT NULL
);
