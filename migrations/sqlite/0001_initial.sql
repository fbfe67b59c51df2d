-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE access_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_slug        TEXT    NOT NULL,
    policy_name     TEXT    NOT NULL,
    requester       TEXT    NOT NULL,
    justification   TEXT    NOT NULL,
    wished_ms       INTEGER CHECK (wished_ms IS NULL OR wished_ms BETWEEN 60000 AND 86400000),
    max_ms          INTEGER NOT NULL CHECK (max_ms BETWEEN 60000 AND 86400000),
    redirect_to     TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    decided_at      INTEGER,
    decided_by      TEXT,
    decided_via     TEXT,
    reason          TEXT,
    client_ip       TEXT,
    CHECK ((state = 'pending') = (decided_at IS NULL))
);
CREATE INDEX access_requests_pending ON access_requests (expires_at) WHERE state = 'pending';
CREATE INDEX access_requests_requester ON access_requests (requester, app_slug);

CREATE TABLE grants (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id      INTEGER NOT NULL UNIQUE REFERENCES access_requests (id),
    app_slug        TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    approved_by     TEXT    NOT NULL,
    approved_at     INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    max_ms          INTEGER NOT NULL CHECK (max_ms BETWEEN 60000 AND 86400000),
    state           TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'expired', 'revoked')),
    ended_at        INTEGER,
    ended_by        TEXT,
    end_reason      TEXT,
    -- The 24-hour cap, and the policy's own cap, hold whatever the code above does.
    CHECK (expires_at > approved_at),
    CHECK (expires_at - approved_at <= max_ms),
    CHECK (expires_at - approved_at <= 86400000),
    CHECK (approved_by <> email)
);
CREATE INDEX grants_active_expiry ON grants (expires_at) WHERE state = 'active';
CREATE INDEX grants_holder ON grants (email, app_slug, state);

CREATE TABLE review_tokens (
    token_hash      BLOB    PRIMARY KEY,
    request_id      INTEGER NOT NULL REFERENCES access_requests (id),
    approver        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    used_at         INTEGER
);
CREATE INDEX review_tokens_request ON review_tokens (request_id);

CREATE TABLE sessions (
    id_hash         BLOB    PRIMARY KEY,
    email           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE login_codes (
    challenge_hash  BLOB    PRIMARY KEY,
    email           TEXT    NOT NULL,
    code_mac        BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    used_at         INTEGER
);
CREATE INDEX login_codes_expiry ON login_codes (expires_at);

CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    action          TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    request_id      INTEGER,
    grant_id        INTEGER,
    app_slug        TEXT,
    subject         TEXT,
    justification   TEXT,
    duration_ms     INTEGER,
    reason          TEXT,
    client_ip       TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'discord')),
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
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
