-- Hosts (Sub Manager agents) in a tree of host groups, the terminals reached through
-- them and the accounts on those terminals (secrets sealed with AES-256-GCM).
-- Keep in step with ../postgres/.
CREATE TABLE host_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    parent_id BIGINT REFERENCES host_groups(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (company_id, name)
);

CREATE TABLE hosts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    group_id BIGINT REFERENCES host_groups(id),
    name TEXT NOT NULL,
    comments TEXT NOT NULL DEFAULT '',
    -- SHA-256 (hex) of the agent credential, to recognise it, and the credential sealed
    -- with the secret key, to write it into the download package again.
    credential_hash TEXT NOT NULL,
    credential_sealed TEXT NOT NULL DEFAULT '',
    credential_issued_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'uninitialised',
    last_seen BIGINT,
    agent_version TEXT NOT NULL DEFAULT '',
    facts TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    UNIQUE (company_id, name)
);
CREATE INDEX hosts_credential ON hosts(credential_hash);

CREATE TABLE terminals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    host_id BIGINT NOT NULL REFERENCES hosts(id),
    host_name TEXT NOT NULL,
    host_address TEXT NOT NULL,
    port BIGINT NOT NULL,
    connection_type TEXT NOT NULL,
    os_name TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (company_id, host_id, host_name)
);

CREATE TABLE terminal_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    terminal_id BIGINT NOT NULL REFERENCES terminals(id),
    username TEXT NOT NULL,
    auth TEXT NOT NULL,
    -- SecretBox-sealed password or private key, and the key's passphrase.
    secret TEXT NOT NULL DEFAULT '',
    passphrase TEXT NOT NULL DEFAULT '',
    comments TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (terminal_id, username)
);
