-- SSH host keys the server trusts per terminal, and WinRM's Basic-over-HTTP opt-in.
-- host_key: the fingerprint (SHA256:…) learnt on first use or accepted by an operator
-- (empty: none yet; the Sub Manager connects only to a terminal showing it);
-- host_key_pending: another key the terminal showed (refused), waiting to be accepted;
-- host_key_at: when host_key was learnt or accepted. allow_basic_http: WinRM Basic
-- authentication over plain HTTP is allowed (default off). Sealed secrets get
-- associated data (v2:) at the first start of this version, not here: it needs the key.
-- Booleans are BIGINT 0/1. Keep in step with ../sqlite/.
ALTER TABLE terminals ADD COLUMN host_key TEXT NOT NULL DEFAULT '';
ALTER TABLE terminals ADD COLUMN host_key_pending TEXT NOT NULL DEFAULT '';
ALTER TABLE terminals ADD COLUMN host_key_at BIGINT;
ALTER TABLE terminals ADD COLUMN allow_basic_http BIGINT NOT NULL DEFAULT 0;
