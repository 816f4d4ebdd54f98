-- The "basic data" asked for on deploy: the flow's group (to sort flows by) and a
-- comment saying what the version is for. Every version carries both; the latest
-- version's are the flow's. Keep in step with ../sqlite/ and ../postgres/.
ALTER TABLE flow_definitions ADD COLUMN flow_group TEXT NOT NULL DEFAULT '';
ALTER TABLE flow_definitions ADD COLUMN comments TEXT NOT NULL DEFAULT '';
