-- The durable runtime: jobs (steps, timers, child starts, events) claimed with a lease,
-- instance trees (call activities), the compiled form of every definition and the
-- operators' actions on instances (who, what, when). Keep in step with ../sqlite/.
ALTER TABLE flow_definitions ADD COLUMN compiled TEXT NOT NULL DEFAULT '';

ALTER TABLE flow_instances ADD COLUMN process_id TEXT NOT NULL DEFAULT '';
ALTER TABLE flow_instances ADD COLUMN parent_instance BIGINT;
ALTER TABLE flow_instances ADD COLUMN parent_node_instance BIGINT;
ALTER TABLE flow_instances ADD COLUMN root_instance BIGINT;
CREATE INDEX flow_instances_company_status ON flow_instances(company_id, status, id);
CREATE INDEX flow_instances_company_id ON flow_instances(company_id, id);
CREATE INDEX flow_instances_root ON flow_instances(root_instance);

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    instance_id BIGINT REFERENCES flow_instances(id),
    definition_id BIGINT REFERENCES flow_definitions(id),
    root_instance BIGINT,
    node_instance BIGINT NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempt BIGINT NOT NULL DEFAULT 1,
    payload TEXT NOT NULL DEFAULT '',
    lease_owner TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);
CREATE INDEX jobs_instance ON jobs(instance_id, node_instance);
CREATE INDEX jobs_root ON jobs(root_instance, status);

CREATE TABLE instance_actions (
    id BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    instance_id BIGINT NOT NULL REFERENCES flow_instances(id),
    action TEXT NOT NULL,
    node_id TEXT,
    user_id BIGINT,
    user_name TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX instance_actions_instance ON instance_actions(instance_id, id);
