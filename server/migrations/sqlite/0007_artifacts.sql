-- Files RPA steps brought back from their agent (the monitor lists and downloads them).
-- `content` is NULL for a file that was over the limits (listed only). Keep in step
-- with ../postgres/.
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    instance_id BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    ni BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    content BLOB,
    created_at BIGINT NOT NULL
);
CREATE INDEX artifacts_instance ON artifacts (instance_id, id);
