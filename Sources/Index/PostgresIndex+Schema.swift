// The PostgreSQL index's tables, made or brought up to date when a ferryd opens it — by one daemon at a time (an
// advisory lock), since several may start at once against one database. Names start with `ferry_` so that the
// index can share a database (or a schema, chosen by the URL's `options=-csearch_path=...`) with other things.
//
//   ferry_files   (namespace, path) → size, sha256, modified_ns, uploaded_ns, uploader
//   ferry_usage   namespace → bytes, files
//   ferry_schema  version
//   ferry_owner   root: the storage root whose index this is (its id, kept in <root>/.index/root-id)
//   ferry_pending (namespace, path) → node, bytes: uploads in progress that quotas count across daemons
//                 (PostgresIndex+Quota.swift; version 2), removed when their file's row is written
//
// The rows describe one tree: a second root's daemon given the same database and schema would mix its identities'
// files with these (and its `ferryd reindex` would delete them), so a schema is taken by the first root that uses it
// and refused to any other.
// Text is `COLLATE "C"`: paths sort by their bytes, the order every listing and cursor of the protocol is in
// (PROTOCOL.md §14), whatever the database's default collation. Usage follows the files by statement triggers over
// transition tables: one update of a namespace's row per statement however many files it changed, and exact when
// several daemons write at once (each statement's delta is applied under the row's lock), where reading the old row
// first and adding in the client is not.
extension PostgresIndex {
    static let schemaVersion: Int64 = 2
    /// pg_advisory_xact_lock's key for the schema's creation ("ferry" in ASCII).
    static let schemaLock: Int64 = 0x66_65_72_72_79

    static let schema = """
        CREATE TABLE IF NOT EXISTS ferry_files (
            namespace text COLLATE "C" NOT NULL,
            path text COLLATE "C" NOT NULL,
            size bigint NOT NULL CHECK (size >= 0),
            sha256 bytea NOT NULL CHECK (length(sha256) = 32),
            modified_ns bigint,
            uploaded_ns bigint NOT NULL,
            uploader text NOT NULL,
            PRIMARY KEY (namespace, path));
        CREATE TABLE IF NOT EXISTS ferry_usage (
            namespace text COLLATE "C" PRIMARY KEY,
            bytes bigint NOT NULL,
            files bigint NOT NULL);
        CREATE TABLE IF NOT EXISTS ferry_owner (root text NOT NULL);
        CREATE OR REPLACE FUNCTION ferry_usage_follows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- One branch per event: a statement naming a transition table its trigger lacks would not compile.
            IF TG_OP = 'INSERT' THEN
                INSERT INTO ferry_usage AS u (namespace, bytes, files)
                    SELECT namespace, sum(size), count(*) FROM ferry_new GROUP BY namespace ORDER BY namespace
                ON CONFLICT (namespace) DO UPDATE SET bytes = u.bytes + excluded.bytes, files = u.files + excluded.files;
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO ferry_usage AS u (namespace, bytes, files)
                    SELECT namespace, sum(size), sum(files) FROM (
                        SELECT namespace, size, 1 AS files FROM ferry_new
                        UNION ALL SELECT namespace, -size, -1 FROM ferry_old) AS change
                    GROUP BY namespace ORDER BY namespace
                ON CONFLICT (namespace) DO UPDATE SET bytes = u.bytes + excluded.bytes, files = u.files + excluded.files;
            ELSE
                INSERT INTO ferry_usage AS u (namespace, bytes, files)
                    SELECT namespace, -sum(size), -count(*) FROM ferry_old GROUP BY namespace ORDER BY namespace
                ON CONFLICT (namespace) DO UPDATE SET bytes = u.bytes + excluded.bytes, files = u.files + excluded.files;
            END IF;
            RETURN NULL;
        END $$;
        """

    /// The triggers, one per kind of change (a trigger with transition tables takes one event).
    static let triggers = """
        CREATE TRIGGER ferry_files_inserted AFTER INSERT ON ferry_files REFERENCING NEW TABLE AS ferry_new
            FOR EACH STATEMENT EXECUTE FUNCTION ferry_usage_follows();
        CREATE TRIGGER ferry_files_updated AFTER UPDATE ON ferry_files REFERENCING OLD TABLE AS ferry_old NEW TABLE AS ferry_new
            FOR EACH STATEMENT EXECUTE FUNCTION ferry_usage_follows();
        CREATE TRIGGER ferry_files_deleted AFTER DELETE ON ferry_files REFERENCING OLD TABLE AS ferry_old
            FOR EACH STATEMENT EXECUTE FUNCTION ferry_usage_follows();
        """

    /// Version 2: the uploads in progress quotas count across daemons, and the triggers that drop a claim when its
    /// file's row is written (by an insert, or an upsert's update).
    static let pendingSchema = """
        CREATE TABLE IF NOT EXISTS ferry_pending (
            namespace text COLLATE "C" NOT NULL,
            path text COLLATE "C" NOT NULL,
            node text NOT NULL,
            bytes bigint NOT NULL CHECK (bytes >= 0),
            PRIMARY KEY (namespace, path));
        CREATE INDEX IF NOT EXISTS ferry_pending_node ON ferry_pending (node);
        CREATE OR REPLACE FUNCTION ferry_pending_stored() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM ferry_pending AS p USING ferry_new AS n WHERE p.namespace = n.namespace AND p.path = n.path;
            RETURN NULL;
        END $$;
        CREATE TRIGGER ferry_files_claim_inserted AFTER INSERT ON ferry_files REFERENCING NEW TABLE AS ferry_new
            FOR EACH STATEMENT EXECUTE FUNCTION ferry_pending_stored();
        CREATE TRIGGER ferry_files_claim_updated AFTER UPDATE ON ferry_files REFERENCING NEW TABLE AS ferry_new
            FOR EACH STATEMENT EXECUTE FUNCTION ferry_pending_stored();
        """

    /// Makes the tables when missing, taken by `owner` (a storage root's id); refuses a schema that a newer ferryd
    /// made or that another root took.
    static func prepareSchema(_ pool: PostgresPool, owner: String) throws(PostgresFailure) {
        try pool.transaction { connection throws(PostgresFailure) in
            try connection.execute("SELECT pg_advisory_xact_lock($1)", [.int8(schemaLock)])
            try connection.run("CREATE TABLE IF NOT EXISTS ferry_schema (version bigint NOT NULL)")
            let found = try connection.execute("SELECT max(version) FROM ferry_schema")
            let version = try found.optionalInt8(0, 0) ?? 0
            guard version <= schemaVersion else {
                throw PostgresFailure("the index at \(pool.target) has schema version \(version), made by a newer ferryd; "
                                      + "this one knows version \(schemaVersion) at most")
            }
            if version < 1 {
                try connection.run(schema)
                try connection.run(triggers)
            }
            if version < 2 { try connection.run(pendingSchema) }
            if version < schemaVersion {
                try connection.execute("INSERT INTO ferry_schema (version) VALUES ($1)", [.int8(schemaVersion)])
            }
            let owners = try connection.execute("SELECT root FROM ferry_owner")
            guard owners.count > 0 else {
                try connection.execute("INSERT INTO ferry_owner (root) VALUES ($1)", [.text(owner)])
                return
            }
            let taken = try owners.text(0, 0)
            guard taken == owner else {
                throw PostgresFailure("the index at \(pool.target) belongs to another storage root (id \(taken); this "
                    + "root's is \(owner)): give each root its own database or schema (options=-csearch_path=...). If it "
                    + "is this root's and its .index directory was lost, run DELETE FROM ferry_owner there, then "
                    + "`ferryd reindex`")
            }
        }
    }
}
