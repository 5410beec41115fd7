-- +goose Up
-- The grouping an issue was created under: 1 for every issue before
-- grouping version 2, whose events keep finding it by their version 1 hash.
ALTER TABLE issues ADD COLUMN grouping_version INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE issues DROP COLUMN grouping_version;
