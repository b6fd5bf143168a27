-- jiandu-server, PostgreSQL, migration 10: the large JSON columns written at day's
-- end are compressed with LZ4 instead of PostgreSQL's default pglz (issue 16).
--
-- Every push rewrites its inspection's body (a finished one is 5–15 KB of JSON,
-- over the 2 KB TOAST threshold) and appends an audit entry; with pglz the
-- server spent about a sixth of its CPU compressing them (perf, sync_bench at 500
-- devices). LZ4 compresses several times faster at a similar ratio on this JSON
-- and decompresses faster on every pull. Only new values are compressed so;
-- values already stored stay readable as they are.
--
-- Needs PostgreSQL 14 built with LZ4 (Debian's and the official images are). On a
-- server without it the columns keep the default, and nothing else changes.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        BEGIN
            ALTER TABLE inspections ALTER COLUMN body SET COMPRESSION lz4;
            ALTER TABLE inspection_signatures ALTER COLUMN body SET COMPRESSION lz4;
            ALTER TABLE sync_results ALTER COLUMN outcome SET COMPRESSION lz4;
            ALTER TABLE audit_log ALTER COLUMN detail SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
            RAISE NOTICE 'LZ4 not available: columns keep the default compression';
        END;
    END IF;
END
$$;
