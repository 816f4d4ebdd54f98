-- Where a data source may be used: the hosts named here (none: every host of the
-- company) and, with in_cloud_allowed, steps in cloud. Its password is unsealed only
-- for those. host_id has no foreign key on purpose: deleting a host keeps the
-- restriction (host ids are never reused) rather than widening it to every host.
-- Booleans are BIGINT 0/1. Keep in step with ../postgres/.
ALTER TABLE data_sources ADD COLUMN in_cloud_allowed BIGINT NOT NULL DEFAULT 1;

CREATE TABLE data_source_hosts (
    company_id BIGINT NOT NULL REFERENCES companies(id),
    data_source_id BIGINT NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
    host_id BIGINT NOT NULL,
    PRIMARY KEY (data_source_id, host_id)
);
CREATE INDEX data_source_hosts_company ON data_source_hosts(company_id);
