-- Flow definitions (immutable versions), instances with the engine state, node runs.
-- Keep in step with ../sqlite/.
CREATE TABLE flow_definitions (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    flow_key TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    xml TEXT NOT NULL,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (company_id, flow_key, version)
);

CREATE TABLE flow_instances (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    definition_id BIGINT NOT NULL REFERENCES flow_definitions(id),
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    variables TEXT NOT NULL,
    start_way TEXT NOT NULL,
    created_by BIGINT,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    revision BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX flow_instances_company_started ON flow_instances(company_id, started_at);

CREATE TABLE node_runs (
    instance_id BIGINT NOT NULL REFERENCES flow_instances(id),
    node_instance BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    input TEXT,
    output TEXT,
    error TEXT,
    PRIMARY KEY (instance_id, node_instance, attempt)
);
