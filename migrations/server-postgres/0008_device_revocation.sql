-- jiandu-server, PostgreSQL, migration 8: how a device was revoked, and when its token
-- was last used. Applied in one transaction with the version bump.

-- Why the device's token is refused (set with revoked_at): 'lost' (丢失: the device
-- is told to erase its keys at its next contact), 'retired' (停用: its data stays
-- locked and exportable with the PIN), 'signed_out' (the device signed out),
-- 'password_reset' and 'user_disabled' (every device of the user, in the same
-- transaction as the change of the account). NULL on a device revoked before this
-- migration: read as 'retired'.
ALTER TABLE devices ADD COLUMN revoked_kind TEXT;
-- When the token last authenticated a request, written at most every
-- min(1 hour, expiry / 10) per token; a token unused for longer than the expiry
-- (settings device_token_idle_days, default 30) is refused. NULL: never used since
-- enrolment (created_at counts).
ALTER TABLE devices ADD COLUMN last_used_at TIMESTAMPTZ;
