-- Designer drafts: one unsaved-to-the-engine diagram per flow, shared by the company's
-- designers (the last save wins and says who). Deploying the flow removes its draft.
-- Keep in step with ../sqlite/.
CREATE TABLE flow_drafts (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    flow_key TEXT NOT NULL,
    xml TEXT NOT NULL,
    base_version BIGINT NOT NULL,
    updated_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (company_id, flow_key)
);
