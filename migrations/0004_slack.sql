-- Slack beside Discord: the Slack message that shows a request, and a third outbox channel.
-- Each chat message is kept with the channel it was posted in (applications may name their own).
ALTER TABLE access_requests ADD COLUMN slack_message_ts TEXT;
ALTER TABLE access_requests ADD COLUMN slack_channel_id TEXT;
ALTER TABLE access_requests ADD COLUMN discord_channel_id TEXT;

-- SQLite cannot change a CHECK constraint in place: the outbox is rebuilt to allow 'slack'.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'discord', 'slack')),
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    request_id      INTEGER,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    last_error      TEXT,
    sent_at         INTEGER
);
INSERT INTO outbox_new SELECT id, channel, kind, recipient, payload, request_id, created_at,
    next_attempt_at, attempts, state, last_error, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
