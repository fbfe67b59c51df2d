-- Slack beside Discord, and requests shown in several places: the chat messages that show a
-- request are kept in their own table (one per service and place: a channel, or an approver's
-- direct messages), and the outbox gains a third channel.
CREATE TABLE chat_messages (
    request_id      INTEGER NOT NULL REFERENCES access_requests (id),
    channel         TEXT    NOT NULL CHECK (channel IN ('discord', 'slack')),
    -- Where it was sent: a chat channel's id, or `user:` and an approver's user id.
    target          TEXT    NOT NULL,
    -- The chat channel it is in (a direct message's own channel); unset: `target`.
    chat_channel    TEXT,
    message_id      TEXT    NOT NULL,
    PRIMARY KEY (request_id, channel, target)
);
INSERT INTO chat_messages (request_id, channel, target, chat_channel, message_id)
    SELECT id, 'discord', '', NULL, discord_message_id FROM access_requests
    WHERE discord_message_id IS NOT NULL;

-- SQLite cannot change a CHECK constraint in place: the outbox is rebuilt to allow 'slack'
-- and 'webhook' (events out to the receivers in [[webhooks]]).
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'discord', 'slack', 'webhook')),
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

-- An approver's own decisions, for their inbox.
CREATE INDEX audit_events_actor ON audit_events (actor, id);
-- The audit search on /admin: one index per filter, each ending in id for the newest-first pages.
CREATE INDEX audit_events_app ON audit_events (app_slug, id);
CREATE INDEX audit_events_subject ON audit_events (subject, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
