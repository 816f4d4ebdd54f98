-- Tenants are real: a company can be disabled (its users cannot sign in, its sessions
-- and Sub Managers are refused), and one company is the platform operator's — the one
-- whose administrators create and manage the other companies. The company created
-- first is the operator's. Booleans are BIGINT 0/1. Keep in step with ../sqlite/ and
-- ../postgres/.
ALTER TABLE companies ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN platform_operator BIGINT NOT NULL DEFAULT 0;
UPDATE companies SET platform_operator = 1 WHERE id = (SELECT MIN(id) FROM companies);
-- At most one platform operator.
CREATE UNIQUE INDEX companies_one_platform_operator ON companies (platform_operator)
    WHERE platform_operator = 1;
