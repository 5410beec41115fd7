-- +goose Up
-- The issues that carry a tag value, read from the value's side (issue
-- 12): a tag filter on the issue list starts from the few index pages
-- that hold the value's issue ids instead of probing the tags of every
-- issue the other terms leave, for the count and again for the page.
-- Its cost is one more b-tree entry for each (issue, key, value) the
-- event writer sees for the first time; counting another event on a
-- value the issue already has changes no indexed column.
CREATE INDEX issue_tags_value ON issue_tags(key, value, issue_id);

-- +goose Down
DROP INDEX issue_tags_value;
