-- +goose Up
-- PostgreSQL only (its 00018 drops the issues' sort indexes so that
-- counting events is a HOT update); SQLite's list reads those indexes.
SELECT 1;

-- +goose Down
SELECT 1;
