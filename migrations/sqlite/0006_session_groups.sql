-- The groups a sign-in brought (an identity provider's groups claim), as a JSON array.
ALTER TABLE sessions ADD COLUMN member_of TEXT NOT NULL DEFAULT '[]';
