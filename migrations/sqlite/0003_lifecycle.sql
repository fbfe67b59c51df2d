-- The grant lifecycle: extensions, warnings before the end, reminders, escalation and quorum.

-- Grants are rebuilt to add `extended_at`: the caps now count from the latest approval, which is
-- the first one until an extension is approved. SQLite cannot change CHECK constraints in place.
CREATE TABLE grants_new (
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
    extended_at     INTEGER,
    warned_at       INTEGER,
    CHECK (expires_at > approved_at),
    CHECK (extended_at IS NULL OR extended_at >= approved_at),
    CHECK (expires_at - COALESCE(extended_at, approved_at) <= max_ms),
    CHECK (expires_at - COALESCE(extended_at, approved_at) <= 86400000),
    CHECK (approved_by <> email)
);
INSERT INTO grants_new (id, request_id, app_slug, email, approved_by, approved_at, expires_at, max_ms, state,
                        ended_at, ended_by, end_reason)
SELECT id, request_id, app_slug, email, approved_by, approved_at, expires_at, max_ms, state,
       ended_at, ended_by, end_reason FROM grants;
DROP TABLE grants;
ALTER TABLE grants_new RENAME TO grants;
CREATE INDEX grants_active_expiry ON grants (expires_at) WHERE state = 'active';
CREATE INDEX grants_holder ON grants (email, app_slug, state);

-- A request for more time on a live grant is a request like any other, pointing at that grant.
ALTER TABLE access_requests ADD COLUMN extends_grant_id INTEGER REFERENCES grants (id);
ALTER TABLE access_requests ADD COLUMN approvals_needed INTEGER NOT NULL DEFAULT 1
    CHECK (approvals_needed >= 1);
ALTER TABLE access_requests ADD COLUMN next_reminder_at INTEGER;
ALTER TABLE access_requests ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_requests ADD COLUMN escalated_at INTEGER;
CREATE INDEX access_requests_reminders ON access_requests (next_reminder_at) WHERE state = 'pending';

-- Each approver's approval of a request that needs more than one; the grant comes with the last.
CREATE TABLE approvals (
    request_id  INTEGER NOT NULL REFERENCES access_requests (id),
    approver    TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL CHECK (duration_ms BETWEEN 60000 AND 86400000),
    approved_at INTEGER NOT NULL,
    channel     TEXT    NOT NULL,
    PRIMARY KEY (request_id, approver)
);
